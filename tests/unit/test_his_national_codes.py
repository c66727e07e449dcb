"""national_codes: every internal word that reaches a HIS field has a national code, and a word
without one is refused rather than sent."""

from __future__ import annotations

import pytest

from medsettle.adapters.his import national_codes as nc
from medsettle.core.codes import PSN_TYPES
from medsettle.core.supervision.hits import RULES


def test_visit_types_clear_as_outpatient_or_inpatient() -> None:
    assert [nc.clr_type(v) for v in ("outpatient", "chronic", "inpatient")] == ["11", "11", "21"]


def test_assistance_categories_become_person_identity_codes() -> None:
    assert nc.psn_idet_type("dibao") == ("2302", "低保对象")
    assert nc.psn_idet_type("tekun") == ("2301", "特困供养人员")


def test_every_rule_has_a_behaviour_category() -> None:
    assert {nc.vola_bhvr_type(rule) for rule in RULES} <= {"1", "2", "3", "4", "5", "6"}


@pytest.mark.parametrize(("convert", "word"), [
    (nc.clr_type, "emergency"), (nc.psn_idet_type, "poor"), (nc.cum_type_code, "tiers_x"),
    (nc.refd_setl_flag, "refund"), (nc.gend, "male"), (nc.psn_type, "retired"),
    (nc.insutype, "employee"), (nc.med_type, "outpatient"), (nc.mdtrt_cert_type, "id_card"),
    (nc.sev_deg, "warn"),
])
def test_an_internal_word_without_a_code_is_refused(convert: object, word: str) -> None:
    with pytest.raises(nc.NoNationalCode):
        convert(word)  # type: ignore[operator]


def test_national_codes_pass_through_unchanged() -> None:
    assert nc.gend("2") == "2" and nc.insutype("390") == "390" and nc.med_type("1401") == "1401"
    assert all(nc.psn_type(code) == code for code in PSN_TYPES)
    assert nc.mdtrt_cert_type("") == "" and nc.mdtrt_cert_type("03") == "03"
