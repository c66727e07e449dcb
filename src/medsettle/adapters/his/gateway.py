"""The HIS gateway: one national-interface envelope in, one answer out (interface.md).

It parses and validates the envelope and its input, enforces sign-in and msgid idempotency
(a retry gets the stored answer; the same msgid with another body is refused), dispatches to the
treating-place use cases and formats their results in the national field names. Every failure
is an `infcode -1` answer whose `err_msg` says in Chinese first what is wrong, naming the field,
then its `[code]` and the English detail (err_msg.py), and changes nothing. A success answer
carries national field names only (national_fields.py): any other key is a fault of the node and
is never sent.

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
from dataclasses import replace
from datetime import datetime
from typing import Any

from medsettle.adapters.his import signing
from medsettle.adapters.his.dialects import (
    NATIONAL,
    Dialect,
    parse_dialect,
    read_input,
    write_answer,
)
from medsettle.adapters.his.envelope import (
    Envelope,
    FileAnswer,
    envelope_of,
    failure,
    load_object,
    ref_msgid,
    success,
)
from medsettle.adapters.his.err_msg import err_msg, internal_err_msg
from medsettle.adapters.his.keys import node_key
from medsettle.adapters.his.national_fields import NotNational, foreign_keys
from medsettle.adapters.his.transactions import TRANSACTIONS, Transaction, national_field
from medsettle.adapters.observability import Metrics, mask
from medsettle.adapters.ratelimit import RateLimiter
from medsettle.core.calendar import business_time
from medsettle.core.errors import (
    AlreadyAnswered,
    InvalidInput,
    MedSettleError,
    MsgidReused,
    NotFound,
    PeerUnavailable,
)
from medsettle.services import treating as tr
from medsettle.services.ports import Reply, UnitOfWork
from medsettle.services.replies import Unrecorded

logger = logging.getLogger(__name__)
SETTLEMENT_KINDS = {"2207": "settle", "2304": "settle", "2208": "cancel", "2305": "cancel"}
#: How long the gateway keeps an institution's dialect and credentials before reading them
#: again: new keys issued from this node's console apply at once (`forget`), keys changed in
#: its database by another process (`medsettle institution keys`) within this time.
INSTITUTION_CACHE_SECONDS = 5.0
#: An answer: an envelope, or (9102) a file sent as its bytes.
Answer = dict[str, Any] | FileAnswer


class HisGateway:
    """The HIS endpoint of one province node."""

    def __init__(self, treating: tr.Treating, metrics: Metrics,
                 clock: Callable[[], datetime], limiter: RateLimiter | None = None) -> None:
        self.t = treating
        self.metrics = metrics
        self.clock = clock
        self._profiles: dict[str, tuple[Dialect, signing.Credentials, float]] = {}
        self.guard = signing.Guard(self._credentials, started=clock().timestamp())
        self._node_key: tuple[str, str] | None = None
        self.limiter = limiter  # per institution (docs/security.md)

    def handle(self, raw: bytes, headers: Mapping[str, str] | None = None) -> Answer:
        """Answer one HIS message, its signature checked and its input decrypted as its
        institution's registration asks (signing.py), in its dialect (dialects.py)."""
        received = self.clock()
        started = time.perf_counter()
        infno = "????"
        env: Envelope | None = None
        dialect = NATIONAL
        opened: signing.Opened | None = None
        try:
            opened = self.guard.open(load_object(raw), raw, headers or {}, received.timestamp())
            env = envelope_of(opened.envelope)
            infno = env.infno
            if self.limiter is not None:  # before any work: a refused message costs nothing
                self.limiter.admit(env.fixmedins_code, time.monotonic())
            dialect = self.dialect(env.fixmedins_code)
            answer: Answer = self._handle(env, received, dialect)
        except MedSettleError as exc:
            answer = self._failure(exc, received)
        except Exception:  # a bug must not crash the node nor leave the HIS without an answer
            logger.exception("message failed unexpectedly", extra={"infno": infno})
            self.metrics.errors.labels("internal").inc()
            answer = failure(internal_err_msg(), ref=self._ref(received),
                             received=business_time(received), now=business_time(self.clock()))
        outcome = "ok" if isinstance(answer, FileAnswer) or answer["infcode"] == 0 else "error"
        self.metrics.requests.labels(infno, outcome).inc()
        self.metrics.latency.labels(infno).observe(time.perf_counter() - started)
        if isinstance(answer, FileAnswer):
            return answer
        written = write_answer(dialect, answer, env.echoed if env else {})
        if opened is not None and outcome == "ok":  # sealed and signed as written, last
            if opened.sm4_key is not None:
                written = signing.seal_answer(written, opened.sm4_key)
            if opened.sm2_signed:
                written = signing.sign_answer(written, *self.node_key())
        return written

    def dialect(self, fixmedins_code: str) -> Dialect:
        """The dialect profile the institution was registered with (national if unknown)."""
        profile = self._profile(fixmedins_code)
        return NATIONAL if profile is None else profile[0]

    def forget(self, fixmedins_code: str) -> None:
        """Read the institution's dialect and credentials again at its next message (its keys
        were just changed)."""
        self._profiles.pop(fixmedins_code, None)

    def _credentials(self, fixmedins_code: str) -> signing.Credentials | None:
        profile = self._profile(fixmedins_code)
        return None if profile is None else profile[1]

    def _profile(self, fixmedins_code: str) -> tuple[Dialect, signing.Credentials] | None:
        """The institution's dialect and credentials, read at most every
        INSTITUTION_CACHE_SECONDS (one read of its row, not one per message)."""
        now = time.monotonic()
        cached = self._profiles.get(fixmedins_code)
        if cached is not None and now - cached[2] < INSTITUTION_CACHE_SECONDS:
            return cached[0], cached[1]
        with self.t.db.read() as tx:
            inst = tx.one("institutions", fixmedins_code=fixmedins_code)
        if inst is None:
            return None  # not kept: codes of no institution would grow the cache
        dialect = parse_dialect(inst.dialect, "institutions.dialect")
        credentials = signing.Credentials(inst.signing, inst.api_key, inst.sm2_public_key,
                                          inst.sm4_key)
        self._profiles[fixmedins_code] = (dialect, credentials, now)
        return dialect, credentials

    def node_key(self) -> tuple[str, str]:
        """The node's SM2 key pair that signs its answers (read once)."""
        if self._node_key is None:
            self._node_key = node_key(self.t.db)
        return self._node_key

    def _handle(self, env: Envelope, received: datetime, dialect: Dialect) -> Answer:
        transaction = TRANSACTIONS.get(env.infno)
        if transaction is None:
            raise InvalidInput("infno", f"unknown transaction {env.infno!r}: not supported here")
        national, used = read_input(dialect, env.infno, env.input)
        if used:
            env = replace(env, input=national)
            logger.info("dialect tolerance applied", extra={
                "msgid": env.msgid, "infno": env.infno, "dialect": dialect.name,
                "tolerances": ",".join(used)})
        if env.mdtrtarea_admvs[:2] != self.t.region[:2]:
            raise InvalidInput("mdtrtarea_admvs", f"this gateway serves province "
                                                  f"{self.t.region}, not {env.mdtrtarea_admvs}")
        if env.infno not in ("9001", "9002"):  # 9002 names the sign-in it ends in its input
            tr.check_signed_in(self.t, env.sign_no, env.fixmedins_code, received)
        if transaction.read_only:
            answer, _ = self._run(transaction, env, received, Unrecorded())
            return answer
        scope = tr.his_scope(env.fixmedins_code)
        reply = StoredReply(self, transaction, env, received)
        try:
            answer, kept = self._run(transaction, env, received, reply)
        except AlreadyAnswered as done:
            return self._stored_answer(env, done.stored or self._stored(scope, env.msgid))
        if isinstance(answer, FileAnswer):
            raise TypeError(f"{env.infno} changes state and may not answer with a file")
        if kept or answer.pop("transient", False):
            return answer
        with self.t.db.tx() as tx:
            earlier = reply.keep(tx, answer)
        return answer if earlier is None else self._stored_answer(env, earlier)

    def _stored(self, scope: str, msgid: str) -> Any:
        with self.t.db.read() as tx:
            return tx.one("message_log", scope=scope, msgid=msgid)

    def _stored_answer(self, env: Envelope, stored: Any) -> dict[str, Any]:
        if stored.body_hash != env.body_hash:
            raise MsgidReused(f"msgid: {env.msgid} was already used for a different message; "
                                        "every message needs its own msgid")
        logger.info("retry answered from the message log", extra={"msgid": env.msgid,
                                                                   "infno": env.infno})
        return dict(stored.response)

    def _run(self, transaction: Transaction, env: Envelope, received: datetime, reply: Reply
             ) -> tuple[Answer, bool]:
        """The answer to the message, and whether the use case already kept it."""
        try:
            command = transaction.parse(env.input)
            if isinstance(reply, StoredReply):
                reply.command = command
            result = transaction.run(self.t, env, command, received, reply)
        except AlreadyAnswered:
            raise
        except MedSettleError as exc:
            answer = self._failure(_national(exc, env.infno), received, env)
            if isinstance(exc, PeerUnavailable):
                answer["transient"] = True
            return answer, False
        logger.info("message handled", extra={"msgid": env.msgid, "infno": env.infno,
                                               "fixmedins_code": env.fixmedins_code})
        if env.infno in SETTLEMENT_KINDS:
            self.metrics.settlements.labels("treating", SETTLEMENT_KINDS[env.infno]).inc()
        if isinstance(reply, StoredReply) and reply.answer is not None:
            return reply.answer, True
        output = transaction.output(result, env, command, received)
        if isinstance(output, FileAnswer):
            return output, False
        return self.success(output, received, result), False

    def success(self, output: Any, received: datetime, result: Any = None) -> dict[str, Any]:
        """A success envelope around `output`, with supervision's warnings of the result.

        An output with a key that is not a national field name is a fault of the node: it is
        never sent (the message fails as `internal`, and a state-changing one rolls back)."""
        leaked = list(foreign_keys(output))
        if leaked:
            raise NotNational(f"answer would carry non-national keys: {', '.join(leaked[:5])}")
        warn = "; ".join(getattr(result, "warnings", ()) or ())
        return success(output, ref=self._ref(received), received=business_time(received),
                       now=business_time(self.clock()),
                       warn_msg=warn if len(warn) <= 200 else warn[:199] + "…")

    def _failure(self, exc: MedSettleError, received: datetime,
                 env: Envelope | None = None) -> dict[str, Any]:
        self.metrics.errors.labels(exc.code).inc()
        logger.warning("message refused", extra={
            "msgid": env.msgid if env else None, "infno": env.infno if env else None,
            "code": exc.code, "field": getattr(exc, "field", None), "err": mask_text(str(exc))})
        return failure(err_msg(exc), ref=self._ref(received),
                       received=business_time(received), now=business_time(self.clock()))

    def _ref(self, received: datetime) -> str:
        return ref_msgid(self.t.region, business_time(received), secrets.randbelow(10**10))


class StoredReply:
    """Keeps a message's answer in the message log, in the transaction a use case gives it."""

    def __init__(self, gateway: HisGateway, transaction: Transaction, env: Envelope,
                 received: datetime) -> None:
        self.gateway = gateway
        self.transaction = transaction
        self.env = env
        self.received = received
        self.command: Any = None
        self.answer: dict[str, Any] | None = None

    def record(self, tx: UnitOfWork, result: Any) -> None:
        """Format the use case's result and keep it; AlreadyAnswered if a concurrent attempt
        of the message kept its answer first (the caller's transaction then rolls back)."""
        output = self.transaction.output(result, self.env, self.command, self.received)
        answer = self.gateway.success(output, self.received, result)
        earlier = self.keep(tx, answer)
        if earlier is not None:
            raise AlreadyAnswered(f"msgid {self.env.msgid} was answered by another attempt",
                                  earlier)
        self.answer = answer

    def check(self, tx: UnitOfWork) -> None:
        """AlreadyAnswered (with the stored row) if the message's answer is kept already."""
        stored = tx.one("message_log", scope=tr.his_scope(self.env.fixmedins_code),
                        msgid=self.env.msgid)
        if stored is not None:
            raise AlreadyAnswered(f"msgid {self.env.msgid} was answered already", stored)

    def keep(self, tx: UnitOfWork, answer: dict[str, Any]) -> Any:
        """Insert the answer; the row kept earlier by another attempt, if any."""
        env = self.env
        return tx.keep_answer(tr.his_scope(env.fixmedins_code), env.msgid, env.infno,
                              env.body_hash, answer, answer["infcode"] == 0, self.received)


def _national(exc: MedSettleError, infno: str) -> MedSettleError:
    """A use case's error naming a field, naming it as the hospital sent it."""
    if isinstance(exc, InvalidInput):
        name = national_field(infno, exc.field)
        if name != exc.field:
            return type(exc)(name, exc.message)
    if isinstance(exc, NotFound) and exc.field:
        return NotFound(exc.message, field=national_field(infno, exc.field))
    return exc


def mask_text(text: str) -> str:
    """Hide anything that looks like an 18-character ID number in a log line."""
    words = [mask(w) if len(w) == 18 and w[:17].isdigit() else w for w in text.split()]
    return " ".join(words)
