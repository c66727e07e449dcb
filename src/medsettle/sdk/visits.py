"""Sign-in and sign-out, person information and the visit's life: 9001, 9002, 1101, 2201–2203,
2401–2405."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints, model_validator

from medsettle.sdk.base import Request
from medsettle.sdk.types import Admdvs, Answer, Id, Message, OptText, WireDate, WireTime, Yuan

Text20 = Annotated[str, StringConstraints(min_length=1, max_length=20)]
Text30 = Annotated[str, StringConstraints(min_length=1, max_length=30)]
Text50 = Annotated[str, StringConstraints(min_length=1, max_length=50)]
Text100 = Annotated[str, StringConstraints(min_length=1, max_length=100)]
#: mdtrt_cert_type: 01 e-voucher, 02 ID card number, 03 social security card.
CertType = Annotated[str, StringConstraints(pattern=r"^0[123]$")]
#: insutype: 310 employee basic, 390 urban-rural resident basic.
Insutype = Annotated[str, StringConstraints(pattern=r"^(310|390)$")]
MedType = Annotated[str, StringConstraints(pattern=r"^\d{2,6}$")]


# 9001 sign-in ------------------------------------------------------------------------------

class SignIn(Message):
    """`signIn`: the operator and terminal signing in."""

    opter_no: Text20
    mac: Text20
    ip: Text20


class SignedIn(Message):
    """`signinoutb`: the sign-in number to send in every later envelope."""

    sign_time: WireTime
    sign_no: Text30


class SignInAnswer(Answer):
    """9001 output."""

    signinoutb: SignedIn


class SignInRequest(Request[SignInAnswer]):
    """9001 sign-in (签到)."""

    INFNO = "9001"
    READ_ONLY = True
    PERSON: ClassVar[bool] = False
    signIn: SignIn


# 9002 sign-out -----------------------------------------------------------------------------

class SignOut(Message):
    """`signOut`: the sign-in to end, and the operator ending it."""

    sign_no: Text30
    opter_no: Text20


class SignedOut(Message):
    """`signoutoutb`: when the sign-in ended (a repeated sign-out answers the first time)."""

    sign_time: WireTime


class SignOutAnswer(Answer):
    """9002 output."""

    signoutoutb: SignedOut


class SignOutRequest(Request[SignOutAnswer]):
    """9002 sign-out (签退): the sign_no is refused in later messages."""

    INFNO = "9002"
    READ_ONLY = True
    PERSON: ClassVar[bool] = False
    signOut: SignOut


# 1101 person information ------------------------------------------------------------------

class PersonQuery(Message):
    """1101 `data`: the credential shown."""

    mdtrt_cert_type: CertType
    mdtrt_cert_no: Text50
    card_sn: OptText = ""
    begntime: OptText = ""
    psn_cert_type: OptText = ""
    certno: OptText = ""
    psn_name: OptText = ""


class BaseInfo(Answer):
    """1101 `baseinfo`: who the person is."""

    psn_no: Id
    psn_cert_type: str = ""
    certno: str = ""
    psn_name: str = ""
    gend: str = ""
    naty: str = ""
    brdy: WireDate | None = None
    age: float | None = None


class InsuInfo(Answer):
    """1101 `insuinfo[]`: one insurance of the person; `insuplc_admdvs` routes later messages."""

    balc: Yuan | None = None
    insutype: Insutype
    psn_type: str
    psn_insu_stas: str = ""
    cvlserv_flag: str = ""
    insuplc_admdvs: Admdvs
    emp_name: str | None = ""


class IdetInfo(Answer):
    """1101 `idetinfo[]`: a special identity (e.g. medical assistance)."""

    psn_idet_type: str = ""


class PersonAnswer(Answer):
    """1101 output."""

    baseinfo: BaseInfo
    insuinfo: list[InsuInfo] = Field(min_length=1)
    idetinfo: list[IdetInfo] = []


class PersonInfoRequest(Request[PersonAnswer]):
    """1101 person information (人员信息获取)."""

    INFNO = "1101"
    READ_ONLY = True
    PERSON: ClassVar[bool] = False
    data: PersonQuery


# 2201/2401 open a visit -------------------------------------------------------------------

class Registration(Message):
    """2201 `data`: an outpatient registration."""

    psn_no: Id
    insutype: Insutype
    begntime: WireTime
    mdtrt_cert_type: CertType
    mdtrt_cert_no: Text50
    card_sn: OptText = ""
    ipt_otp_no: Id
    atddr_no: Text30
    dr_name: Text50
    dept_code: Text30
    dept_name: Text100
    caty: Annotated[str, StringConstraints(min_length=1, max_length=10)]
    med_type: MedType = "11"
    dise_codg: OptText = ""
    dise_name: OptText = ""


class VisitOpened(Message):
    """The visit id the platform gave (`mdtrt_id`), used by every later message of the visit."""

    mdtrt_id: Id
    psn_no: Id
    ipt_otp_no: OptText = ""


class VisitOpenedAnswer(Answer):
    """2201 and 2401 output."""

    data: VisitOpened


class RegisterRequest(Request[VisitOpenedAnswer]):
    """2201 outpatient registration (门诊挂号)."""

    INFNO = "2201"
    REVERSIBLE = True
    data: Registration


class Diagnosis(Message):
    """`diseinfo[]`: one diagnosis."""

    diag_type: Text20
    diag_srt_no: Text20
    diag_code: Text30
    diag_name: Text100
    diag_dept: OptText = ""
    dise_dor_no: OptText = ""
    dise_dor_name: OptText = ""
    diag_time: WireTime | None = None
    vali_flag: OptText = "1"


class Admission(Message):
    """2401 `mdtrtinfo`: an admission."""

    psn_no: Id
    insutype: Insutype
    begntime: WireTime
    mdtrt_cert_type: CertType
    mdtrt_cert_no: Text50
    card_sn: OptText = ""
    med_type: MedType = "21"
    ipt_no: Id
    atddr_no: Text30
    chfpdr_name: Text50
    adm_diag_dscr: OptText = ""
    adm_dept_codg: Text30
    adm_dept_name: Text100
    adm_bed: OptText = ""
    dscg_maindiag_code: OptText = ""
    dscg_maindiag_name: OptText = ""
    dise_codg: OptText = ""
    dise_name: OptText = ""
    insuplc_admdvs: OptText = ""
    certno: OptText = ""


class AdmissionRequest(Request[VisitOpenedAnswer]):
    """2401 admission (入院办理)."""

    INFNO = "2401"
    REVERSIBLE = True
    mdtrtinfo: Admission
    diseinfo: list[Diagnosis] = []
    agnterinfo: dict[str, str] = {}


# 2202/2404/2405 cancel, 2203 visit info, 2402 discharge, 2403 change ------------------------

class VisitRef(Message):
    """`data` of 2404 and 2405: the visit."""

    mdtrt_id: Id
    psn_no: Id


class CancelRegistration(VisitRef):
    """2202 `data`."""

    ipt_otp_no: Id


class VisitAnswer(Answer):
    """The small answers of 2202, 2203 and 2402–2405: the visit, and what happened."""

    mdtrt_id: Id
    cancelled: bool | None = None
    changed: list[str] | None = None


class CancelRegisterRequest(Request[VisitAnswer]):
    """2202 cancel a registration (门诊挂号撤销)."""

    INFNO = "2202"
    REVERSIBLE = True
    data: CancelRegistration


class VisitInfo(Message):
    """2203 `mdtrtinfo`: the visit's type and diagnosis."""

    mdtrt_id: Id
    psn_no: Id
    med_type: MedType
    begntime: WireTime
    main_cond_dscr: OptText = ""
    dise_codg: OptText = ""
    dise_name: OptText = ""


class VisitInfoRequest(Request[VisitAnswer]):
    """2203 visit information upload (门诊就诊信息上传)."""

    INFNO = "2203"
    mdtrtinfo: VisitInfo
    diseinfo: list[Diagnosis] = []


class DischargeInfo(Message):
    """2402 `dscginfo`: the discharge (`dscg_dept_codg` is read as `dscg_dept_code`)."""

    @model_validator(mode="before")
    @classmethod
    def _spellings(cls, data: Any) -> Any:
        if isinstance(data, dict) and "dscg_dept_code" not in data and "dscg_dept_codg" in data:
            return {**data, "dscg_dept_code": data["dscg_dept_codg"]}
        return data

    mdtrt_id: Id
    psn_no: Id
    insutype: OptText = ""
    endtime: WireTime
    dise_codg: OptText = ""
    dise_name: OptText = ""
    dscg_way: Annotated[str, StringConstraints(min_length=1, max_length=3)]
    dscg_dept_code: Text30
    dscg_dept_name: Text100


class DischargeRequest(Request[VisitAnswer]):
    """2402 discharge (出院办理); the node `mdtrtinfo`, sent by some HIS, is read as `dscginfo`."""

    INFNO = "2402"
    REVERSIBLE = True
    dscginfo: DischargeInfo
    diseinfo: list[Diagnosis] = []

    @model_validator(mode="before")
    @classmethod
    def _node_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and "dscginfo" not in data and "mdtrtinfo" in data:
            return {**{k: v for k, v in data.items() if k != "mdtrtinfo"},
                    "dscginfo": data["mdtrtinfo"]}
        return data


class AdmissionChange(VisitRef):
    """2403 `adminfo`: what changes in an open stay."""

    begntime: WireTime | None = None
    adm_dept_codg: OptText = ""
    adm_dept_name: OptText = ""


class AdmissionChangeRequest(Request[VisitAnswer]):
    """2403 change admission information (入院信息变更)."""

    INFNO = "2403"
    adminfo: AdmissionChange


class CancelAdmissionRequest(Request[VisitAnswer]):
    """2404 cancel an admission (入院撤销)."""

    INFNO = "2404"
    REVERSIBLE = True
    data: VisitRef


class CancelDischargeRequest(Request[VisitAnswer]):
    """2405 cancel a discharge (出院撤销)."""

    INFNO = "2405"
    REVERSIBLE = True
    data: VisitRef

