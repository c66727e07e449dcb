"""Code formats and dictionaries (domain.md §2, §7)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from medsettle.core.codes import (
    CERT_TYPES,
    EVOUCHER_PATTERN,
    EXTENSION_CHRONIC_DISEASES,
    MED_CHRGITM_TYPES,
    NATIONAL_CHRONIC_DISEASES,
    PREFECTURES,
    PROVINCES,
    PSN_TYPES,
    REGION_OF_PROVINCE,
    SCHEME_OF_INSUTYPE,
    catalogue_code_kind,
    category_of_psn_type,
    chronic_disease_name,
    evoucher_admdvs,
    id_card_birth_date,
    id_card_gender,
    id_check_character,
    institution_admdvs,
    is_cross_province,
    level_tier,
    make_id_card,
    prefecture_of,
    province_of,
    region_name,
    scheme_of_insutype,
    validate_admdvs,
    validate_card_sn,
    validate_chronic_disease_code,
    validate_consumable_code,
    validate_disease_code,
    validate_drug_code,
    validate_evoucher_token,
    validate_id_card,
    validate_institution_code,
    validate_pharmacy_code,
    validate_service_item_code,
    validate_social_security_card_no,
    visit_type_of_med_type,
)
from medsettle.core.errors import InvalidCode, InvalidInput

Validator = Callable[[object, str], str]

TOKEN = "EC440300" + "aB3dE5fG7hJ9kL1mN2pQ4rS6"
VALID_ID = "11010519491231002X"

# (validator, fragment of the expected format in the message, good values, bad strings)
TABLE: list[tuple[Validator, str, list[str], list[str]]] = [
    (validate_admdvs, r"^\d{6}$",
     ["110000", "440300", "361199", "660000", "650100"],
     ["44030", "4403000", "000000", "990000", "700000", "44O300", "440300\n", "４４０３００"]),
    (validate_drug_code, "^[XZ][A-Z0-9]{22}$",
     ["XA01ABD075A002010100483", "Z" + "A" * 22],
     ["XA01ABD075A00201010048", "XA01ABD075A0020101004833", "YA01ABD075A002010100483",
      "xa01abd075a002010100483", "XA01ABD075A00201010048a", "XA01ABD075A00201010048-"]),
    (validate_service_item_code, r"^\d{15}$",
     ["001102000050000", "310100001000000"],
     ["00110200005000", "0011020000500000", "S01102000050000", "00110200005000a"]),
    (validate_consumable_code, r"^C\d{19}$",
     ["C0101010000000000000", "C0101010000000000000A1B2C3D", "C17" + "9" * 17],
     ["C010101000000000000", "C01010100000000000000", "D0101010000000000000",
      "c0101010000000000000", "C0101010000000000000a1b2c3d", "C0101010000000000000A1B2C3"]),
    (validate_institution_code, r"^H\d{11}$",
     ["H46010500002", "H11010800001"],
     ["H4601050000", "H460105000020", "P46010500002", "h46010500002", "46010500002X"]),
    (validate_pharmacy_code, r"^P\d{11}$",
     ["P44030000001"],
     ["P4403000000", "P440300000011", "H44030000001", "p44030000001"]),
    (validate_disease_code, r"^[A-Z]\d{2}(\.[0-9A-Z]{1,4})?$",
     ["I10", "E11.9", "N18.5", "C34.1", "Z99.2", "Z94.0X01"],
     ["I1", "I100", "E11.", "E11.12345", "e11.9", "11.9", "E11-9", "E11.9a"]),
    (validate_chronic_disease_code, r"^M\d{5}$",
     ["M03900", "M07804", "M99999"],
     ["M0390", "M039000", "N03900", "m03900", "M0390A"]),
    (validate_id_card, "18-character ID card number",
     [VALID_ID, "440300199003071234", "360102200002290061"],
     ["11010519491231002", "11010519491231002XX", "1101051949123100A2", "X1010519491231002X"]),
    (validate_social_security_card_no, "^[A-Z0-9]{9}$",
     ["A12345678", "123456789", "ABCDEFGHI"],
     ["A1234567", "A123456789", "a12345678", "A1234567-"]),
    (validate_card_sn, "^[0-9A-Za-z]{1,32}$",
     ["1", "abcDEF0123456789", "A" * 32],
     ["A" * 33, "abc-123", "abc 123", "序列号"]),
    (validate_evoucher_token, r"^EC\d{6}[0-9A-Za-z]{24}$",
     [TOKEN, "EC660000" + "0" * 24],
     [TOKEN[:-1], TOKEN + "a", "ec" + TOKEN[2:], "EX" + TOKEN[2:], TOKEN[:-1] + "-",
      TOKEN + "\n", "EC990000" + "a" * 24]),
]

GOOD = [(v, good) for v, _, goods, _ in TABLE for good in goods]
BAD = [(v, fmt, bad) for v, fmt, _, bads in TABLE for bad in bads]
NOT_STRINGS: list[object] = [None, 440300, 4.5, True, b"440300", ["440300"]]
NON_STRING = [(v, fmt, value) for v, fmt, _, _ in TABLE for value in NOT_STRINGS]
EMPTY = [(v, fmt) for v, fmt, _, _ in TABLE]


def _name(value: object) -> str:
    return getattr(value, "__name__", repr(value))


def _check_character(first17: str) -> str:
    """GB 11643, written out independently of the module under test."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = 0
    for position in range(17):
        total += int(first17[position]) * weights[position]
    return "10X98765432"[total % 11]


# Validators: good values, bad values, non-strings, empty strings


@pytest.mark.parametrize(("validator", "value"), GOOD, ids=_name)
def test_valid_code_is_returned_unchanged(validator: Validator, value: str) -> None:
    assert validator(value, "the_field") == value


@pytest.mark.parametrize(("validator", "expected", "value"), BAD, ids=_name)
def test_malformed_code_is_rejected_naming_field_and_format(
    validator: Validator, expected: str, value: str
) -> None:
    with pytest.raises(InvalidCode) as caught:
        validator(value, "the_field")
    assert caught.value.field == "the_field"
    assert expected in caught.value.message


@pytest.mark.parametrize(("validator", "expected", "value"), NON_STRING, ids=_name)
def test_non_string_is_rejected_as_invalid_code(
    validator: Validator, expected: str, value: object
) -> None:
    with pytest.raises(InvalidCode) as caught:
        validator(value, "the_field")
    assert caught.value.field == "the_field"
    assert expected in caught.value.message
    assert type(value).__name__ in caught.value.message


@pytest.mark.parametrize(("validator", "expected"), EMPTY, ids=_name)
def test_empty_string_is_rejected(validator: Validator, expected: str) -> None:
    with pytest.raises(InvalidCode) as caught:
        validator("", "the_field")
    assert caught.value.field == "the_field"
    assert expected in caught.value.message


def test_invalid_code_is_an_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        validate_admdvs("x", "insuplc_admdvs")


# admdvs


def test_there_are_32_provinces_ending_in_0000() -> None:
    assert len(PROVINCES) == 32
    assert all(code.endswith("0000") for code in PROVINCES)
    assert PROVINCES["110000"] == "北京"
    assert PROVINCES["660000"] == "新疆生产建设兵团"


def test_every_province_has_one_shipped_region_in_that_province() -> None:
    assert set(REGION_OF_PROVINCE) == set(PROVINCES)
    for province, region in REGION_OF_PROVINCE.items():
        assert region in PREFECTURES
        assert province_of(region) == province


@pytest.mark.parametrize(
    ("province", "region"),
    [("440000", "440100"), ("360000", "360000"), ("610000", "611000"), ("460000", "460100"),
     ("660000", "660000"), ("230000", "230100")],
)
def test_shipped_region_is_the_capital_except_four(province: str, region: str) -> None:
    assert REGION_OF_PROVINCE[province] == region


def test_every_prefecture_is_a_valid_admdvs() -> None:
    assert all(validate_admdvs(code, "admdvs") == code for code in PREFECTURES)
    assert len(PREFECTURES) == 36


@pytest.mark.parametrize(
    ("admdvs", "province", "prefecture"),
    [("440300", "440000", "440300"), ("361199", "360000", "361100"),
     ("110105", "110000", "110100"), ("660000", "660000", "660000")],
)
def test_province_and_prefecture_are_derived_from_digits(
    admdvs: str, province: str, prefecture: str
) -> None:
    assert province_of(admdvs) == province
    assert prefecture_of(admdvs) == prefecture


@pytest.mark.parametrize(
    ("a", "b", "cross"),
    [("440300", "110100", True), ("440300", "440100", False), ("650100", "660000", True),
     ("360000", "361199", False)],
)
def test_cross_province_compares_province_prefixes(a: str, b: str, cross: bool) -> None:
    assert is_cross_province(a, b) is cross


@pytest.mark.parametrize(
    ("admdvs", "name"),
    [("440300", "深圳市"), ("440305", "深圳市"), ("440500", "广东"), ("360000", "江西省本级"),
     ("361199", "江西"), ("660000", "新疆生产建设兵团本级"), ("460100", "海南省(全省统筹)")],
)
def test_region_name_prefers_prefecture_then_province(admdvs: str, name: str) -> None:
    assert region_name(admdvs) == name


def test_helpers_reject_an_unknown_province() -> None:
    with pytest.raises(InvalidCode) as caught:
        province_of("990100")
    assert caught.value.field == "admdvs"


# Catalogue


@pytest.mark.parametrize(
    ("code", "kind"),
    [("XA01ABD075A002010100483", "drug"), ("ZA01ABD075A002010100483", "drug"),
     ("001102000050000", "service"), ("C0101010000000000000", "consumable"),
     ("C0101010000000000000A1B2C3D", "consumable")],
)
def test_catalogue_kind_is_read_from_the_format(code: str, kind: str) -> None:
    assert catalogue_code_kind(code) == kind


@pytest.mark.parametrize("code", ["", "X123", "00110200005000", "c0101010000000000000", None, 15])
def test_catalogue_kind_of_unknown_format_is_rejected_naming_field(code: object) -> None:
    with pytest.raises(InvalidCode) as caught:
        catalogue_code_kind(code, "hilist_code")
    assert caught.value.field == "hilist_code"
    assert "drug" in caught.value.message and "consumable" in caught.value.message


# Institutions


def test_institution_admdvs_is_the_six_digits_after_h() -> None:
    assert institution_admdvs("H46010500002") == "460105"


@pytest.mark.parametrize("code", ["H99010500002", "H4601050000", "P46010500002"])
def test_institution_with_bad_code_or_region_is_rejected(code: str) -> None:
    with pytest.raises(InvalidCode) as caught:
        institution_admdvs(code)
    assert caught.value.field == "institution_code"


# Chronic diseases


def test_five_national_chronic_diseases_have_six_codes() -> None:
    assert set(NATIONAL_CHRONIC_DISEASES) == {
        "M03900", "M01600", "M00503", "M07803", "M07804", "M08300"}
    assert set(EXTENSION_CHRONIC_DISEASES) == {
        "M05300", "M06900", "M04600", "M00201", "M00202", "M07200"}


@pytest.mark.parametrize(
    ("code", "name"),
    [("M03900", "高血压"), ("M07804", "尿毒症透析(腹透)"), ("M05300", "慢性阻塞性肺疾病")],
)
def test_chronic_disease_name_covers_national_and_extension(code: str, name: str) -> None:
    assert chronic_disease_name(code) == name


@pytest.mark.parametrize("code", ["M99999", "m03900", "I10"])
def test_unknown_chronic_disease_has_no_name(code: str) -> None:
    with pytest.raises(InvalidCode) as caught:
        chronic_disease_name(code)
    assert caught.value.field == "chronic_disease_code"


# ID card (GB 11643)

# Each sum is written out by hand: digit × weight, weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2.
HAND_COMPUTED = [
    ("11010519491231002",
     1*7 + 1*9 + 0*10 + 1*5 + 0*8 + 5*4 + 1*2 + 9*1 + 4*6 + 9*3 + 1*7 + 2*9 + 3*10 + 1*5
     + 0*8 + 0*4 + 2*2, 167, "X"),
    ("44030019900307123",
     4*7 + 4*9 + 0*10 + 3*5 + 0*8 + 0*4 + 1*2 + 9*1 + 9*6 + 0*3 + 0*7 + 3*9 + 0*10 + 7*5
     + 1*8 + 2*4 + 3*2, 228, "4"),
    ("31010419850615235",
     3*7 + 1*9 + 0*10 + 1*5 + 0*8 + 4*4 + 1*2 + 9*1 + 8*6 + 5*3 + 0*7 + 6*9 + 1*10 + 5*5
     + 2*8 + 3*4 + 5*2, 252, "2"),
    ("36010220000229006",
     3*7 + 6*9 + 0*10 + 1*5 + 0*8 + 2*4 + 2*2 + 0*1 + 0*6 + 0*3 + 0*7 + 2*9 + 2*10 + 9*5
     + 0*8 + 0*4 + 6*2, 187, "1"),
    ("36010220000229001",
     3*7 + 6*9 + 0*10 + 1*5 + 0*8 + 2*4 + 2*2 + 0*1 + 0*6 + 0*3 + 0*7 + 2*9 + 2*10 + 9*5
     + 0*8 + 0*4 + 1*2, 177, "0"),
]


@pytest.mark.parametrize(("first17", "weighted_sum", "expected_sum", "check"), HAND_COMPUTED)
def test_id_check_character_matches_hand_arithmetic(
    first17: str, weighted_sum: int, expected_sum: int, check: str
) -> None:
    assert weighted_sum == expected_sum
    assert "10X98765432"[weighted_sum % 11] == check
    assert id_check_character(first17) == check
    assert make_id_card(first17) == first17 + check
    assert validate_id_card(first17 + check, "certno") == first17 + check


def test_known_valid_id_card_is_accepted() -> None:
    assert validate_id_card("11010519491231002X", "certno") == "11010519491231002X"


def test_id_card_with_lowercase_x_is_returned_uppercase() -> None:
    assert validate_id_card("11010519491231002x", "certno") == "11010519491231002X"


@pytest.mark.parametrize("wrong", ["0", "1", "9", "2"])
def test_id_card_with_wrong_check_character_is_rejected(wrong: str) -> None:
    with pytest.raises(InvalidCode) as caught:
        validate_id_card("11010519491231002" + wrong, "certno")
    assert caught.value.field == "certno"
    assert "check character" in caught.value.message


@pytest.mark.parametrize("birth", ["19990230", "19991301", "19990000", "18991231", "20230229"])
def test_id_card_with_impossible_birth_date_is_rejected(birth: str) -> None:
    first17 = "110105" + birth + "002"
    with pytest.raises(InvalidCode) as caught:
        validate_id_card(first17 + _check_character(first17), "psn_certno")
    assert caught.value.field == "psn_certno"
    assert "birth date" in caught.value.message


def test_id_card_born_on_a_leap_day_is_accepted() -> None:
    first17 = "110105" + "20000229" + "002"
    assert validate_id_card(first17 + _check_character(first17), "certno")[:17] == first17


@pytest.mark.parametrize("prefix", ["00", "99", "70", "16"])
def test_id_card_outside_the_32_provinces_is_rejected(prefix: str) -> None:
    first17 = prefix + "0105" + "19491231" + "002"
    with pytest.raises(InvalidCode) as caught:
        validate_id_card(first17 + _check_character(first17), "certno")
    assert caught.value.field == "certno"
    assert "province" in caught.value.message


def test_id_card_error_does_not_echo_the_number() -> None:
    with pytest.raises(InvalidCode) as caught:
        validate_id_card("110105194912310021", "certno")
    assert "11010519491231" not in str(caught.value)


@pytest.mark.parametrize(
    ("certno", "born", "gender"),
    [("11010519491231002X", date(1949, 12, 31), "2"),
     ("440300199003071234", date(1990, 3, 7), "1"),
     ("310104198506152352", date(1985, 6, 15), "1"),
     ("360102200002290061", date(2000, 2, 29), "2")],
)
def test_birth_date_and_gender_are_read_from_the_id_card(
    certno: str, born: date, gender: str
) -> None:
    assert id_card_birth_date(certno) == born
    assert id_card_gender(certno) == gender


def test_male_has_an_odd_seventeenth_digit() -> None:
    assert id_card_gender(make_id_card("11010519491231001")) == "1"


@pytest.mark.parametrize("first17", ["1101051949123100", "1101051949123100X", "", "99010519491231002"])
def test_make_id_card_rejects_a_bad_prefix(first17: str) -> None:
    with pytest.raises(InvalidCode) as caught:
        make_id_card(first17)
    assert caught.value.field == "certno"


# E-voucher


def test_evoucher_token_carries_its_insured_admdvs() -> None:
    assert EVOUCHER_PATTERN.fullmatch(TOKEN)
    assert evoucher_admdvs(TOKEN) == "440300"


def test_evoucher_token_keeps_its_case() -> None:
    assert validate_evoucher_token(TOKEN, "qr") == TOKEN


# Dictionaries


@pytest.mark.parametrize(
    ("hosp_lv", "tier"),
    [("01", "L3"), ("02", "L3"), ("03", "L3"), ("04", "L3"), ("12", "L3"),
     ("05", "L2"), ("06", "L2"), ("07", "L2"), ("13", "L2"),
     ("08", "L1"), ("09", "L1"), ("10", "L1"), ("14", "L1"), ("11", "L0")],
)
def test_hospital_level_maps_to_tier(hosp_lv: str, tier: str) -> None:
    assert level_tier(hosp_lv) == tier


@pytest.mark.parametrize("hosp_lv", ["00", "15", "1", "3", "", None, 1])
def test_unknown_hospital_level_is_rejected(hosp_lv: str) -> None:
    with pytest.raises(InvalidCode) as caught:
        level_tier(hosp_lv)
    assert caught.value.field == "hosp_lv"
    assert "01-14" in caught.value.message


def test_three_credential_types() -> None:
    assert set(CERT_TYPES) == {"01", "02", "03"}
    assert CERT_TYPES["02"] == "居民身份证"


@pytest.mark.parametrize(
    ("psn_type", "category"),
    [("11", "active"), ("1101", "active"), ("1102", "active"), ("1103", "active"),
     ("12", "retired"), ("15", "resident")],
)
def test_person_type_maps_to_category(psn_type: str, category: str) -> None:
    assert psn_type in PSN_TYPES
    assert category_of_psn_type(psn_type) == category


def test_lixiu_person_type_is_not_supported() -> None:
    assert PSN_TYPES["1300"] == "离休"
    with pytest.raises(InvalidCode) as caught:
        category_of_psn_type("1300")
    assert caught.value.field == "psn_type"
    assert "离休" in caught.value.message and "not supported" in caught.value.message


@pytest.mark.parametrize("psn_type", ["13", "1104", "", None])
def test_unknown_person_type_is_rejected(psn_type: str) -> None:
    with pytest.raises(InvalidCode) as caught:
        category_of_psn_type(psn_type)
    assert caught.value.field == "psn_type"


@pytest.mark.parametrize(("insutype", "scheme"), [("310", "employee"), ("390", "resident")])
def test_insutype_maps_to_scheme(insutype: str, scheme: str) -> None:
    assert SCHEME_OF_INSUTYPE[insutype] == scheme
    assert scheme_of_insutype(insutype) == scheme


@pytest.mark.parametrize("insutype", ["320", "391", "", None])
def test_unknown_insutype_is_rejected(insutype: str) -> None:
    with pytest.raises(InvalidCode) as caught:
        scheme_of_insutype(insutype)
    assert caught.value.field == "insutype"


@pytest.mark.parametrize(
    ("med_type", "visit"),
    [("11", "outpatient"), ("12", "outpatient"), ("13", "outpatient"), ("14", "chronic"),
     ("1401", "chronic"), ("1499", "chronic"), ("21", "inpatient"), ("28", "inpatient")],
)
def test_med_type_maps_to_visit_type(med_type: str, visit: str) -> None:
    assert visit_type_of_med_type(med_type) == visit


@pytest.mark.parametrize("med_type", ["41", "22", "140", "14011", "1", "", None])
def test_unknown_med_type_is_rejected(med_type: str) -> None:
    with pytest.raises(InvalidCode) as caught:
        visit_type_of_med_type(med_type)
    assert caught.value.field == "med_type"


def test_fee_categories_run_from_01_to_14() -> None:
    assert list(MED_CHRGITM_TYPES) == [f"{n:02d}" for n in range(1, 15)]
    assert MED_CHRGITM_TYPES["01"] == "床位" and MED_CHRGITM_TYPES["14"] == "其他"
