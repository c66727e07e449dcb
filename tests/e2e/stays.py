"""What the policy-shape e2e tests share: a stay settled over HTTP, and `medsettle calc` of
the same case run as a person would run it, to compare the two to the fen."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from medsettle.adapters.his.client import HisClient, Patient, VisitFlow

MEDSETTLE = Path(sys.executable).parent / "medsettle"
Line = tuple[str, str, str]  # catalogue code, unit price, count


def settled_stay(his: HisClient, evoucher: str, lines: list[Line], total: str
                 ) -> tuple[Patient, VisitFlow, dict[str, Any]]:
    """A patient identified by e-voucher, admitted four days ago, billed `lines` the next day,
    discharged and settled for `total` yuan: the patient, the visit and its setlinfo."""
    who = Patient.from_1101(his.person("01", evoucher), "01", evoucher, "")
    visit = VisitFlow(his, who)
    admitted = datetime.now() - timedelta(days=4)
    visit.admit(begntime=admitted)
    visit.fees(lines, inpatient=True, when=admitted + timedelta(days=1))
    visit.discharge()
    info: dict[str, Any] = visit.settle(total, inpatient=True)["setlinfo"]
    return who, visit, info


def calc(case: dict[str, Any], folder: Path) -> dict[str, Any]:
    """`medsettle calc --json` of a case, as a person would run it."""
    path = folder / f"{case['id']}.yaml"
    path.write_text(yaml.safe_dump(case, allow_unicode=True), encoding="utf-8")
    done = subprocess.run([str(MEDSETTLE), "calc", str(path), "--json"], capture_output=True,
                          text=True, timeout=120, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result
