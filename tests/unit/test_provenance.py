"""Provenance per key (docs/policies.md): every value says where it comes from, a set that is not
wholly official is shown as sample parameters, and bad provenance is a load error."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from medsettle.adapters.files import load_policy_book
from medsettle.core.errors import PolicyFileError
from medsettle.core.policy import parse_parameter_set
from medsettle.core.policy_view import describe, notices, provenance_counts, provenance_notice
from tests.unit.test_policy_loader import BASE

OFFICIAL = {"status": "official", "document": "某医保发〔2024〕1号 (test)", "date": "2024-12-20"}


def doc_with(provenance: object) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc["provenance"] = provenance
    return doc


def test_the_longest_listed_key_gives_a_value_its_origin() -> None:
    ps = parse_parameter_set(doc_with({
        "*": {"status": "illustrative", "note": "defaults"},
        "benefits.inpatient": {"status": "secondary", "source": "a summary page"},
        "benefits.inpatient.ratio.retired": {"status": "copied", "from": "530100"},
        "tiers.hifmi.bands.0.upto": {"status": "illustrative", "note": "edge is ours"},
    }), "p.yaml")
    origins = ps.value_origins()
    assert origins["benefits.inpatient.deductible.amount.L3"].status == "secondary"
    assert origins["benefits.inpatient.ratio.active.L1"].status == "secondary"
    assert origins["benefits.inpatient.ratio.retired"].copied_from == "530100"
    assert origins["tiers.hifmi.bands.0.upto"].note == "edge is ours"
    assert origins["tiers.hifmi.bands.0.ratio"].status == "illustrative"
    assert origins["caps.main"].note == "defaults"
    assert "id" not in origins and "provenance.*" not in " ".join(origins)


def test_a_set_is_official_only_when_every_value_is() -> None:
    almost = parse_parameter_set(doc_with({"*": OFFICIAL, "caps.main": {
        "status": "secondary", "source": "a news report"}}), "p.yaml")
    assert not almost.official
    notice = provenance_notice(almost)
    assert notice.startswith("SAMPLE PARAMETERS, not official policy")
    assert "1 from secondary sources" in notice
    official = parse_parameter_set(doc_with({"*": OFFICIAL}), "p.yaml")
    assert official.official
    assert provenance_notice(official).startswith("Official parameters")


def test_a_copied_set_says_from_where_in_its_notice_and_rows() -> None:
    ps = parse_parameter_set(doc_with({"*": {"status": "copied", "from": "460100",
                                             "source": "Hainan's figures"}}), "p.yaml")
    assert "Copied from region 460100." in provenance_notice(ps)
    rows = {item.key: item for item in describe(ps)}
    assert rows["cap.main"].origin == "copied from 460100 (Hainan's figures)"


def test_without_provenance_everything_is_illustrative() -> None:
    doc = copy.deepcopy(BASE)
    del doc["provenance"]
    ps = parse_parameter_set(doc, "p.yaml")
    assert {o.status for o in ps.value_origins().values()} == {"illustrative"}


BAD = [
    ({"caps.main": OFFICIAL}, "provenance.*", "missing"),
    ({"*": OFFICIAL, "caps.other": OFFICIAL}, "provenance.caps.other", "names no parameter"),
    ({"*": OFFICIAL, "title": OFFICIAL}, "provenance.title", "names no parameter"),
    ({"*": OFFICIAL, "tiers.hifmi.bands.7.upto": OFFICIAL}, "provenance.tiers.hifmi.bands.7.upto",
     "names no parameter"),
    ({"*": {"status": "reported"}}, "provenance.*.status", "must be one of"),
    ({"*": {"status": "official", "document": "X"}}, "provenance.*.date", "missing"),
    ({"*": {"status": "official", "document": "X", "date": "2024-13-01"}}, "provenance.*.date",
     "YYYY-MM-DD"),
    ({"*": {"status": "secondary"}}, "provenance.*.source", "missing"),
    ({"*": {"status": "copied", "from": "Hainan"}}, "provenance.*.from", "6-digit"),
    ({"*": {"status": "illustrative"}}, "provenance.*.note", "missing"),
    ({"*": {"status": "illustrative", "note": "x", "guess": "y"}}, "provenance.*.guess",
     "unknown key"),
    ({"*": "illustrative"}, "provenance.*", "mapping"),
]


@pytest.mark.parametrize(("provenance", "key", "message"), BAD,
                         ids=[row[1] + ":" + row[2] for row in BAD])
def test_bad_provenance_is_refused_naming_the_key(provenance: object, key: str,
                                                  message: str) -> None:
    with pytest.raises(PolicyFileError) as err:
        parse_parameter_set(doc_with(provenance), "p.yaml")
    assert err.value.key == key
    assert message in err.value.message


def test_the_notice_reads_in_chinese_on_chinese_pages() -> None:
    ps = load_policy_book().by_id("620100-employee-2025")
    zh = provenance_notice(ps, "zh")
    assert zh.startswith("示例参数，非正式政策：620100-employee-2025 并非全部来自正式文件。")
    assert "复制自地区 530100。" in zh
    counts = provenance_counts(ps)
    assert f"其 {sum(counts.values())} 个取值中" in zh
    assert notices(ps) == {"en": provenance_notice(ps), "zh": zh}
