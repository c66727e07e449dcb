"""A resident who chose the high contribution tier (缴费档次) settles over HTTP as `medsettle calc`
says: the tier travels from the insured node's `persons` row to the engine.

Sichuan (510000) insures 李强 with `contribution_tier: high` and serves a resident set with
`resident@high` keys that two of its operators loaded and approved in its database before the
node started (illustrative figures made for this test, not Chengdu's); Guangdong (440000)
treats. Real processes, SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.store import Store
from medsettle.adapters.files import load_policy_book, policies_dir
from medsettle.adapters.his.client import beijing_now
from medsettle.core.benefits import AMOUNT_FIELDS
from medsettle.core.served import ServedBook
from medsettle.services import policy_sets
from medsettle.services.operators import create_operator, operator_named
from tests.e2e import fixtures as f
from tests.e2e.harness import Federation
from tests.e2e.stays import calc, settled_stay

LI = f.LI | {"contribution_tier": "high"}
LINES = [(f.SERVICE_BED, "100.00", "5"), (f.DRUG_B, "268.00", "15"), (f.SERVICE_C, "1500.00", "1")]
ITEMS = [{"cls": "A", "pric": "100.00", "cnt": "5"},
         {"cls": "B", "pric": "268.00", "cnt": "15", "selfpay_prop": "0.10"},
         {"cls": "C", "pric": "1500.00", "cnt": "1"}]


def tiered_residents() -> dict[str, Any]:
    """Chengdu's shipped resident set with a high tier for inpatient deductible and ratio."""
    path = policies_dir() / "510100" / "resident" / "510100-resident-2025.yaml"
    doc: dict[str, Any] = policy_sets.normalized(yaml.safe_load(path.read_text(encoding="utf-8")))
    doc["id"] = "510100-resident-tiered"
    inpatient = doc["benefits"]["inpatient"]
    inpatient["deductible"]["amount"] = {"resident": inpatient["deductible"]["amount"],
                                         "resident@high": {"L1": 10000, "L2": 20000,
                                                           "L3": 40000}}
    inpatient["ratio"] = {"resident": inpatient["ratio"],
                          "resident@high": {"L1": "0.92", "L2": "0.88", "L3": "0.78"}}
    for key in ("benefits.inpatient.ratio.resident@high",
                "benefits.inpatient.deductible.amount.resident@high"):
        doc["provenance"][key] = {"status": "illustrative", "note": "a high tier made for a test"}
    return doc


def approve_in(db: str, doc: dict[str, Any]) -> None:
    """Propose and approve `doc` in a province node's database, as two of its operators."""
    store = Store(make_engine(db))
    now = datetime.now(UTC)
    with store.tx() as tx:
        for name in ("clerk51", "checker51"):
            create_operator(tx, name, "province", "510000", now)
        clerk = operator_named(tx, "clerk51", "province", "510000")
        checker = operator_named(tx, "checker51", "province", "510000")
    proposed = policy_sets.propose(store, doc, "tiered.yaml", clerk, now, "510000")
    book = ServedBook(load_policy_book())
    policy_sets.approve(store, book, proposed["id"], checker, now, "510000")
    store.engine.dispose()


@pytest.fixture(scope="module")
def tiered(tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Federation, dict[str, Any]]]:
    workdir = tmp_path_factory.mktemp("tiered")
    doc = tiered_residents()
    rows = {"510000": {"persons": [LI], "accumulators": [],
                       "filings": [f.filing("BA510100202501010000080", LI, "long_term_resident",
                                            "440000")],
                       "institutions": [], "catalogue": []},
            "440000": {"persons": [], "accumulators": [], "filings": [],
                       "institutions": [f.institution(f.SHENZHEN_H, "深圳示例医院", "02", "L3")],
                       "catalogue": f.GUANGDONG_CATALOGUE}}
    fed = Federation(workdir, rows, call_timeout=1.5, his_timeout=2.0)
    approve_in(fed.dbs["510000"], doc)
    try:
        yield fed.start(), doc
    finally:
        fed.close()


def test_a_high_tier_resident_settles_over_http_as_calc_says(
        tiered: tuple[Federation, dict[str, Any]], tmp_path: Path) -> None:
    federation, doc = tiered
    his = federation.his("440000", f.SHENZHEN_H)
    who, visit, info = settled_stay(his, LI["evoucher"], LINES, "6020.00")

    person = {"scheme": "resident", "category": "resident", "contribution_tier": "high",
              "filing": {"category": "long_term_resident"}}
    case = {"id": "tiered-e2e", "params": doc, "person": person,
            "visit": {"type": "inpatient", "treating_admdvs": "440300", "level": "L3",
                      "setl_date": beijing_now().date().isoformat(), "items": ITEMS}}
    expected = calc(case, tmp_path)
    got = {name: round(info[name] * 100) for name in AMOUNT_FIELDS}
    assert got == expected["result"]
    plain = calc(case | {"id": "plain", "person": person | {"contribution_tier": None}},
                 tmp_path)
    assert expected["result"]["act_pay_dedc"] == 40000  # the high tier's deductible
    assert plain["result"]["act_pay_dedc"] == 50000
    assert expected["result"]["hifp_pay"] > plain["result"]["hifp_pay"]

    store = Store(make_engine(federation.dbs["510000"]))
    with store.tx() as tx:
        row = tx.one("settlements", setl_id=info["setl_id"], role="insured")
    store.engine.dispose()
    assert (row.policy_id, row.policy_hash) == (doc["id"], expected["parameters"]["content_hash"])
