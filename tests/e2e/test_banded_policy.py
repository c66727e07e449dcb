"""A whole inpatient stay over HTTP under an amount-banded policy (分段报销, ratio_basis year)
settles to the fen as `medsettle calc` of the same case, and its cancel restores the yearly
eligible base (pool_base) at the insured node.

The provinces run on a copy of the shipped policies in which Chengdu's employee inpatient ratio
is a band list over the medical year: illustrative bands made for this test, not Chengdu's.
Guangdong (440000) treats, Sichuan (510000) insures; both backends (see conftest.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from medsettle.adapters.files import policies_dir
from medsettle.adapters.his.client import HisClient, Patient, beijing_now, cumulative
from medsettle.core.benefits import AMOUNT_FIELDS
from tests.e2e import fixtures as f
from tests.e2e.harness import Federation, running
from tests.e2e.stays import calc, settled_stay

BANDS = [{"upto": 2000000, "ratio": "0.80"}, {"upto": 5000000, "ratio": "0.88"},
         {"upto": None, "ratio": "0.93"}]
FENG = f.employee(7, "冯晴")
YEAR = str(beijing_now().year)  # Chengdu's medical year is the calendar year
BEFORE = {"pool_base": {"main": 1500000}, "pool_paid": {"main": 1200000}}
#: 5206 cum_type_code of pool_base.main and pool_paid.main (docs/his-integration.md).
POOL_BASE, POOL_PAID = "C0302-00", "C0301-00"
LINES = [(f.SERVICE_BED, "100.00", "5"), (f.DRUG_B, "268.00", "15"),
         (f.DRUG_B_CAPPED, "12800.00", "1"), (f.SERVICE_C, "1500.00", "1")]
#: The same lines as the treating place's catalogue classifies them (fixtures.GUANGDONG_CATALOGUE).
ITEMS = [{"cls": "A", "pric": "100.00", "cnt": "5"},
         {"cls": "B", "pric": "268.00", "cnt": "15", "selfpay_prop": "0.10"},
         {"cls": "B", "pric": "12800.00", "cnt": "1", "selfpay_prop": "0.20",
          "lmt_pric": "10000.00"},
         {"cls": "C", "pric": "1500.00", "cnt": "1"}]


def banded_policies(root: Path) -> dict[str, Any]:
    """Copy the shipped policies to `root` and band Chengdu's employee inpatient ratio; returns
    the changed document."""
    shutil.copytree(policies_dir(), root)
    path = root / "510100" / "employee" / "510100-employee-2025.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    inpatient = doc["benefits"]["inpatient"]
    inpatient["ratio"]["active"] = BANDS
    inpatient["ratio_basis"] = "year"
    doc["provenance"]["benefits.inpatient.ratio.active"] = {
        "status": "illustrative", "note": "bands made for the end-to-end test"}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return doc


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def banded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Federation, dict[str, Any]]]:
    workdir: Path = tmp_path_factory.mktemp(f"banded-{request.param}")
    doc = banded_policies(workdir / "policies")
    accumulators = [{"psn_no": FENG["psn_no"], "year": YEAR, "path": f"{family}.{group}",
                     "value": value} for family, groups in BEFORE.items()
                    for group, value in groups.items()]
    rows = {"510000": {"persons": [FENG], "accumulators": accumulators,
                       "filings": [f.filing("BA510100202501010000070", FENG, "posted_worker",
                                            "440000")],
                       "institutions": [], "catalogue": []},
            "440000": {"persons": [], "accumulators": [], "filings": [],
                       "institutions": [f.institution(f.SHENZHEN_H, "深圳示例医院", "02", "L3")],
                       "catalogue": f.GUANGDONG_CATALOGUE}}
    with running(request.param, workdir, rows, call_timeout=1.5, his_timeout=2.0,
                 policies=workdir / "policies") as fed:
        yield fed, doc


def fen(yuan: float) -> int:
    return round(yuan * 100)


def accumulations(his: HisClient, who: Patient) -> dict[str, Any]:
    return cumulative(his.call("5206", {"data": {"psn_no": who.psn_no}}, insuplc=who.insuplc))


def test_a_banded_stay_over_http_equals_calc_and_its_cancel_restores_pool_base(
        banded: tuple[Federation, dict[str, Any]], tmp_path: Path) -> None:
    federation, doc = banded
    his = federation.his("440000", f.SHENZHEN_H)
    who, visit, info = settled_stay(his, FENG["evoucher"], LINES, "18820.00")

    case = {"id": "banded-e2e", "params": doc,
            "person": {"scheme": "employee", "category": "active",
                       "filing": {"category": "posted_worker"}, "acc_before": BEFORE},
            "visit": {"type": "inpatient", "treating_admdvs": "440300", "level": "L3",
                      "setl_date": beijing_now().date().isoformat(), "items": ITEMS}}
    expected = calc(case, tmp_path)
    assert {name: fen(info[name]) for name in AMOUNT_FIELDS} == expected["result"]
    # The stay crossed a band edge: E = 12,118.00 − 800.00 placed from ¥15,000 of the year.
    eligible = expected["result"]["inscp_scp_amt"] - expected["result"]["act_pay_dedc"]
    assert eligible == 1131800
    assert [s["code"] for s in expected["explanation"]][3] == "ratio.banded"
    assert expected["result"]["hifp_pay"] == 400000 + 555984  # 0.80 × 500,000 + 0.88 × 631,800
    after = accumulations(his, who)
    assert fen(after[POOL_BASE]) == 1500000 + eligible
    assert fen(after[POOL_PAID]) == 1200000 + expected["result"]["hifp_pay"]

    visit.cancel(info["setl_id"], inpatient=True)
    restored = accumulations(his, who)
    assert fen(restored[POOL_BASE]) == 1500000
    assert fen(restored[POOL_PAID]) == 1200000
