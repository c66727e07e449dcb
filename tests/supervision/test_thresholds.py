"""Thresholds as dated data per region with provenance: the shipped documents load, a region
takes the national values for the rules it does not state, every hit names its source, bad
documents are refused naming the file and key; and core/supervision stays pure."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from medsettle.adapters.supervision_files import load_threshold_book, read_thresholds
from medsettle.core.errors import PolicyFileError, PolicyNotInForce
from medsettle.core.supervision.thresholds import ThresholdBook, parse_thresholds
from tests.unit.test_architecture import allowed_in_core, called_names, imported_modules, tree

ON = date(2026, 10, 31)
CORE = Path(__file__).parents[2] / "src" / "medsettle" / "core" / "supervision"


def test_the_shipped_documents_load_and_a_region_completes_from_the_national_one() -> None:
    book = load_threshold_book()
    shanghai, guangdong = book.find("310115", ON), book.find("440300", ON)
    assert (shanghai.id, shanghai.r02.max_gap_days) == ("supervision-310000-2025", 30)
    assert shanghai.r09 == guangdong.r09 and guangdong.id == "supervision-000000-2025"
    assert shanghai.source_of("r09.surge_ratio").startswith(
        "supervision-000000-2025: secondary source")
    assert shanghai.source_of("r02.max_gap_days").startswith("supervision-310000-2025")
    with pytest.raises(PolicyNotInForce):
        book.find("440300", date(2024, 12, 31))


def doc(**rules: object) -> dict[str, object]:
    return {"id": "t", "region": "000000", "valid_from": "2025-01-01",
            "provenance": {"*": {"status": "illustrative", "note": "test"}}, "rules": rules}


@pytest.mark.parametrize(("rules", "key"), [
    ({"r09": {"surge_ratio": 1.2}}, "rules.r09.surge_ratio"),  # a float
    ({"r01": {"min_days": -1}}, "rules.r01.min_days"),
    ({"r06": {"refill_used": "3/2"}}, "rules.r06.refill_used"),
    ({"r01": {"only_kinds": ["1"]}}, "rules.r01.only_kinds"),
    ({"r13": {}}, "rules.r13"),
    ({"r04": {"pairs": [{"billed": "A", "instead_of": "B"}]}}, "rules.r04.pairs.0.evidence"),
    ({"r11": {"standards": {"X": {}}}}, "rules.r11.standards.X"),
])
def test_a_bad_document_is_refused_naming_the_key(rules: dict[str, object], key: str) -> None:
    with pytest.raises(PolicyFileError) as err:
        parse_thresholds(doc(**rules), "bad.yaml")
    assert err.value.key == key and "bad.yaml" in str(err.value)


def test_overlapping_ranges_and_a_misplaced_file_are_refused(tmp_path: Path) -> None:
    t = parse_thresholds(doc(), "a.yaml")
    with pytest.raises(PolicyFileError, match="overlaps"):
        ThresholdBook([t, t])
    folder = tmp_path / "110000"
    folder.mkdir()
    (folder / "x.yaml").write_text('id: x\nregion: "000000"\nvalid_from: "2025-01-01"\n'
                                   'rules: {}\n', encoding="utf-8")
    with pytest.raises(PolicyFileError, match="lies under 110000"):
        read_thresholds(tmp_path)


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_supervision_is_pure(path: Path) -> None:
    module = tree(path)
    assert [n for _, n in imported_modules(module) if not allowed_in_core(n)] == []
    assert [f"{o}.{a}" for _, o, a in called_names(module)
            if (o, a) in {("date", "today"), ("datetime", "now"), ("time", "time")}] == []
