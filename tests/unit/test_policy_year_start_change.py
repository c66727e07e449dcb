"""A parameter set that moves the start of the medical year so that two medical years get the
same label is refused, naming `year_start`. Accumulators (pool paid, deductible met, visits)
are kept by the label of the medical year (ParameterSet.medical_year); a 07-01 set following a
01-01 one on 2026-07-01 labelled both January–June 2026 and July 2026–June 2027 "2026", so the
first half-year's stays counted in the next medical year. Relabelling would orphan stored
accumulators, so such a change is refused at propose (given the node's book) and at approve."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from medsettle.adapters.cli import app
from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.adapters.files import load_policy_book, policies_dir
from medsettle.core import policy
from medsettle.core.errors import PolicyFileError, PolicyInvalid
from medsettle.core.operators import Operator
from medsettle.core.policy import ParameterSet, parse_parameter_set
from medsettle.core.served import ServedBook
from medsettle.services import policy_sets
from medsettle.services.operators import create_operator, operator_named

NOW = datetime.now(UTC)
GUANGZHOU = policies_dir() / "440100" / "resident" / "440100-resident-2025.yaml"  # 01-01
SHANGHAI = policies_dir() / "310100" / "employee" / "310100-employee-2025.yaml"  # 07-01


def document(path: Path = GUANGZHOU, **changes: object) -> dict[str, Any]:
    doc = copy.deepcopy(yaml.safe_load(path.read_text(encoding="utf-8"))) | changes
    if "year_start" in changes:
        doc["provenance"]["year_start"] = {"status": "illustrative", "note": "a test's year"}
    return doc


def a_set(path: Path = GUANGZHOU, **changes: object) -> ParameterSet:
    return parse_parameter_set(document(path, **changes), f"{changes.get('id', 'x')}.yaml")


# -- the rule ------------------------------------------------------------------------------------

JANUARY = a_set(id="440100-resident-2025")
JULY = a_set(id="440100-resident-2026h2", valid_from="2026-07-01", year_start="07-01")


@pytest.mark.parametrize("on", [date(2026, 7, 1), date(2026, 3, 1), date(2026, 12, 1)])
def test_a_later_year_start_shares_a_label_and_is_refused_naming_year_start(on: date) -> None:
    with pytest.raises(PolicyFileError) as refused:
        policy.check_year_start_change(JANUARY, JULY, on, JULY)
    assert (refused.value.key, refused.value.source) == ("year_start", JULY.source)
    message = refused.value.message
    assert message.startswith("07-01 differs from the medical year of 440100-resident-2025 "
                              f"(01-01), which 440100-resident-2026h2 follows on {on}")
    assert "not supported" in message and "keep year_start 01-01" in message


def test_the_set_that_is_followed_is_named_when_it_is_the_one_loaded() -> None:
    with pytest.raises(PolicyFileError) as refused:
        policy.check_year_start_change(JANUARY, JULY, date(2026, 7, 1), JANUARY)
    assert (refused.value.key, refused.value.source) == ("year_start", JANUARY.source)
    assert "which 440100-resident-2025 is followed by on 2026-07-01" in refused.value.message


def test_the_same_year_start_or_an_earlier_one_is_no_clash() -> None:
    same = a_set(id="440100-resident-2026", valid_from="2026-07-01")
    policy.check_year_start_change(JANUARY, same, date(2026, 7, 1), same)  # the year goes on
    january = a_set(id="440100-resident-2027", valid_from="2027-01-01")
    for on in (date(2027, 1, 1), date(2026, 7, 1), date(2027, 3, 1)):
        # the start moves earlier: the July year ends short, the next label is a new one
        assert int(january.medical_year(on)) > int(JULY.medical_year(on - timedelta(days=1)))
        policy.check_year_start_change(JULY, january, on, january)


# -- at the node ---------------------------------------------------------------------------------

@pytest.fixture()
def node(tmp_path: Path) -> Iterator[tuple[Store, Operator, Operator, str]]:
    url = f"sqlite:///{tmp_path}/node.db"
    engine = make_engine(url)
    migrate(engine, "province")
    store = Store(engine)
    with store.tx() as tx:
        for province in ("440000", "310000"):
            for name in ("clerk", "checker"):
                create_operator(tx, f"{name}{province[:2]}", "province", province, NOW)
        clerk = operator_named(tx, "clerk44", "province", "440000")
        checker = operator_named(tx, "checker44", "province", "440000")
    try:
        yield store, clerk, checker, url
    finally:
        engine.dispose()


def test_propose_with_the_nodes_book_refuses_a_clashing_year_start(
        node: tuple[Store, Operator, Operator, str]) -> None:
    store, clerk, _, _ = node
    book = ServedBook(load_policy_book())
    doc = document(id="440100-resident-2026h2", valid_from="2026-07-01", year_start="07-01")
    with pytest.raises(PolicyInvalid) as refused:
        policy_sets.propose(store, doc, "gz.yaml", clerk, NOW, "440000", book)
    assert [e.key for e in refused.value.errors] == ["year_start"]
    assert "which 440100-resident-2026h2 follows on 2026-07-01" in str(refused.value)
    with store.tx() as tx:
        assert tx.count("policy_sets") == 0 and tx.count("audit_log") == 0


def test_approve_refuses_a_clashing_proposal_and_leaves_it_proposed(
        node: tuple[Store, Operator, Operator, str]) -> None:
    store, clerk, checker, _ = node
    book = ServedBook(load_policy_book())
    doc = document(id="440100-resident-2026h2", valid_from="2026-07-01", year_start="07-01")
    row = policy_sets.propose(store, doc, "gz.yaml", clerk, NOW, "440000")  # no book: unchecked
    with pytest.raises(PolicyInvalid, match="year_start"):
        policy_sets.approve(store, book, row["id"], checker, NOW, "440000")
    with store.tx() as tx:
        assert tx.one("policy_sets", id=row["id"]).status == "proposed"
        assert [r.action for r in tx.rows("audit_log", order_by="id")] == ["policy.propose"]
    assert book.find("440100", "resident", date(2026, 8, 1)).id == "440100-resident-2025"


def test_a_set_whose_successor_starts_a_later_year_is_refused_naming_the_successor(
        node: tuple[Store, Operator, Operator, str]) -> None:
    store, _, _, _ = node
    with store.tx() as tx:
        clerk = operator_named(tx, "clerk31", "province", "310000")
        checker = operator_named(tx, "checker31", "province", "310000")
    book = ServedBook(load_policy_book())  # Shanghai employees: 07-01 years from 2024-07-01
    july = document(SHANGHAI, id="310100-employee-2027", valid_from="2027-07-01")
    row = policy_sets.propose(store, july, "sh.yaml", clerk, NOW, "310000", book)
    policy_sets.approve(store, book, row["id"], checker, NOW, "310000")
    # 01-01 from 2027-01-01 follows the seed's 07-01 year fine (a short year 2026: Jul–Dec)...
    january = document(SHANGHAI, id="310100-employee-2027a", valid_from="2027-01-01",
                       year_start="01-01")
    with pytest.raises(PolicyInvalid) as refused:
        policy_sets.propose(store, january, "sh.yaml", clerk, NOW, "310000", book)
    # ...but 310100-employee-2027 takes over on 2027-07-01 and would label Jul 2027– "2027" too
    assert [e.key for e in refused.value.errors] == ["year_start"]
    assert ("differs from the medical year of 310100-employee-2027 (07-01), which "
            "310100-employee-2027a is followed by on 2027-07-01") in str(refused.value)
    ended = document(SHANGHAI, id="310100-employee-2027b", valid_from="2027-01-01",
                     valid_until="2027-07-01", year_start="01-01")
    with pytest.raises(PolicyInvalid, match="is followed by on 2027-07-01"):
        policy_sets.propose(store, ended, "sh.yaml", clerk, NOW, "310000", book)
    same = document(SHANGHAI, id="310100-employee-2027c", valid_from="2027-01-01")
    assert policy_sets.propose(store, same, "sh.yaml", clerk, NOW, "310000", book)["status"] \
        == "proposed"


def test_policy_load_names_year_start_and_loads_nothing(
        node: tuple[Store, Operator, Operator, str], tmp_path: Path) -> None:
    store, _, _, url = node
    path = tmp_path / "gz-2026h2.yaml"
    doc = document(id="440100-resident-2026h2", valid_from="2026-07-01", year_start="07-01")
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    done = CliRunner().invoke(app, ["policy", "load", str(path), "--db", url, "--as", "clerk44"],
                              env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert done.exit_code == 2, done.output
    assert "year_start: 07-01 differs from the medical year of 440100-resident-2025" in \
        done.output
    with store.tx() as tx:
        assert tx.count("policy_sets") == 0
