"""The HIS gateway: one national-interface envelope in, one answer out (interface.md).

It parses and validates the envelope and its input, enforces sign-in and msgid idempotency
(a retry gets the stored answer; the same msgid with another body is refused), dispatches to the
treating-place use cases and formats their results in the national field names. Every failure
is an `infcode -1` answer whose `err_msg` names the field, and changes nothing.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from medsettle.adapters.his import inputs as his_in
from medsettle.adapters.his import signing
from medsettle.adapters.his.envelope import (
    Envelope,
    check_infno,
    failure,
    parse_envelope,
    ref_msgid,
    success,
)
from medsettle.adapters.his.outputs import fee_result, setldetail, setlinfo, yuan
from medsettle.adapters.his.reconcile import RECONCILE_HANDLERS
from medsettle.adapters.observability import Metrics, mask
from medsettle.core.benefits import Amounts
from medsettle.core.errors import InvalidInput, MedSettleError, MsgidReused, PeerUnavailable
from medsettle.services import treating as tr
from medsettle.services import treating_settle as ts

logger = logging.getLogger(__name__)
READ_ONLY = {"1101", "2206", "2303", "5201", "5203", "5204", "5205", "5206", "9001"}
Handler = Callable[[tr.Treating, Envelope, Any, datetime], Any]
SETTLEMENT_KINDS = {"2207": "settle", "2304": "settle", "2208": "cancel", "2305": "cancel"}


class HisGateway:
    """The HIS endpoint of one province node."""

    def __init__(self, treating: tr.Treating, metrics: Metrics,
                 clock: Callable[[], datetime]) -> None:
        self.t = treating
        self.metrics = metrics
        self.clock = clock

    def handle(self, raw: bytes, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Answer one HIS message (its gateway signature headers, if any, are verified)."""
        received = self.clock()
        started = time.perf_counter()
        infno = "????"
        try:
            env = parse_envelope(raw)
            infno = env.infno
            signing.check(headers or {}, raw, env.fixmedins_code, self._api_key,
                          received.timestamp())
            answer = self._handle(env, received)
        except MedSettleError as exc:
            answer = self._failure(exc, received)
        except Exception:  # a bug must not crash the node nor leave the HIS without an answer
            logger.exception("message failed unexpectedly", extra={"infno": infno})
            self.metrics.errors.labels("internal").inc()
            answer = failure("internal error; nothing was settled for this message [internal]",
                             ref=self._ref(received), received=tr.business_time(received),
                           now=tr.business_time(self.clock()))
        outcome = "ok" if answer["infcode"] == 0 else "error"
        self.metrics.requests.labels(infno, outcome).inc()
        self.metrics.latency.labels(infno).observe(time.perf_counter() - started)
        return answer

    def _api_key(self, fixmedins_code: str) -> str | None:
        with self.t.db.tx() as tx:
            inst = tx.one("institutions", fixmedins_code=fixmedins_code)
        return None if inst is None else inst.api_key

    def _handle(self, env: Envelope, received: datetime) -> dict[str, Any]:
        check_infno(env)
        if env.mdtrtarea_admvs[:2] != self.t.region[:2]:
            raise InvalidInput("mdtrtarea_admvs", f"this gateway serves province "
                                                  f"{self.t.region}, not {env.mdtrtarea_admvs}")
        if env.infno == "9001":
            return self._run(env, received)
        tr.check_signed_in(self.t, env.sign_no, env.fixmedins_code)
        if env.infno in READ_ONLY:
            return self._run(env, received)
        with self.t.db.tx() as tx:
            stored = tx.claim_message("his", env.msgid, env.infno, env.body_hash, received)
        if stored is not None:
            return self._stored_answer(env, stored, received)
        try:
            answer = self._run(env, received)
        except Exception:  # unexpected: drop the claim so a retry is processed, not "pending"
            with self.t.db.tx() as tx:
                tx.forget_message("his", env.msgid)
            raise
        with self.t.db.tx() as tx:
            if answer.get("transient"):
                tx.forget_message("his", env.msgid)
            else:
                tx.store_answer("his", env.msgid, answer, answer["infcode"] == 0)
        answer.pop("transient", None)
        return answer

    def _stored_answer(self, env: Envelope, stored: Any, received: datetime) -> dict[str, Any]:
        if stored.body_hash != env.body_hash:
            raise MsgidReused(f"msgid: {env.msgid} was already used for a different message; "
                                        "every message needs its own msgid")
        if stored.response.get("pending"):
            raise InvalidInput("msgid", f"{env.msgid} is still being processed; retry later")
        logger.info("retry answered from the message log", extra={"msgid": env.msgid,
                                                                   "infno": env.infno})
        return dict(stored.response)

    def _run(self, env: Envelope, received: datetime) -> dict[str, Any]:
        try:
            handler = HANDLERS.get(env.infno)
            if handler is None:
                raise InvalidInput("infno", f"{env.infno} is not offered by this gateway yet")
            command = his_in.parse_input(env.infno, env.input)
            output = handler(self.t, env, command, received)
        except MedSettleError as exc:
            answer = self._failure(exc, received, env)
            if isinstance(exc, PeerUnavailable):
                answer["transient"] = True
            return answer
        logger.info("message handled", extra={"msgid": env.msgid, "infno": env.infno,
                                               "fixmedins_code": env.fixmedins_code})
        if env.infno in SETTLEMENT_KINDS:
            self.metrics.settlements.labels("treating", SETTLEMENT_KINDS[env.infno]).inc()
        return success(output, ref=self._ref(received), received=tr.business_time(received),
                           now=tr.business_time(self.clock()))

    def _failure(self, exc: MedSettleError, received: datetime,
                 env: Envelope | None = None) -> dict[str, Any]:
        self.metrics.errors.labels(exc.code).inc()
        logger.warning("message refused", extra={
            "msgid": env.msgid if env else None, "infno": env.infno if env else None,
            "code": exc.code, "field": getattr(exc, "field", None), "err": mask_text(str(exc))})
        return failure(f"{exc} [{exc.code}]", ref=self._ref(received),
                       received=tr.business_time(received), now=tr.business_time(self.clock()))

    def _ref(self, received: datetime) -> str:
        return ref_msgid(self.t.region, tr.business_time(received), secrets.randbelow(10**10))


def mask_text(text: str) -> str:
    """Hide anything that looks like an 18-character ID number in a log line."""
    words = [mask(w) if len(w) == 18 and w[:17].isdigit() else w for w in text.split()]
    return " ".join(words)


# --- handlers: parsed input → national output ------------------------------------------------

def _sign_in(t: tr.Treating, env: Envelope, cmd: his_in.SignIn, now: datetime) -> Any:
    return {"signinoutb": tr.sign_in(t, env.fixmedins_code, cmd.opter_no, now)}


def _person(t: tr.Treating, env: Envelope, q: his_in.PersonQuery, now: datetime) -> Any:
    info = tr.person_info(t, q, env.insuplc_admdvs)
    for row in info["insuinfo"]:
        row["balc"] = yuan(row["balc"])
    return info


def _open(inpatient: bool) -> Handler:
    def handler(t: tr.Treating, env: Envelope, cmd: Any, now: datetime) -> Any:
        data = tr.open_visit(t, env, cmd, inpatient=inpatient, now=now)
        return {"data": {k: data[k] for k in ("mdtrt_id", "psn_no", "ipt_otp_no")}}
    return handler


def _fees(t: tr.Treating, env: Envelope, upload: his_in.FeeUpload, now: datetime) -> Any:
    rows = tr.upload_fees(t, env, upload)
    return {"result": [fee_result(
        feedetl_sn=r["feedetl_sn"], det_item_fee_sumamt=r["amt"], cnt=Decimal(r["cnt"]),
        pric=Decimal(r["pric"]), pric_uplmt_amt=None if r["lmt_pric"] is None
        else Decimal(r["lmt_pric"]), selfpay_prop=Decimal(r["selfpay_prop"]),
        fulamt_ownpay_amt=r["full_amt"], overlmt_amt=r["over_amt"], preselfpay_amt=r["pre_amt"],
        inscp_scp_amt=r["inscp_amt"], chrgitm_lv=r["chrgitm_lv"],
        med_chrgitm_type=r["med_chrgitm_type"], lmt_used_flag=not r["restricted_ok"],
        memo="不在就医地目录内,全自费" if r["cls"] == "none" else "") | {"mdtrt_id": r["mdtrt_id"]}
        for r in rows]}


def settlement_output(view: dict[str, Any]) -> dict[str, Any]:
    """setlinfo + setldetail of a settlement view (amounts in fen)."""
    amounts = Amounts(**view["amounts"])
    birth = view.get("brdy") or ""
    fields = {k: view.get(k, "") for k in ("mdtrt_id", "setl_id", "psn_no", "psn_name",
                                            "certno", "gend", "insutype", "psn_type",
                                            "cvlserv_flag", "mdtrt_cert_type", "med_type",
                                            "medins_setl_id", "clr_optins", "clr_way",
                                            "clr_type")}
    setl_time = view["setl_time"]
    fields |= {"psn_cert_type": "01", "naty": "01", "brdy": birth,
               "setl_time": tr.business_time(setl_time).strftime("%Y-%m-%d %H:%M:%S")}
    scheme = view.get("scheme") or view.get("insutype") or "310"
    detail = setldetail(amounts, scheme)
    if birth:
        born, day = date.fromisoformat(birth), tr.business_time(setl_time).date()
        fields["age"] = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return {"setlinfo": setlinfo(amounts, balc=view.get("balc", 0), **fields),
            "setldetail": detail}


def _settle(inpatient: bool, persist: bool) -> Handler:
    def handler(t: tr.Treating, env: Envelope, cmd: Any, now: datetime) -> Any:
        return settlement_output(ts.settle(t, env, cmd, inpatient=inpatient, persist=persist,
                                           now=now))
    return handler


def _cancel_settlement(t: tr.Treating, env: Envelope, cmd: Any, now: datetime) -> Any:
    return settlement_output(ts.cancel(t, env, cmd, now))


def _rows(key: str, fetch: Callable[..., list[dict[str, Any]]]) -> Handler:
    def handler(t: tr.Treating, env: Envelope, cmd: Any, now: datetime) -> Any:
        return {key: [_plain(row) for row in fetch(t, env, cmd)]}
    return handler


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row for a query answer: times as text, amounts (fen) as yuan."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            out[key] = tr.business_time(value).strftime("%Y-%m-%d %H:%M:%S")
        elif isinstance(value, int) and not isinstance(value, bool) and (
                key.endswith(("_amt", "_pay", "sumamt", "_selfpay", "balc", "_dedc"))
                or key in ("amt",)):
            out[key] = yuan(value)
        elif key == "delta":
            continue
        else:
            out[key] = value if not hasattr(value, "isoformat") else value.isoformat()
    return out


def _for(inpatient: bool, handler: Handler) -> Handler:
    """`handler`, refusing an inpatient transaction on an outpatient visit and the reverse."""
    def checked(t: tr.Treating, env: Envelope, cmd: Any, now: datetime) -> Any:
        tr.expect_kind(t, cmd.mdtrt_id, inpatient, env.infno)
        return handler(t, env, cmd, now)
    return checked


HANDLERS: dict[str, Handler] = {
    "9001": _sign_in,
    "1101": _person,
    "2201": _open(False),
    "2401": _open(True),
    "2202": _for(False, lambda t, env, c, now: tr.cancel_visit(t, env, c.mdtrt_id, c.psn_no,
                                                               c.ipt_otp_no)),
    "2404": _for(True, lambda t, env, c, now: tr.cancel_visit(t, env, c.mdtrt_id, c.psn_no)),
    "2203": lambda t, env, c, now: tr.update_visit(t, env, c),
    "2402": lambda t, env, c, now: tr.discharge(t, env, c),
    "2403": lambda t, env, c, now: tr.change_admission(t, env, c),
    "2405": lambda t, env, c, now: tr.cancel_discharge(t, env, c.mdtrt_id, c.psn_no),
    "2204": _for(False, _fees),
    "2301": _for(True, _fees),
    "2205": lambda t, env, c, now: tr.cancel_fees(t, env, c),
    "2302": lambda t, env, c, now: tr.cancel_fees(t, env, c),
    "2206": _settle(False, False),
    "2207": _settle(False, True),
    "2303": _settle(True, False),
    "2304": _settle(True, True),
    "2208": _for(False, _cancel_settlement),
    "2305": _for(True, _cancel_settlement),
    "2601": lambda t, env, c, now: ts.reverse(t, env, c, now),
    "2501": lambda t, env, c, now: t.insured.call(
        _insuplc(env), "file_referral", env.msgid,
        {"psn_no": c.psn_no, "mdtrtarea_admdvs": c.mdtrtarea_admdvs,
         "begndate": c.begndate.isoformat()}),
    "2502": lambda t, env, c, now: t.insured.call(
        _insuplc(env), "revoke_filing", env.msgid,
        {"psn_no": c.psn_no, "trt_dcla_detl_sn": c.trt_dcla_detl_sn}),
    "5201": _rows("mdtrtinfo", lambda t, env, c: ts.visits_of(t, env, c)),
    "5203": _rows("setlinfo", ts.settlements_of),
    "5204": _rows("feedetail", ts.fee_details_of),
    "5205": _rows("mdtrtinfo", lambda t, env, c: ts.visits_of(t, env, c, chronic_only=True)),
    "5206": lambda t, env, c, now: _accumulations(
        t.insured.call(_insuplc(env), "accumulations", "", {"psn_no": c.psn_no})),
}


HANDLERS.update(RECONCILE_HANDLERS)


def _accumulations(answer: dict[str, Any]) -> dict[str, Any]:
    """5206: the medical year's accumulators, amounts in yuan (visit counts stay counts)."""
    def convert(key: str, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: convert(key, v) for k, v in value.items()}
        return value if key == "visits" else yuan(value)
    return {"year": answer["year"], "accumulators": {
        key: convert(key, value) for key, value in answer["accumulators"].items()}}


def _insuplc(env: Envelope) -> str:
    if not env.insuplc_admdvs:
        raise InvalidInput("insuplc_admdvs", "required with psn_no: take it from 1101 insuinfo")
    return env.insuplc_admdvs
