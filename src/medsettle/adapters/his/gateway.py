"""The HIS gateway: one national-interface envelope in, one answer out (interface.md).

It parses and validates the envelope and its input, enforces sign-in and msgid idempotency
(a retry gets the stored answer; the same msgid with another body is refused), dispatches to the
treating-place use cases and formats their results in the national field names. Every failure
is an `infcode -1` answer whose `err_msg` starts with its code and names the field, and changes
nothing.

A state-changing message keeps its answer in the message log in the same transaction as its
effects (`StoredReply`), so there is no moment at which a message is claimed but unanswered: a
crash before that transaction leaves nothing, and the retry runs the message again (what it
asks of the insured place carries ids derived from the msgid, which the insured place
recognises); a crash after it leaves the answer, which the retry gets.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
from medsettle.core.calendar import business_time
from medsettle.core.errors import (
    AlreadyAnswered,
    InvalidInput,
    MedSettleError,
    MsgidReused,
    PeerUnavailable,
)
from medsettle.services import treating as tr
from medsettle.services import treating_settle as ts
from medsettle.services.ports import Reply, UnitOfWork
from medsettle.services.replies import Unrecorded

logger = logging.getLogger(__name__)
READ_ONLY = {"1101", "2206", "2303", "5201", "5203", "5204", "5205", "5206", "9001"}
SETTLEMENT_KINDS = {"2207": "settle", "2304": "settle", "2208": "cancel", "2305": "cancel"}
#: A use case of one transaction code: (node, envelope, parsed input, time, reply) → result.
Run = Callable[[tr.Treating, Envelope, Any, datetime, Reply], Any]


@dataclass(frozen=True)
class Route:
    """One transaction code: the use case that runs it and how its result reads on the wire."""

    run: Run
    output: Callable[[Any], Any] = lambda result: result


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
            answer = failure("[internal] internal error; nothing was settled for this message",
                             ref=self._ref(received), received=business_time(received),
                             now=business_time(self.clock()))
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
        if env.infno != "9001":
            tr.check_signed_in(self.t, env.sign_no, env.fixmedins_code)
        if env.infno in READ_ONLY:
            answer, _ = self._run(env, received, Unrecorded())
            return answer
        scope = tr.his_scope(env.fixmedins_code)
        with self.t.db.tx() as tx:
            stored = tx.one("message_log", scope=scope, msgid=env.msgid)
        if stored is not None:
            return self._stored_answer(env, stored)
        reply = StoredReply(self, env, received)
        try:
            answer, kept = self._run(env, received, reply)
        except AlreadyAnswered:
            return self._stored_answer(env, self._stored(scope, env.msgid))
        if kept or answer.pop("transient", False):
            return answer
        with self.t.db.tx() as tx:
            earlier = reply.keep(tx, answer)
        return answer if earlier is None else self._stored_answer(env, earlier)

    def _stored(self, scope: str, msgid: str) -> Any:
        with self.t.db.tx() as tx:
            return tx.one("message_log", scope=scope, msgid=msgid)

    def _stored_answer(self, env: Envelope, stored: Any) -> dict[str, Any]:
        if stored.body_hash != env.body_hash:
            raise MsgidReused(f"msgid: {env.msgid} was already used for a different message; "
                                        "every message needs its own msgid")
        logger.info("retry answered from the message log", extra={"msgid": env.msgid,
                                                                   "infno": env.infno})
        return dict(stored.response)

    def _run(self, env: Envelope, received: datetime, reply: Reply
             ) -> tuple[dict[str, Any], bool]:
        """The answer to the message, and whether the use case already kept it."""
        route = ROUTES.get(env.infno)
        try:
            if route is None:
                raise InvalidInput("infno", f"{env.infno} is not offered by this gateway yet")
            command = his_in.parse_input(env.infno, env.input)
            result = route.run(self.t, env, command, received, reply)
        except AlreadyAnswered:
            raise
        except MedSettleError as exc:
            answer = self._failure(exc, received, env)
            if isinstance(exc, PeerUnavailable):
                answer["transient"] = True
            return answer, False
        logger.info("message handled", extra={"msgid": env.msgid, "infno": env.infno,
                                               "fixmedins_code": env.fixmedins_code})
        if env.infno in SETTLEMENT_KINDS:
            self.metrics.settlements.labels("treating", SETTLEMENT_KINDS[env.infno]).inc()
        if isinstance(reply, StoredReply) and reply.answer is not None:
            return reply.answer, True
        return self.success(route.output(result), received), False

    def success(self, output: Any, received: datetime) -> dict[str, Any]:
        """A success envelope around `output`."""
        return success(output, ref=self._ref(received), received=business_time(received),
                       now=business_time(self.clock()))

    def _failure(self, exc: MedSettleError, received: datetime,
                 env: Envelope | None = None) -> dict[str, Any]:
        self.metrics.errors.labels(exc.code).inc()
        logger.warning("message refused", extra={
            "msgid": env.msgid if env else None, "infno": env.infno if env else None,
            "code": exc.code, "field": getattr(exc, "field", None), "err": mask_text(str(exc))})
        return failure(f"[{exc.code}] {exc}", ref=self._ref(received),
                       received=business_time(received), now=business_time(self.clock()))

    def _ref(self, received: datetime) -> str:
        return ref_msgid(self.t.region, business_time(received), secrets.randbelow(10**10))


class StoredReply:
    """Keeps a message's answer in the message log, in the transaction a use case gives it."""

    def __init__(self, gateway: HisGateway, env: Envelope, received: datetime) -> None:
        self.gateway = gateway
        self.env = env
        self.received = received
        self.answer: dict[str, Any] | None = None

    def record(self, tx: UnitOfWork, result: Any) -> None:
        """Format the use case's result and keep it; AlreadyAnswered if a concurrent attempt
        of the message kept its answer first (the caller's transaction then rolls back)."""
        route = ROUTES[self.env.infno]
        answer = self.gateway.success(route.output(result), self.received)
        if self.keep(tx, answer) is not None:
            raise AlreadyAnswered(f"msgid {self.env.msgid} was answered by another attempt")
        self.answer = answer

    def keep(self, tx: UnitOfWork, answer: dict[str, Any]) -> Any:
        """Insert the answer; the row kept earlier by another attempt, if any."""
        env = self.env
        return tx.keep_answer(tr.his_scope(env.fixmedins_code), env.msgid, env.infno,
                              env.body_hash, answer, answer["infcode"] == 0, self.received)


def mask_text(text: str) -> str:
    """Hide anything that looks like an 18-character ID number in a log line."""
    words = [mask(w) if len(w) == 18 and w[:17].isdigit() else w for w in text.split()]
    return " ".join(words)


# --- routes: parsed input → use case → national output -------------------------------------

def _person_output(info: dict[str, Any]) -> Any:
    for row in info["insuinfo"]:
        row["balc"] = yuan(row["balc"])
    return info


def _visit_output(data: dict[str, Any]) -> Any:
    return {"data": {k: data[k] for k in ("mdtrt_id", "psn_no", "ipt_otp_no")}}


def _fees_output(rows: list[dict[str, Any]]) -> Any:
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
               "setl_time": business_time(setl_time).strftime("%Y-%m-%d %H:%M:%S")}
    scheme = view.get("scheme") or view.get("insutype") or "310"
    detail = setldetail(amounts, scheme)
    if birth:
        born, day = date.fromisoformat(birth), business_time(setl_time).date()
        fields["age"] = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return {"setlinfo": setlinfo(amounts, balc=view.get("balc", 0), **fields),
            "setldetail": detail}


def _settle(inpatient: bool, persist: bool) -> Route:
    return Route(lambda t, env, cmd, now, reply: ts.settle(
        t, env, cmd, inpatient=inpatient, persist=persist, now=now, reply=reply),
        settlement_output)


def _rows(key: str, fetch: Callable[..., list[dict[str, Any]]]) -> Route:
    return Route(lambda t, env, cmd, now, reply: fetch(t, env, cmd),
                 lambda rows: {key: [_plain(row) for row in rows]})


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row for a query answer: times as text, amounts (fen) as yuan."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            out[key] = business_time(value).strftime("%Y-%m-%d %H:%M:%S")
        elif isinstance(value, int) and not isinstance(value, bool) and (
                key.endswith(("_amt", "_pay", "sumamt", "_selfpay", "balc", "_dedc"))
                or key in ("amt",)):
            out[key] = yuan(value)
        elif key == "delta":
            continue
        else:
            out[key] = value if not hasattr(value, "isoformat") else value.isoformat()
    return out


def _for(inpatient: bool, route: Route) -> Route:
    """`route`, refusing an inpatient transaction on an outpatient visit and the reverse."""
    def checked(t: tr.Treating, env: Envelope, cmd: Any, now: datetime, reply: Reply) -> Any:
        tr.expect_kind(t, cmd.mdtrt_id, inpatient, env.infno)
        return route.run(t, env, cmd, now, reply)
    return Route(checked, route.output)


def _at_insured(op: str, payload: Callable[[Any], dict[str, Any]], *,
                stateful: bool = True) -> Run:
    """A transaction the insured place answers alone (filing, accumulations)."""
    def run(t: tr.Treating, env: Envelope, cmd: Any, now: datetime, reply: Reply) -> Any:
        return t.insured.call(_insuplc(env), op, env.msgid if stateful else "", payload(cmd))
    return run


def _without_reply(run: Callable[..., dict[str, Any]]) -> Run:
    """A use case that writes its own record and answers after (3201/3202 reports)."""
    def wrapped(t: tr.Treating, env: Envelope, cmd: Any, now: datetime, reply: Reply) -> Any:
        return run(t, env, cmd, now)
    return wrapped


ROUTES: dict[str, Route] = {
    "9001": Route(lambda t, env, c, now, reply: tr.sign_in(t, env.fixmedins_code, c.opter_no,
                                                           now),
                  lambda result: {"signinoutb": result}),
    "1101": Route(lambda t, env, q, now, reply: tr.person_info(t, q, env.insuplc_admdvs),
                  _person_output),
    "2201": Route(lambda t, env, c, now, reply: tr.open_visit(t, env, c, inpatient=False,
                                                              reply=reply), _visit_output),
    "2401": Route(lambda t, env, c, now, reply: tr.open_visit(t, env, c, inpatient=True,
                                                              reply=reply), _visit_output),
    "2202": _for(False, Route(lambda t, env, c, now, reply: tr.cancel_visit(
        t, env, c.mdtrt_id, c.psn_no, reply, c.ipt_otp_no))),
    "2404": _for(True, Route(lambda t, env, c, now, reply: tr.cancel_visit(
        t, env, c.mdtrt_id, c.psn_no, reply))),
    "2203": Route(lambda t, env, c, now, reply: tr.update_visit(t, env, c, reply)),
    "2402": Route(lambda t, env, c, now, reply: tr.discharge(t, env, c, reply)),
    "2403": Route(lambda t, env, c, now, reply: tr.change_admission(t, env, c, reply)),
    "2405": Route(lambda t, env, c, now, reply: tr.cancel_discharge(t, env, c.mdtrt_id,
                                                                    c.psn_no, reply)),
    "2204": _for(False, Route(lambda t, env, c, now, reply: tr.upload_fees(t, env, c, reply),
                              _fees_output)),
    "2301": _for(True, Route(lambda t, env, c, now, reply: tr.upload_fees(t, env, c, reply),
                             _fees_output)),
    "2205": Route(lambda t, env, c, now, reply: tr.cancel_fees(t, env, c, reply)),
    "2302": Route(lambda t, env, c, now, reply: tr.cancel_fees(t, env, c, reply)),
    "2206": _settle(False, False),
    "2207": _settle(False, True),
    "2303": _settle(True, False),
    "2304": _settle(True, True),
    "2208": _for(False, Route(lambda t, env, c, now, reply: ts.cancel(t, env, c, now, reply),
                              settlement_output)),
    "2305": _for(True, Route(lambda t, env, c, now, reply: ts.cancel(t, env, c, now, reply),
                             settlement_output)),
    "2601": Route(lambda t, env, c, now, reply: ts.reverse(t, env, c, now, reply)),
    "2501": Route(_at_insured("file_referral", lambda c: {
        "psn_no": c.psn_no, "mdtrtarea_admdvs": c.mdtrtarea_admdvs,
        "begndate": c.begndate.isoformat()})),
    "2502": Route(_at_insured("revoke_filing", lambda c: {
        "psn_no": c.psn_no, "trt_dcla_detl_sn": c.trt_dcla_detl_sn})),
    "5201": _rows("mdtrtinfo", lambda t, env, c: ts.visits_of(t, env, c)),
    "5203": _rows("setlinfo", ts.settlements_of),
    "5204": _rows("feedetail", ts.fee_details_of),
    "5205": _rows("mdtrtinfo", lambda t, env, c: ts.visits_of(t, env, c, chronic_only=True)),
    "5206": Route(_at_insured("accumulations", lambda c: {"psn_no": c.psn_no},
                              stateful=False), lambda answer: _accumulations(answer)),
    **{infno: Route(_without_reply(run)) for infno, run in RECONCILE_HANDLERS.items()},
}


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
