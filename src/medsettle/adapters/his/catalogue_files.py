"""The catalogue files of 1301 (西药中成药), 1302 (中药饮片), 1305 (医疗服务项目) and 1306
(医用耗材), as the national interface ships them: a zip holding one UTF-8 text file, one entry per line, columns
separated by tabs in the national order, no header line.

The columns are the ones deployed HIS code reads by position (1301: 93, 1302: 29, 1305: 16,
1306: 71).
MedSettle fills those its catalogue knows (code, name, dates, validity, restriction, class,
record number, version) and leaves the others empty.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from datetime import date

from medsettle.core.catalogue import CatalogueEntry, Restriction
from medsettle.services.catalogue_downloads import VersionedEntry, version_text

DRUG_COLUMNS: tuple[str, ...] = tuple("""
med_list_codg drug_prodname genname_codg drug_genname chemname alis eng_name reg_name drugstdcode
drug_dosform drug_dosform_name drug_type drug_type_name drug_spec drug_spec_code reg_dosform
reg_spec reg_spec_code each_dos used_frqu acdbas nat_drug_no used_mtd tcmpat_flag prodplac_type
prodplac_type_name prcunt_type otc_flag otc_flag_name pacmatl pacmatl_name pacspec pac_cnt
efcc_atd rute manl begndate enddate min_useunt min_salunt min_unt min_pac_cnt min_pacunt
min_prepunt minpacunt_name min_prepunt_name convrat drug_expy min_prcunt wubi pinyin subpck_fcty
prodentp_code prodentp_name sp_lmtpric_drug_flag sp_drug_flag lmt_usescp lmt_used_flag
drug_regno drug_regcert_begndate drug_regcert_enddate aprvno aprvno_begndate aprvno_enddate
mkt_stas mkt_stas_name drug_reg_appvletr_elecacs splm_appy_appvletr_file nat_hi_druglist_memo
bas_medn_flag_name bas_medn_flag advaltax_adjm_drug_flag advaltax_adjm_drug_name
lstd_druglist_drug hi_nego_drug_flag hi_nego_drug_name nhc_drug_codg memo vali_flag rid
crte_time updt_time ver ver_name chld_medc co_name conseval_drug dstr dstr_coner
dstr_auth_file_elecacs nat_hi_druglist_dosform nat_hi_druglist_chrgitm_lv lstd_lic_holder
""".split())

HERB_COLUMNS: tuple[str, ...] = tuple("""
med_list_codg tcmherb_name cpnd_flag qlt_lv tcmherb_year med_part safe_dos cnvl_used natfla
mertpm cat begndate enddate vali_flag rid crte_time updt_time ver ver_name mlms_name efcc_atd
psdg_mtd ecy_type mlms_cat_souc nat_hi_pay_pol prov_hi_pay_pol stdd_name stdd_page
stdd_elec_file
""".split())

SERVICE_COLUMNS: tuple[str, ...] = tuple("""
med_list_codg prcunt prcunt_name trt_item_dscr trt_exct_cont trt_item_cont vali_flag memo
servitem_type servitem_name item_dscr begndate enddate rid ver ver_name
""".split())

MATERIAL_COLUMNS: tuple[str, ...] = tuple("""
med_list_codg mcs_name udi hi_genname_code hi_genname prod_mol spec_code spec mcs_type spec_mol
matl_code mcs_matl pacspec pac_cnt prod_pacmatl pacunt prod_convrat min_useunt prodplac_type
prodplac_type_name prodstrd prodexpy perf_stru_comp apb_scp prod_istr prod_img_no prod_qlt_std
manl oth_cert_matl sped_flag sped_name comb_name case_flag lmt_used_flag hi_lmt_scp min_salunt
highval_mcs_flag matl_type_code impt_matl_hmorgn_flag stlz_flag stlz_flag_name
impt_itvt_clss_flag impt_itvt_clss_name dspo_used_flag dspo_used_flag_name reger_name begndate
enddate med_equ_mgt_type med_equ_mgt_type_name reg_fil_no reg_fil_prod_name stru_comp oth_cont
aprv_date reger_addr regcert_expy_begntime regcert_expy_endtime prodentp_code prodentp_name
manu_addr agnt_entp agnt_entp_addr manu_nat_regn aftsal_serins reg_fil_elec_file prod_img
vali_flag rid ver ver_name
""".split())

#: infno → (list, columns, the column that carries the entry's name).
CATALOGUES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "1301": ("drugs", DRUG_COLUMNS, ("drug_prodname", "drug_genname", "reg_name")),
    "1302": ("herbs", HERB_COLUMNS, ("tcmherb_name",)),
    "1305": ("services", SERVICE_COLUMNS, ("servitem_name",)),
    "1306": ("materials", MATERIAL_COLUMNS, ("mcs_name", "hi_genname")),
}
_LIMIT_FIELDS = {"1301": "lmt_usescp", "1302": "prov_hi_pay_pol", "1305": "trt_exct_cont",
                 "1306": "hi_lmt_scp"}
_VISIT_NAMES = {"outpatient": "门诊", "inpatient": "住院", "chronic": "门诊慢特病"}
_SEX_NAMES = {"1": "男", "2": "女"}


def restriction_text(restriction: Restriction | None) -> str:
    """限定支付 in words, as the HIS shows it to the doctor; "" for none."""
    if restriction is None:
        return ""
    parts = []
    if restriction.visit_types is not None:
        names = "、".join(_VISIT_NAMES.get(v, v) for v in sorted(restriction.visit_types))
        parts.append(f"限{names}")
    if restriction.min_level is not None:
        parts.append(f"限{restriction.min_level}及以上医疗机构")
    if restriction.sex is not None:
        parts.append(f"限{_SEX_NAMES.get(restriction.sex, restriction.sex)}性")
    if restriction.min_age is not None:
        parts.append(f"限{restriction.min_age}岁及以上")
    if restriction.max_age is not None:
        parts.append(f"限{restriction.max_age}岁及以下")
    return "；".join(parts)


def _clean(text: str) -> str:
    """A value without the tabs and line breaks that would break the file's layout."""
    return " ".join(text.split())


def row_values(infno: str, item: VersionedEntry, region: str, today: date) -> dict[str, str]:
    """The columns MedSettle knows of one entry in catalogue `infno`, by national name."""
    _, _, name_columns = CATALOGUES[infno]
    entry: CatalogueEntry = item.entry
    version = version_text(item.version)
    values = {
        "med_list_codg": entry.code, "begndate": entry.valid_from.isoformat(),
        "enddate": "" if entry.valid_until is None else entry.valid_until.isoformat(),
        "vali_flag": "1" if entry.valid_on(today) else "0",
        "rid": f"{region}{item.version:014d}", "ver": version,
        "ver_name": f"{region}就医地目录 {version}",
        "lmt_used_flag": "1" if entry.restriction is not None else "0",
        _LIMIT_FIELDS[infno]: restriction_text(entry.restriction),
    }
    values.update({column: entry.name for column in name_columns})
    if infno == "1301":
        values["tcmpat_flag"] = "1" if entry.med_chrgitm_type == "11" else "0"
        values["nat_hi_druglist_chrgitm_lv"] = entry.chrgitm_lv
    return {k: _clean(v) for k, v in values.items()}


def text_lines(columns: Sequence[str], rows: Sequence[Mapping[str, str]]) -> str:
    """Rows as tab-separated lines in the order of `columns`, missing values empty."""
    return "".join("\t".join(row.get(c, "") for c in columns) + "\n" for row in rows)


def zipped(name: str, text: str) -> bytes:
    """One text file, UTF-8, in a zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text.encode("utf-8"))
    return buffer.getvalue()


def catalogue_file(infno: str, items: Sequence[VersionedEntry], region: str, today: date,
                   stem: str) -> bytes:
    """The zip a HIS downloads after `infno`: `stem`.txt with one line per entry."""
    _, columns, _ = CATALOGUES[infno]
    rows = [row_values(infno, item, region, today) for item in items]
    return zipped(f"{stem}.txt", text_lines(columns, rows))
