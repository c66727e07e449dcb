"""Every transaction the HIS gateway answers, declared once: how its input is parsed, which use
case runs it (with the typed command built from the national input), how its result reads on
the wire, whether it only reads, and whether 2601 may name it.

A use case names a bad field in English (`total`, `lines[2].serial`); `national_field` gives the
hospital the path it sent (`input.data.medfee_sumamt`, `input.feedetail[2].feedetl_sn`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from medsettle.adapters.his import files as his_files
from medsettle.adapters.his import inputs as his_in
from medsettle.adapters.his import views
from medsettle.adapters.his import views_queries as vq
from medsettle.adapters.his.catalogue_files import CATALOGUES
from medsettle.adapters.his.envelope import Envelope
from medsettle.adapters.his.inputs_audit import Audit, parse_audit
from medsettle.adapters.his.reconcile import details, totals
from medsettle.adapters.his.views_audit import audit_result
from medsettle.core.calendar import business_date
from medsettle.core.errors import InvalidCode, InvalidInput
from medsettle.services import commands as c
from medsettle.services import exchange as x
from medsettle.services import treating as tr
from medsettle.services import treating_audit as ta
from medsettle.services import treating_queries as tq
from medsettle.services import treating_settle as ts
from medsettle.services.ports import Reply

#: A use case run from the envelope and the parsed input: (node, envelope, input, time, reply).
Run = Callable[[tr.Treating, Envelope, Any, datetime, Reply], Any]


@dataclass(frozen=True)
class Transaction:
    """One transaction code (infno) of the national interface, as this gateway answers it."""

    parse: Callable[[dict[str, Any]], Any]
    run: Run
    output: Callable[[Any, Envelope, Any, datetime], Any] = (
        lambda result, env, command, received: result)
    read_only: bool = False
    reversible: bool = False  # 2601 may name it
    inpatient: bool | None = None  # only for stays (True) or only for outpatient visits (False)
    fields: Mapping[str, str] = field(default_factory=dict)  # English field → national path


def origin(env: Envelope) -> c.Origin:
    """The sender of a message."""
    return c.Origin(env.fixmedins_code, env.msgid, env.insuplc_admdvs)


def ref(env: Envelope, visit_id: str, person_id: str, hospital_no: str | None = None
        ) -> c.VisitRef:
    """A visit named by a message (only a stay for 23xx/24xx, only a visit for 22xx)."""
    inpatient = TRANSACTIONS[env.infno].inpatient if env.infno in TRANSACTIONS else None
    return c.VisitRef(origin(env), visit_id, person_id, hospital_no, inpatient)


def _register(env: Envelope, i: Any) -> c.Register:
    return c.Register(origin(env), person_id=i.psn_no, insutype=i.insutype, begins=i.begntime,
                      med_type=i.med_type, visit_type=i.visit_type, hospital_no=i.ipt_otp_no,
                      cert_type=i.mdtrt_cert_type, cert_no=i.mdtrt_cert_no, card_sn=i.card_sn,
                      disease=i.dise_codg, emergency=i.emergency)


def _admit(env: Envelope, i: Any) -> c.Register:
    return c.Register(origin(env), person_id=i.psn_no, insutype=i.insutype, begins=i.begntime,
                      med_type=i.med_type, visit_type="inpatient", hospital_no=i.ipt_no,
                      cert_type=i.mdtrt_cert_type, cert_no=i.mdtrt_cert_no, card_sn=i.card_sn,
                      disease=i.dise_codg, emergency=i.emergency)


def _upload(env: Envelope, i: Any) -> c.UploadFees:
    return c.UploadFees(ref(env, i.mdtrt_id, i.psn_no), tuple(c.UploadedLine(
        serial=line.feedetl_sn, batch=line.chrg_bchno or "", code=line.med_list_codg,
        hospital_code=line.medins_list_codg, name=line.med_list_name or "", price=line.pric,
        count=line.cnt, occurred_at=line.fee_ocur_time) for line in i.lines))


def _settle(env: Envelope, i: Any, *, inpatient: bool, persist: bool) -> c.Settle:
    return c.Settle(ref(env, i.mdtrt_id, i.psn_no), total=i.medfee_sumamt, inpatient=inpatient,
                    persist=persist, use_account=i.acct_used, interim=bool(i.mid_setl),
                    cert_type=i.mdtrt_cert_type, invoice_no=i.invono or "")


def _insured_region(env: Envelope) -> str:
    if not env.insuplc_admdvs:
        raise InvalidInput("insuplc_admdvs", "required with psn_no: take it from 1101 insuinfo")
    return env.insuplc_admdvs


def _settle_transaction(*, inpatient: bool, persist: bool) -> Transaction:
    return Transaction(
        parse=his_in.parse_inpatient_settle if inpatient else his_in.parse_settle,
        run=lambda t, env, i, now, reply: ts.settle(
            t, _settle(env, i, inpatient=inpatient, persist=persist), now, reply),
        output=lambda view, env, i, received: views.settlement(view, env, i.mdtrt_cert_type),
        read_only=not persist, reversible=persist, inpatient=inpatient,
        fields={"total": "input.data.medfee_sumamt", "visit_id": "input.data.mdtrt_id"})


def _cancel_transaction(*, inpatient: bool) -> Transaction:
    return Transaction(
        parse=his_in.parse_cancel_settlement,
        run=lambda t, env, i, now, reply: ts.cancel(
            t, c.CancelSettlement(ref(env, i.mdtrt_id, i.psn_no), i.setl_id), now, reply),
        output=lambda view, env, i, received: views.settlement(view, env, ""),
        reversible=True, inpatient=inpatient)


def _fees_transaction(*, inpatient: bool) -> Transaction:
    return Transaction(
        parse=his_in.parse_inpatient_fee_upload if inpatient else his_in.parse_fee_upload,
        run=lambda t, env, i, now, reply: tr.upload_fees(t, _upload(env, i), reply),
        output=lambda results, env, i, received: views.fees(results),
        reversible=True, inpatient=inpatient)


def _cancel_fees_transaction(parse: Callable[[dict[str, Any]], Any]) -> Transaction:
    return Transaction(
        parse=parse, reversible=True, output=_small,
        run=lambda t, env, i, now, reply: tr.cancel_fees(t, c.CancelFees(
            ref(env, i.mdtrt_id, i.psn_no), batch=i.chrg_bchno, serial=i.feedetl_sn,
            everything=i.everything), reply))


def _small(result: dict[str, Any], env: Envelope, i: Any, received: datetime) -> Any:
    return vq.small(result)


def _settlements(env: Envelope, i: Any) -> c.SettlementsQuery:
    return c.SettlementsQuery(origin(env), i.psn_no, i.setl_id, i.mdtrt_id)


def _audit(t: tr.Treating, env: Envelope, i: Audit, now: datetime) -> list[ta.Finding]:
    visits = [ta.AuditVisit(ref(env, p.mdtrt_id, p.patn_id), tuple(
        ta.Order(o.rx_id, o.hilist_code, o.hilist_name, o.cnt, o.pric) for o in p.orders))
        for p in i.patients]
    return ta.audit(t, visits, i.rule_ids, now)


def _audit_transaction() -> Transaction:
    """3101 事前 (before the orders are billed) and 3103 事中 (before settlement)."""
    return Transaction(
        parse=parse_audit, read_only=True,
        run=lambda t, env, i, now, reply: _audit(t, env, i, now),
        output=lambda found, env, i, received: audit_result(
            found, i.task_id, frozenset(o.rx_id for p in i.patients for o in p.orders)),
        fields={"person_id": "input.data.patient_dtos[].patn_id",
                "visit_id": "input.data.patient_dtos[].curr_mdtrt_id"})


def _reversible(reversal: Any) -> Any:
    if reversal.oinfno not in REVERSIBLE:
        raise InvalidCode("input.data.oinfno", f"{reversal.oinfno!r} is not a reversible "
                                               "transaction")
    return reversal


def _reconcile(run: Callable[..., dict[str, Any]]) -> Run:
    """3201/3202 keep their report (and result file) with their answer, in one transaction."""
    def wrapped(t: tr.Treating, env: Envelope, i: Any, now: datetime, reply: Reply) -> Any:
        _unanswered(t, reply)
        return run(t, env, i, now, reply)
    return wrapped


def _ask(t: tr.Treating, reply: Reply, region: str, op: str, msgid: str, request: object
         ) -> Any:
    """A transaction the insured place answers alone (2501/2502): once, for a new message."""
    _unanswered(t, reply)
    return t.insured.call(region, op, msgid, request)


def _unanswered(t: tr.Treating, reply: Reply) -> None:
    """A message that is not answered yet (before asking another node, or writing a report)."""
    with t.db.tx() as tx:
        reply.check(tx)


TRANSACTIONS: dict[str, Transaction] = {
    "9001": Transaction(
        parse=his_in.parse_sign_in, read_only=True,
        run=lambda t, env, i, now, reply: tr.sign_in(t, env.fixmedins_code, i.opter_no, now),
        output=lambda signed, env, i, received: {"signinoutb": {
            "sign_time": views.wire_time(signed[1]), "sign_no": signed[0]}}),
    "9002": Transaction(
        parse=his_in.parse_sign_out, read_only=True,
        run=lambda t, env, i, now, reply: tr.sign_out(t, env.fixmedins_code, i.sign_no, now),
        output=lambda signed_out, env, i, received: {"signoutoutb": {
            "sign_time": views.wire_time(signed_out)}}),
    "1101": Transaction(
        parse=his_in.parse_person_query, read_only=True,
        run=lambda t, env, i, now, reply: tr.person_info(t, c.LookUpPerson(
            i.mdtrt_cert_type, i.mdtrt_cert_no, i.card_sn, env.insuplc_admdvs, i.certno)),
        output=lambda found, env, i, received: views.person_found(found,
                                                                   business_date(received))),
    "2201": Transaction(
        parse=his_in.parse_register, reversible=True,
        run=lambda t, env, i, now, reply: tr.open_visit(t, _register(env, i), inpatient=False,
                                                        reply=reply),
        output=lambda visit, env, i, received: views.visit_opened(visit)),
    "2401": Transaction(
        parse=his_in.parse_admission, reversible=True,
        run=lambda t, env, i, now, reply: tr.open_visit(t, _admit(env, i), inpatient=True,
                                                        reply=reply),
        output=lambda visit, env, i, received: views.visit_opened(visit)),
    "2202": Transaction(
        parse=his_in.parse_cancel_register, reversible=True, inpatient=False, output=_small,
        run=lambda t, env, i, now, reply: tr.cancel_visit(
            t, ref(env, i.mdtrt_id, i.psn_no, i.ipt_otp_no), reply),
        fields={"hospital_no": "input.data.ipt_otp_no"}),
    "2404": Transaction(
        parse=his_in.parse_visit_ref, reversible=True, inpatient=True, output=_small,
        run=lambda t, env, i, now, reply: tr.cancel_visit(t, ref(env, i.mdtrt_id, i.psn_no),
                                                          reply)),
    "2203": Transaction(
        parse=his_in.parse_visit_info, output=_small,
        run=lambda t, env, i, now, reply: tr.update_visit(t, c.UpdateVisit(
            ref(env, i.mdtrt_id, i.psn_no), i.med_type, i.visit_type, i.dise_codg), reply),
        fields={"med_type": "input.mdtrtinfo.med_type", "disease": "input.mdtrtinfo.dise_codg"}),
    "2402": Transaction(
        parse=his_in.parse_discharge, reversible=True, output=_small,
        run=lambda t, env, i, now, reply: tr.discharge(t, c.Discharge(
            ref(env, i.mdtrt_id, i.psn_no), i.endtime), reply),
        fields={"ends": "input.dscginfo.endtime"}),
    "2403": Transaction(
        parse=his_in.parse_admission_change, output=_small,
        run=lambda t, env, i, now, reply: tr.change_admission(t, c.ChangeAdmission(
            ref(env, i.mdtrt_id, i.psn_no), i.begntime, i.med_type), reply),
        fields={"med_type": "input.adminfo.med_type", "begins": "input.adminfo.begntime"}),
    "2405": Transaction(
        parse=his_in.parse_visit_ref, reversible=True, output=_small,
        run=lambda t, env, i, now, reply: tr.cancel_discharge(
            t, ref(env, i.mdtrt_id, i.psn_no), reply)),
    "2204": _fees_transaction(inpatient=False),
    "2301": _fees_transaction(inpatient=True),
    "2205": _cancel_fees_transaction(his_in.parse_cancel_fee_batch),
    "2302": _cancel_fees_transaction(his_in.parse_cancel_fee_lines),
    "2206": _settle_transaction(inpatient=False, persist=False),
    "2207": _settle_transaction(inpatient=False, persist=True),
    "2303": _settle_transaction(inpatient=True, persist=False),
    "2304": _settle_transaction(inpatient=True, persist=True),
    "2208": _cancel_transaction(inpatient=False),
    "2305": _cancel_transaction(inpatient=True),
    "2601": Transaction(
        parse=lambda i: _reversible(his_in.parse_reversal(i)), output=_small,
        run=lambda t, env, i, now, reply: ts.reverse(t, c.Reversal(
            origin(env), i.psn_no, i.omsgid, i.oinfno), now, reply),
        fields={"original_infno": "input.data.oinfno"}),
    "2501": Transaction(
        parse=his_in.parse_referral, reversible=True,
        run=lambda t, env, i, now, reply: _ask(
            t, reply, _insured_region(env), "file_referral", env.msgid,
            x.FileReferral(i.psn_no, i.mdtrtarea_admdvs, i.begndate, env.fixmedins_code)),
        output=lambda filed, env, i, received: {"trt_dcla_detl_sn": filed.filing_no}),
    "2502": Transaction(
        parse=his_in.parse_revoke_referral, reversible=True,
        run=lambda t, env, i, now, reply: _ask(
            t, reply, _insured_region(env), "revoke_filing", env.msgid,
            x.RevokeReferral(i.psn_no, i.trt_dcla_detl_sn, env.fixmedins_code)),
        output=lambda done, env, i, received: {
            "trt_dcla_detl_sn": done.filing_no,
            "memo": "已撤销备案" if done.revoked else "备案已不在有效期，无需撤销"}),
    "3101": _audit_transaction(),
    "3103": _audit_transaction(),
    "3201": Transaction(parse=his_in.parse_reconcile_totals, run=_reconcile(totals)),
    "3202": Transaction(parse=his_in.parse_reconcile_details, run=_reconcile(details),
                        fields={"file_no": "input.data.file_qury_no"}),
    "9101": Transaction(parse=his_files.parse_upload, run=his_files.upload,
                        fields={"content": "input.fsUploadIn.in"}),
    "9102": Transaction(parse=his_files.parse_download, run=his_files.download, read_only=True,
                        fields={"file_no": "input.fsDownloadIn.file_qury_no",
                                "file_name": "input.fsDownloadIn.filename"}),
    **{infno: Transaction(parse=his_files.parse_catalogue_query, run=his_files.catalogue(infno))
       for infno in CATALOGUES},
    "5201": Transaction(
        parse=his_in.parse_period_query, read_only=True,
        run=lambda t, env, i, now, reply: tq.visits_of(t, c.VisitsQuery(
            origin(env), i.psn_no, i.begntime, i.endtime)),
        output=lambda found, env, i, received: vq.visits(found)),
    "5203": Transaction(
        parse=his_in.parse_settlement_query, read_only=True,
        run=lambda t, env, i, now, reply: tq.settlement_of(t, _settlements(env, i)),
        output=lambda found, env, i, received: vq.settlement(found)),
    "5204": Transaction(
        parse=his_in.parse_settlement_query, read_only=True,
        run=lambda t, env, i, now, reply: tq.fee_lines_of(t, _settlements(env, i)),
        output=lambda found, env, i, received: vq.fee_lines(found)),
    "5205": Transaction(
        parse=his_in.parse_period_query, read_only=True,
        run=lambda t, env, i, now, reply: tq.visits_of(t, c.VisitsQuery(
            origin(env), i.psn_no, i.begntime, i.endtime, chronic_only=True)),
        output=lambda found, env, i, received: vq.visits(found)),
    "5206": Transaction(
        parse=his_in.parse_accumulation_query, read_only=True,
        run=lambda t, env, i, now, reply: tq.accumulations_of(
            t, origin(env), _insured_region(env), i.psn_no),
        output=lambda answer, env, i, received: vq.accumulations(answer)),
    "5261": Transaction(
        parse=his_in.parse_settlement_list_query, read_only=True,
        run=lambda t, env, i, now, reply: tq.settlements_of(t, c.SettlementsQuery(
            origin(env), i.psn_no, i.setl_id, i.mdtrt_id, i.begntime, i.endtime)),
        output=lambda found, env, i, received: vq.settlement_list(found)),
    "5262": Transaction(
        parse=his_in.parse_settlement_query, read_only=True,
        run=lambda t, env, i, now, reply: tq.settlement_of(t, _settlements(env, i),
                                                           with_lines=True),
        output=lambda found, env, i, received: vq.settlement_with_totals(found)),
}

#: The transactions 2601 may name.
REVERSIBLE: frozenset[str] = frozenset(k for k, v in TRANSACTIONS.items() if v.reversible)

#: A use case's English field names → the national paths, wherever no transaction says more.
FIELDS = {"insured_region": "insuplc_admdvs", "person_id": "psn_no", "cert_no": "mdtrt_cert_no",
          "cert_type": "mdtrt_cert_type", "disease": "dise_codg", "visit_id": "mdtrt_id",
          "hospital_no": "ipt_otp_no", "settlement_id": "setl_id"}
_LINE = re.compile(r"lines\[(\d+)\]\.serial")


def national_field(infno: str, name: str) -> str:
    """The national path of a use case's field name in transaction `infno`."""
    own = TRANSACTIONS[infno].fields if infno in TRANSACTIONS else {}
    if name in own:
        return own[name]
    line = _LINE.fullmatch(name)
    if line:
        return f"input.feedetail[{line.group(1)}].feedetl_sn"
    return FIELDS.get(name, name)
