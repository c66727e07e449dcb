"""Loading and looking up the real policy shapes (domain.md §5): band lists in a ratio TABLE,
contribution-tier keys, the medical year, and a set's identity (id + content hash)."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from medsettle.adapters.files import load_policy_book
from medsettle.core.bands import Band, eligible_within_cap, ratio_at, segments
from medsettle.core.errors import PolicyFileError, PolicyNotInForce
from medsettle.core.policy import parse_parameter_set
from medsettle.core.policy_view import describe
from tests.unit.test_policy_loader import BASE

BANDS = [{"upto": 3000000, "ratio": "0.85"}, {"upto": 4000000, "ratio": "0.90"},
         {"upto": None, "ratio": "0.95"}]


def doc(**changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(BASE)
    d["benefits"]["inpatient"].update(copy.deepcopy(changes))
    return d


def test_a_ratio_table_cell_may_be_a_band_list() -> None:
    ps = parse_parameter_set(doc(ratio={"active": BANDS, "retired": {"L1": "0.9", "L2": BANDS,
                                                                     "L3": "0.8"}}), "p.yaml")
    benefit = ps.benefit("inpatient")
    assert benefit.banded and benefit.ratio_basis == "visit"
    assert benefit.ratio.lookup("active", "L0") == (Band(3000000, Decimal("0.85")),
                                                   Band(4000000, Decimal("0.90")),
                                                   Band(None, Decimal("0.95")))
    assert benefit.ratio.lookup("retired", "L1") == Decimal("0.9")
    rows = {item.key: item.value for item in describe(ps)}
    assert rows["inpatient.ratio.active"] == "85% to ¥30000.00, 90% to ¥40000.00, 95% above"
    assert rows["inpatient.ratio_basis"] == "per visit"


def test_contribution_tier_keys_are_tried_before_the_plain_category() -> None:
    d = copy.deepcopy(BASE)
    d["scheme"] = "resident"
    d["benefits"]["inpatient"]["ratio"] = {"resident": "0.60", "resident@high": {
        "L1": "0.80", "L2": "0.75", "L3": "0.70"}}
    d["benefits"]["chronic"]["ratio"] = "0.70"
    d["caps"]["main"] = {"resident": 6000000, "resident@high": 15000000}
    ps = parse_parameter_set(d, "p.yaml")
    ratio = ps.benefit("inpatient").ratio
    assert ratio.lookup("resident", "L2", "high") == Decimal("0.75")
    assert ratio.lookup("resident", "L2", "low") == Decimal("0.60")
    assert ratio.lookup("resident", "L2") == Decimal("0.60")
    assert ps.caps["main"] is not None and ps.caps["main"].lookup("resident", "L3", "high") \
        == 15000000
    assert ratio.keys() == ["resident", "resident@high"]
    labels = [item.label for item in describe(ps)]
    assert "inpatient pool ratio, resident@high L0/L1/L2/L3" in labels


def test_the_medical_year_follows_year_start() -> None:
    ps = parse_parameter_set(copy.deepcopy(BASE) | {"year_start": "07-01"}, "p.yaml")
    assert ps.medical_year(date(2025, 6, 30)) == "2024"
    assert ps.medical_year(date(2025, 7, 1)) == "2025"


def test_segments_and_the_walk_to_the_cap() -> None:
    bands = (Band(3000000, Decimal("0.85")), Band(4000000, Decimal("0.90")),
             Band(None, Decimal("0.95")))
    parts = segments(bands, 0, 2500000, 1950000)
    assert [(p.start, p.end) for p in parts] == [(2500000, 3000000), (3000000, 4000000),
                                                 (4000000, 4450000)]
    assert eligible_within_cap(parts, 875100) == 1000111  # domain.md §5 walk, see B4
    assert eligible_within_cap(parts, 10**9) is None
    assert ratio_at(bands, 2999999) == Decimal("0.85") and ratio_at(bands, 3000000) \
        == Decimal("0.90")
    # A zero-ratio band before the cap: the walk passes it (r′ = 0 never stops it).
    free = (Band(1000, Decimal("0")), Band(None, Decimal("0.5")))
    assert eligible_within_cap(segments(free, 0, 0, 5000), 100) == 1000 + 200


def test_the_content_hash_ignores_layout_and_changes_with_any_value() -> None:
    a = parse_parameter_set(copy.deepcopy(BASE), "a.yaml")
    reordered = dict(reversed(list(copy.deepcopy(BASE).items())))
    assert parse_parameter_set(reordered, "b.yaml").content_hash == a.content_hash
    changed = copy.deepcopy(BASE)
    changed["caps"]["main"] += 1
    assert parse_parameter_set(changed, "a.yaml").content_hash != a.content_hash
    renoted = copy.deepcopy(BASE)
    renoted["provenance"]["*"]["note"] = "another note"
    assert parse_parameter_set(renoted, "a.yaml").content_hash != a.content_hash


def _write(root: Path, region: str, text: str) -> None:
    folder = root / region / "employee"
    folder.mkdir(parents=True)
    (folder / "p.yaml").write_text(text, encoding="utf-8")


def test_a_book_reads_a_region_only_when_it_is_asked_for(tmp_path: Path) -> None:
    good = copy.deepcopy(BASE) | {"id": "330100-employee-2025"}
    _write(tmp_path, "330100", yaml.safe_dump(good, allow_unicode=True))
    _write(tmp_path, "110100", "id: [unclosed")
    book = load_policy_book(tmp_path)
    assert book.regions() == ["110100", "330100"]
    assert book.find("330100", "employee", date(2025, 6, 1)).id == "330100-employee-2025"
    assert book.by_id("330100-employee-2025").insu_admdvs == "330100"
    with pytest.raises(PolicyNotInForce):
        book.find("330100", "resident", date(2025, 6, 1))
    with pytest.raises(PolicyFileError) as err:
        book.find("110100", "employee", date(2025, 6, 1))
    assert err.value.source == "110100/employee/p.yaml"


def test_a_set_read_twice_is_parsed_once(tmp_path: Path) -> None:
    good = copy.deepcopy(BASE) | {"id": "330100-employee-2025"}
    _write(tmp_path, "330100", yaml.safe_dump(good, allow_unicode=True))
    first = load_policy_book(tmp_path).find("330100", "employee", date(2025, 6, 1))
    second = load_policy_book(tmp_path).find("330100", "employee", date(2025, 6, 1))
    assert first is second
