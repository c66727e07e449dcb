"""Inputs of sign-in and sign-out, person info and the visit lifecycle: 9001, 9002, 1101,
2201–2203, 2401–2405."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime

from medsettle.adapters.his.inputs_common import (
    Diagnosis,
    certificate,
    credential,
    diagnoses,
    disease_code,
    med_type,
    validate_id,
    validate_insutype,
)
from medsettle.adapters.his.reader import Node
from medsettle.core.codes import PSN_TYPES, VisitType, validate_admdvs, validate_disease_code
from medsettle.core.errors import InvalidInput

_MAC = re.compile(r"[0-9A-Fa-f]{2}(?:[-:]?[0-9A-Fa-f]{2}){5}", re.ASCII)
_OUTPATIENT: frozenset[VisitType] = frozenset({"outpatient", "chronic"})
_INPATIENT: frozenset[VisitType] = frozenset({"inpatient"})


@dataclass(frozen=True, slots=True)
class SignIn:
    """9001 sign-in of an operator's terminal."""

    opter_no: str
    mac: str
    ip: str


def parse_sign_in(input: dict[str, object]) -> SignIn:
    """9001 `{"signIn": {opter_no, mac, ip}}`."""
    node = Node(input, "input").child("signIn")
    mac = node.text("mac", maxlen=20)
    if _MAC.fullmatch(mac) is None:
        raise InvalidInput(node.at("mac"), f"expected a MAC address, got {mac!r}")
    ip = node.text("ip", maxlen=20)
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise InvalidInput(node.at("ip"), f"expected an IP address, got {ip!r}") from None
    return SignIn(opter_no=node.text("opter_no", maxlen=20), mac=mac, ip=ip)


@dataclass(frozen=True, slots=True)
class SignOut:
    """9002 sign-out (签退) of the sign-in `sign_no`."""

    sign_no: str
    opter_no: str


def parse_sign_out(input: dict[str, object]) -> SignOut:
    """9002 `{"signOut": {sign_no, opter_no}}`."""
    node = Node(input, "input").child("signOut")
    return SignOut(sign_no=node.text("sign_no", maxlen=30),
                   opter_no=node.text("opter_no", maxlen=20))


@dataclass(frozen=True, slots=True)
class PersonQuery:
    """1101 person info, looked up by the credential shown."""

    mdtrt_cert_type: str
    mdtrt_cert_no: str
    card_sn: str | None
    begntime: datetime | None
    psn_cert_type: str | None
    certno: str | None
    psn_name: str | None


def parse_person_query(input: dict[str, object]) -> PersonQuery:
    """1101 `{"data": {mdtrt_cert_type, mdtrt_cert_no, card_sn, ...}}`."""
    node = Node(input, "input").child("data")
    cred = credential(node, card_sn_required=True)
    psn_cert_type, certno = certificate(node)
    return PersonQuery(
        mdtrt_cert_type=cred.cert_type, mdtrt_cert_no=cred.cert_no, card_sn=cred.card_sn,
        begntime=node.opt_moment("begntime"), psn_cert_type=psn_cert_type, certno=certno,
        psn_name=node.opt_text("psn_name", maxlen=50),
    )


@dataclass(frozen=True, slots=True)
class Register:
    """2201 outpatient registration (挂号); the platform answers with its `mdtrt_id`."""

    psn_no: str
    insutype: str
    begntime: datetime
    mdtrt_cert_type: str
    mdtrt_cert_no: str
    card_sn: str | None
    psn_cert_type: str | None
    certno: str | None
    psn_type: str | None
    psn_name: str | None
    ipt_otp_no: str
    med_type: str
    visit_type: VisitType
    atddr_no: str
    dr_name: str
    dept_code: str
    dept_name: str
    caty: str
    dise_codg: str | None
    dise_name: str | None
    emergency: bool


def parse_register(input: dict[str, object]) -> Register:
    """2201 `{"data": {...}}`; med_type must be outpatient (11/12/13) or chronic (14xx)."""
    node = Node(input, "input").child("data")
    cred = credential(node, card_sn_required=False)
    psn_cert_type, certno = certificate(node)
    code, visit = med_type(node, "med_type", _OUTPATIENT)
    return Register(
        psn_no=node.code("psn_no", validate_id), insutype=node.code("insutype", validate_insutype),
        begntime=node.moment("begntime"), mdtrt_cert_type=cred.cert_type,
        mdtrt_cert_no=cred.cert_no, card_sn=cred.card_sn, psn_cert_type=psn_cert_type,
        certno=certno, psn_type=node.opt_choice("psn_type", PSN_TYPES),
        psn_name=node.opt_text("psn_name", maxlen=50),
        ipt_otp_no=node.code("ipt_otp_no", validate_id), med_type=code, visit_type=visit,
        atddr_no=node.text("atddr_no", maxlen=30), dr_name=node.text("dr_name", maxlen=50),
        dept_code=node.text("dept_code", maxlen=30), dept_name=node.text("dept_name", maxlen=100),
        caty=node.text("caty", maxlen=10), dise_codg=disease_code(node, "dise_codg", visit),
        dise_name=node.opt_text("dise_name", maxlen=300), emergency=code == "13",
    )


@dataclass(frozen=True, slots=True)
class CancelRegister:
    """2202 cancel an outpatient registration."""

    psn_no: str
    mdtrt_id: str
    ipt_otp_no: str


def parse_cancel_register(input: dict[str, object]) -> CancelRegister:
    """2202 `{"data": {psn_no, mdtrt_id, ipt_otp_no}}`."""
    node = Node(input, "input").child("data")
    return CancelRegister(psn_no=node.code("psn_no", validate_id),
                          mdtrt_id=node.code("mdtrt_id", validate_id),
                          ipt_otp_no=node.code("ipt_otp_no", validate_id))


@dataclass(frozen=True, slots=True)
class VisitInfo:
    """2203 outpatient visit information: the visit's disease and diagnoses."""

    mdtrt_id: str
    psn_no: str
    med_type: str
    visit_type: VisitType
    begntime: datetime
    main_cond_dscr: str | None
    dise_codg: str | None
    dise_name: str | None
    diagnoses: tuple[Diagnosis, ...]


def parse_visit_info(input: dict[str, object]) -> VisitInfo:
    """2203 `{"mdtrtinfo": {...}, "diseinfo": [...]}`."""
    root = Node(input, "input")
    node = root.child("mdtrtinfo")
    code, visit = med_type(node, "med_type", _OUTPATIENT)
    return VisitInfo(
        mdtrt_id=node.code("mdtrt_id", validate_id), psn_no=node.code("psn_no", validate_id),
        med_type=code, visit_type=visit, begntime=node.moment("begntime"),
        main_cond_dscr=node.opt_text("main_cond_dscr", maxlen=1000),
        dise_codg=disease_code(node, "dise_codg", visit),
        dise_name=node.opt_text("dise_name", maxlen=300), diagnoses=diagnoses(root),
    )


@dataclass(frozen=True, slots=True)
class Agent:
    """2401 `agnterinfo`: the person acting for the patient."""

    agnter_name: str | None
    agnter_rlts: str | None
    agnter_cert_type: str | None
    agnter_certno: str | None
    agnter_tel: str | None


def _agent(node: Node | None) -> Agent | None:
    if node is None:
        return None
    return Agent(*(node.opt_text(key, maxlen=50) for key in (
        "agnter_name", "agnter_rlts", "agnter_cert_type", "agnter_certno", "agnter_tel")))


@dataclass(frozen=True, slots=True)
class Admission:
    """2401 inpatient admission (入院登记)."""

    psn_no: str
    insutype: str
    begntime: datetime
    mdtrt_cert_type: str
    mdtrt_cert_no: str
    card_sn: str | None
    psn_cert_type: str | None
    certno: str | None
    med_type: str
    ipt_no: str
    atddr_no: str
    chfpdr_name: str
    adm_dept_codg: str
    adm_dept_name: str
    adm_diag_dscr: str | None
    dise_codg: str | None
    dise_name: str | None
    insuplc_admdvs: str | None
    coner_name: str | None
    tel: str | None
    emergency: bool
    diagnoses: tuple[Diagnosis, ...]
    agent: Agent | None


def parse_admission(input: dict[str, object]) -> Admission:
    """2401 `{"mdtrtinfo": {...}, "diseinfo": [...], "agnterinfo": {...}}`; med_type 21 or 28."""
    root = Node(input, "input")
    node = root.child("mdtrtinfo")
    cred = credential(node, card_sn_required=False)
    psn_cert_type, certno = certificate(node)
    code, _ = med_type(node, "med_type", _INPATIENT)
    return Admission(
        psn_no=node.code("psn_no", validate_id), insutype=node.code("insutype", validate_insutype),
        begntime=node.moment("begntime"), mdtrt_cert_type=cred.cert_type,
        mdtrt_cert_no=cred.cert_no, card_sn=cred.card_sn, psn_cert_type=psn_cert_type,
        certno=certno, med_type=code, ipt_no=node.code("ipt_no", validate_id),
        atddr_no=node.text("atddr_no", maxlen=30),
        chfpdr_name=node.text("chfpdr_name", maxlen=50),
        adm_dept_codg=node.text("adm_dept_codg", maxlen=30),
        adm_dept_name=node.text("adm_dept_name", maxlen=100),
        adm_diag_dscr=node.opt_text("adm_diag_dscr", maxlen=1000),
        dise_codg=node.opt_code(("dise_codg", "dise_code"), validate_disease_code),
        dise_name=node.opt_text("dise_name", maxlen=300),
        insuplc_admdvs=node.opt_code("insuplc_admdvs", validate_admdvs),
        coner_name=node.opt_text("coner_name", maxlen=50), tel=node.opt_text("tel", maxlen=50),
        emergency=node.opt_flag("emergency_flag") is True,
        diagnoses=diagnoses(root), agent=_agent(root.opt_child("agnterinfo")),
    )


@dataclass(frozen=True, slots=True)
class Discharge:
    """2402 discharge (出院办理)."""

    mdtrt_id: str
    psn_no: str
    insutype: str | None
    endtime: datetime
    dise_codg: str | None
    dise_name: str | None
    dscg_way: str
    dscg_dept_code: str
    dscg_dept_name: str
    diagnoses: tuple[Diagnosis, ...]


def parse_discharge(input: dict[str, object]) -> Discharge:
    """2402 `{"dscginfo"|"mdtrtinfo": {...}, "diseinfo": [...]}`; both node names are accepted."""
    root = Node(input, "input")
    node = root.child(("dscginfo", "mdtrtinfo"))
    return Discharge(
        mdtrt_id=node.code("mdtrt_id", validate_id), psn_no=node.code("psn_no", validate_id),
        insutype=node.opt_code("insutype", validate_insutype), endtime=node.moment("endtime"),
        dise_codg=node.opt_code(("dise_codg", "dise_code"), validate_disease_code),
        dise_name=node.opt_text("dise_name", maxlen=300),
        dscg_way=node.text("dscg_way", maxlen=3),
        dscg_dept_code=node.text(("dscg_dept_code", "dscg_dept_codg"), maxlen=30),
        dscg_dept_name=node.text("dscg_dept_name", maxlen=100), diagnoses=diagnoses(root),
    )


@dataclass(frozen=True, slots=True)
class AdmissionChange:
    """2403 change of an admission's registered information."""

    mdtrt_id: str
    psn_no: str
    begntime: datetime | None
    med_type: str | None
    adm_dept_codg: str | None
    adm_dept_name: str | None
    dise_codg: str | None


def parse_admission_change(input: dict[str, object]) -> AdmissionChange:
    """2403 `{"adminfo": {mdtrt_id, psn_no, begntime?, med_type?, ...}}`."""
    node = Node(input, "input").child("adminfo")
    code = None
    if node.opt_text("med_type", maxlen=6) is not None:
        code, _ = med_type(node, "med_type", _INPATIENT)
    return AdmissionChange(
        mdtrt_id=node.code("mdtrt_id", validate_id), psn_no=node.code("psn_no", validate_id),
        begntime=node.opt_moment("begntime"), med_type=code,
        adm_dept_codg=node.opt_text("adm_dept_codg", maxlen=30),
        adm_dept_name=node.opt_text("adm_dept_name", maxlen=100),
        dise_codg=node.opt_code(("dise_codg", "dise_code"), validate_disease_code),
    )


@dataclass(frozen=True, slots=True)
class VisitRef:
    """2404 cancel admission and 2405 cancel discharge: the visit and its person."""

    mdtrt_id: str
    psn_no: str


def parse_visit_ref(input: dict[str, object]) -> VisitRef:
    """2404 and 2405 `{"data": {mdtrt_id, psn_no}}`."""
    node = Node(input, "input").child("data")
    return VisitRef(mdtrt_id=node.code("mdtrt_id", validate_id),
                    psn_no=node.code("psn_no", validate_id))
