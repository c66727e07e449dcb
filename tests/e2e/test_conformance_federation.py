"""The kit against a whole federation (hub + three provinces, every patient cross-province
through the hub), with the federation's test data given as a `--config` file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medsettle.adapters.cli_conformance import run_platform
from medsettle.adapters.kit.config import load_config
from medsettle.adapters.kit.platform import SCENARIOS
from tests.e2e import fixtures as f
from tests.e2e.harness import Federation


def person(p: dict[str, Any], chronic: str = "") -> dict[str, str]:
    return {"psn_no": p["psn_no"], "certno": p["certno"], "evoucher": p["evoucher"],
            "card_no": p["card_no"], "card_sn": p["card_sn"], "insuplc_admdvs": p["insu_admdvs"],
            "insutype": p["insutype"], "chronic": chronic}


def test_the_kit_passes_a_federation_given_its_test_data(tmp_path: Path) -> None:
    config = tmp_path / "federation.json"
    config.write_text(json.dumps({
        "fixmedins_code": f.SHENZHEN_H, "outpatient": person(f.QIAN),
        "inpatient": person(f.ZHAO), "chronic": person(f.ZHANG, "M03900")}), encoding="utf-8")
    fed = Federation(tmp_path, f.ROWS)
    try:
        fed.start()
        names = [n for n in SCENARIOS if n != "cross-institution"]  # one open hospital only
        run = run_platform(fed.urls["440000"], load_config(config), names)
    finally:
        fed.close()
    failures = {s.name: [f"{step.name}: {x.text()}" for step, x in s.failures()] + (
        [s.error] if s.error else []) for s in run.scenarios}
    assert failures == {name: [] for name in names}
