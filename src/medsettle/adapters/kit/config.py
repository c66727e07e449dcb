"""What the scenarios need to know of the platform under test: the institution the kit plays, the
test persons and the catalogue codes. The defaults are the sandbox's (docs/sandbox.md); another
platform's test data is given as a JSON or YAML file (`medsettle conformance --config`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medsettle.adapters import sandbox_data as sd
from medsettle.adapters.files import read_document
from medsettle.core.errors import InvalidInput


class KitPerson(BaseModel):
    """A test person of the platform: credentials, where insured, and the expected psn_no."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    psn_no: str = ""  # expected from 1101 ("" = not checked)
    certno: str
    evoucher: str = ""
    card_no: str = ""
    card_sn: str = ""
    insuplc_admdvs: str
    insutype: str = "310"
    chronic: str = ""  # a chronic disease the person is certified for (for med_type 14)


class KitLine(BaseModel):
    """A fee line: national catalogue code, unit price in yuan, quantity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    price: str
    count: str = "1"


def _person(p: sd.SandboxPerson) -> KitPerson:
    return KitPerson(psn_no=p.psn_no, certno=p.certno, evoucher=p.evoucher, card_no=p.card_no,
                     card_sn=p.card_sn, insuplc_admdvs=p.insu_admdvs, insutype=p.insutype,
                     chronic=p.chronic[0] if p.chronic else "")


class KitConfig(BaseModel):
    """The test data of one platform."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fixmedins_code: str = sd.HOSPITAL
    fixmedins_name: str = sd.HOSPITAL_NAME
    mdtrtarea_admvs: str = "440304"
    #: another designated institution of the same area, for the cross-institution scenario
    other_fixmedins_code: str = sd.OTHER_HOSPITAL
    other_fixmedins_name: str = "深圳第二示例医院"
    outpatient: KitPerson = Field(default_factory=lambda: _person(sd.BY_KEY["wang"]))
    inpatient: KitPerson = Field(default_factory=lambda: _person(sd.BY_KEY["zhao"]))
    chronic: KitPerson = Field(default_factory=lambda: _person(sd.BY_KEY["zhang"]))
    outpatient_lines: list[KitLine] = Field(default_factory=lambda: [
        KitLine(code=sd.DRUG_A, price="80.00"), KitLine(code=sd.DRUG_B, price="52.00", count="3"),
        KitLine(code=sd.SERVICE_C, price="45.00")])
    inpatient_lines: list[KitLine] = Field(default_factory=lambda: [
        KitLine(code=sd.SERVICE_BED, price="100.00", count="3"),
        KitLine(code=sd.DRUG_A, price="80.00", count="2")])


def load_config(path: Path | None) -> KitConfig:
    """The sandbox's test data, or the file's; InvalidInput naming the field if it is wrong."""
    if path is None:
        return KitConfig()
    if not path.is_file():
        raise InvalidInput("--config", f"no such file: {path}")
    doc = read_document(path)
    try:
        return KitConfig.model_validate(doc)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise InvalidInput(f"--config {where}", error["msg"]) from None
