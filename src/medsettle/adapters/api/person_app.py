"""The insured person's app at its insured province's node: every operation of the app, as the
JSON API returns it (adapters/api/person.py) and the pages show it (adapters/web/app_pages.py),
so a native app gets exactly what the pages show.

Each operation runs in one transaction of the node's database; each change is written to the
node's audit log in that transaction (actor `person:<psn_no>`, role `person`). What another
province knows (its institutions, the bill of a settlement treated there) is asked of it
through the hub with a signed federation call (services/directory.py); the node's own province
answers in process.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import segno

from medsettle.adapters.api.common import jsonable
from medsettle.adapters.province_node import ProvinceNode
from medsettle.core import codes
from medsettle.core.calendar import business_date
from medsettle.core.errors import InvalidInput, MedSettleError
from medsettle.core.estimate import Estimate, Scenario
from medsettle.core.explain import FIELD_LABELS, LINE_REASONS
from medsettle.core.explain_zh import CLASS_ZH, FIELD_LABELS_ZH, LINE_REASONS_ZH, step_sentence
from medsettle.core.jsonform import encode
from medsettle.core.policy_view import provenance_notice
from medsettle.core.privacy import mask_id, mask_name
from medsettle.services import estimates, evoucher, filings, my_filings, my_money, person_auth
from medsettle.services import person_scope as scope
from medsettle.services.audit import Actor, held_row_of, run_audited
from medsettle.services.directory import (
    FindInstitutions,
    InstitutionsFound,
    SettlementLines,
    SettlementLinesQuery,
    check_query,
)

logger = logging.getLogger(__name__)
#: A node started with this set to 1 shows the one-time code on the sign-in page (the demo).
DEMO_CODES = "MEDSETTLE_APP_DEMO_CODES"


def _msgid() -> str:
    return "APP" + secrets.token_hex(12)


#: A session ends after this long without a request, and this long after sign-in at most.
IDLE_MINUTES = 15
MAX_HOURS = 2


class PersonApp:
    """The app's operations at one province node."""

    def __init__(self, node: ProvinceNode) -> None:
        self.node = node
        self.store = node.store
        self.region = node.config.region
        self.demo_codes = os.environ.get(DEMO_CODES) == "1"
        self.names: dict[str, str] = {}  # institution code → name, from their provinces
        with self.store.read() as tx:  # the sessions ended that could still be shown
            ended = tx.sessions_ended_since(self.now() - timedelta(hours=MAX_HOURS))
        self.ended = dict.fromkeys(ended, self.now())  # session id → when it was ended

    def now(self) -> datetime:
        return self.node.clock()

    def end_session(self, session_id: str) -> None:
        """A session signed out of: refused from now on, copies of its cookie included (the
        cookie is the session, so only the node can tell that it is over)."""
        now = self.now()
        oldest = now - timedelta(hours=MAX_HOURS)  # no session that old is still open
        with self.store.tx() as tx:
            tx.end_session(session_id, now, oldest)
        while self.ended and next(iter(self.ended.values())) < oldest:  # oldest first
            del self.ended[next(iter(self.ended))]
        self.ended[session_id] = now

    def session_ended(self, session_id: str) -> bool:
        """Whether the session was signed out of."""
        return session_id in self.ended

    def today(self) -> date:
        return business_date(self.node.clock())

    def _changed(self, me: str, action: str, target: str | Callable[[Any], str],
                 work: Callable[[Any], Any],
                 before: Callable[[Any], Any] | None = None) -> Any:
        return jsonable(run_audited(self.store, Actor(f"person:{me}", "person", self.region),
                                    f"person.{action}", target, work, self.now(), before))

    # --- sign-in --------------------------------------------------------------------------
    def send_code(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        with self.store.tx() as tx:
            sent = person_auth.request_code(tx, doc.get("certno"), self.now())
        answer: dict[str, Any] = {"sent": True, "expires_at": sent.expires_at.isoformat(),
                                  "message": "if this ID number is insured here, a one-time "
                                             "code was sent (demo: written to the node's log)"}
        if self.demo_codes and sent.code is not None:
            answer["demo_code"] = sent.code
        return answer

    def verify(self, doc: Mapping[str, Any]) -> Any:
        with self.store.tx() as tx:
            outcome = person_auth.verify_code(tx, doc.get("certno"), doc.get("code"), self.now())
        if outcome.refusal is not None:
            raise outcome.refusal
        return outcome.person

    # --- who I am -------------------------------------------------------------------------
    def profile(self, me: str) -> dict[str, Any]:
        with self.store.tx() as tx:
            row = scope.person(tx, me)
            scope.viewed(me, me, "profile")
            links = scope.links(tx, me)
        return dict(jsonable(scope.summary(row) | {
            "scheme": codes.scheme_of_insutype(row.insutype),
            "category": codes.category_of_psn_type(row.psn_type), "family": links}))

    # --- filings --------------------------------------------------------------------------
    def filings(self, me: str, of: str | None) -> list[dict[str, Any]]:
        with self.store.tx() as tx:
            return list(jsonable(my_filings.of_person(tx, me, of)))

    def file(self, me: str, doc: Mapping[str, Any]) -> dict[str, Any]:
        today = self.today()
        return dict(self._changed(me, "filing.create", lambda r: str(r.get("filing_no", "")),
                                  lambda tx: my_filings.file(tx, self.node.book, me, doc, today)))

    def change_filing(self, me: str, filing_no: str, destination: object) -> dict[str, Any]:
        today = self.today()
        return dict(self._changed(
            me, "filing.change", filing_no,
            lambda tx: my_filings.change(tx, self.node.book, me, filing_no, destination, today),
            lambda tx: filings.held_row(tx, filing_no)))

    def cancel_filing(self, me: str, filing_no: str) -> dict[str, Any]:
        today = self.today()
        return dict(self._changed(
            me, "filing.cancel", filing_no,
            lambda tx: my_filings.cancel(tx, self.node.book, me, filing_no, today),
            lambda tx: filings.held_row(tx, filing_no)))

    # --- family (亲情账户) -------------------------------------------------------------------
    def family(self, me: str) -> list[dict[str, Any]]:
        with self.store.tx() as tx:
            scope.viewed(me, me, "family links")
            return list(jsonable(scope.links(tx, me)))

    def ask_family(self, me: str, doc: Mapping[str, Any]) -> dict[str, Any]:
        now = self.now()
        return dict(self._changed(me, "family.ask", lambda r: f"link {r.get('id')}",
                                  lambda tx: scope.ask(tx, me, dict(doc), now)))

    def decide_family(self, me: str, link_id: int, action: str) -> dict[str, Any]:
        now = self.now()
        return dict(self._changed(me, f"family.{action}", f"link {link_id}",
                                  lambda tx: scope.decide(tx, me, link_id, action, now),
                                  lambda tx: held_row_of(tx, "family_links", id=link_id)))

    # --- where can I settle directly -------------------------------------------------------
    def institutions(self, me: str, doc: Mapping[str, Any]) -> dict[str, Any]:
        region = codes.validate_admdvs(doc.get("region"), "region")
        city = str(doc.get("city") or "")
        if city and city[:2] != region[:2]:
            raise InvalidInput("city", "is not in the province chosen")
        query = check_query(FindInstitutions(city=city, name=str(doc.get("name") or "").strip(),
                                             level=str(doc.get("level") or ""),
                                             service=str(doc.get("service") or "")))
        found: InstitutionsFound = self.node.router.call(region, "institutions", _msgid(), query)
        for inst in found.institutions:
            self.names[inst.code] = inst.name
        logger.info("institutions searched", extra={"province": region[:2] + "0000",
                                                     "found": found.total})
        return {"province": region[:2] + "0000", "total": found.total,
                "institutions": encode(found.institutions)}

    # --- estimate and policy differences ---------------------------------------------------
    def estimate(self, me: str, doc: Mapping[str, Any], lang: str) -> dict[str, Any]:
        today = self.today()
        with self.store.tx() as tx:
            asked, policy, result = estimates.estimate_for(tx, self.node.book, me, doc, today)
        return {"on": today.isoformat(), "policy": policy.id,
                "parameters": provenance_notice(policy, lang), "official": policy.official,
                "region": asked.region, "level": asked.level, "visit_type": asked.visit_type,
                "disease": asked.disease, "direct": result.direct,
                **self._scenarios(result, lang)}

    def _scenarios(self, result: Estimate, lang: str) -> dict[str, Any]:
        return {"main": scenario_doc(result.main, lang),
                "alternatives": [scenario_doc(s, lang) for s in result.alternatives]}

    def differences(self, me: str, region: object, lang: str) -> dict[str, Any]:
        today = self.today()
        with self.store.tx() as tx:
            mine, theirs, rows = estimates.policy_differences(tx, self.node.book, me, region,
                                                              lang, today)
        return {"mine": mine.id, "theirs": theirs.id if theirs else None,
                "notice": [provenance_notice(p, lang) for p in (mine, theirs) if p is not None],
                "rows": [{"key": r.key, "what": r.what, "mine": r.mine, "theirs": r.theirs}
                         for r in rows]}

    # --- my year, settlements, claims ------------------------------------------------------
    def year(self, me: str, of: str | None) -> dict[str, Any]:
        with self.store.tx() as tx:
            return dict(jsonable(my_money.year(tx, self.node.book, me, of, self.today())))

    def settlements(self, me: str, of: str | None) -> list[dict[str, Any]]:
        with self.store.tx() as tx:
            rows = my_money.settlements_of(tx, me, of)
        self._fill_names(rows)
        return list(jsonable(rows))

    def _fill_names(self, rows: list[dict[str, Any]]) -> None:
        """Each row's hospital name: from the cache, else asked of its province (once)."""
        missing: dict[str, set[str]] = {}
        for row in rows:
            if row["institution"] not in self.names:
                missing.setdefault(row["treating_region"][:2] + "0000", set()).add(
                    row["institution"])
        for region, wanted in missing.items():
            query = FindInstitutions(codes=tuple(sorted(wanted))[:50])
            try:
                found: InstitutionsFound = self.node.router.call(region, "institutions",
                                                                 _msgid(), query)
            except (MedSettleError, OSError) as exc:
                logger.info("institution names not available", extra={"why": str(exc)})
                continue
            self.names.update({i.code: i.name for i in found.institutions})
        for row in rows:
            row["institution_name"] = self.names.get(row["institution"], "")

    def settlement(self, me: str, setl_id: str, lang: str) -> dict[str, Any]:
        with self.store.tx() as tx:
            view = my_money.settlement(tx, me, setl_id)
        original = view["original"]["setl_id"] if view.get("original") else setl_id
        try:
            bill: SettlementLines | None = self.node.router.call(
                view["treating_region"], "settlement_lines", _msgid(),
                SettlementLinesQuery(original, view["person_id"]))
        except (MedSettleError, OSError) as exc:
            logger.warning("bill of a settlement not available",
                           extra={"setl_id": setl_id, "why": str(exc)})
            bill, view["bill_problem"] = None, str(exc)
        labels = FIELD_LABELS_ZH if lang == "zh" else FIELD_LABELS
        reasons = LINE_REASONS_ZH if lang == "zh" else LINE_REASONS
        view["labels"] = labels
        if lang == "zh":
            view["class_text"] = CLASS_ZH.get(view["benefit_class"], view["class_text"])
        if bill is not None:
            self.names[bill.institution] = bill.institution_name
            view["institution_name"] = bill.institution_name
            view["institution_level"] = bill.level
            view["lines"] = [encode(x) | {"reason_text": reasons.get(x.reason, x.reason)}
                             for x in bill.lines]
        else:
            view["institution_name"] = self.names.get(view["institution"], "")
            view["lines"] = []
        return dict(jsonable(view))

    def claims(self, me: str, of: str | None) -> list[dict[str, Any]]:
        with self.store.tx() as tx:
            return list(jsonable(my_money.claims_of(tx, me, of)))

    def claim(self, me: str, claim_id: str) -> dict[str, Any]:
        with self.store.tx() as tx:
            return dict(jsonable(my_money.claim(tx, me, claim_id)))

    def submit_claim(self, me: str, doc: Mapping[str, Any]) -> dict[str, Any]:
        now = self.now()
        return dict(self._changed(me, "reimbursement.submit", lambda r: str(r.get("claim_id")),
                                  lambda tx: my_money.submit_claim(tx, self.node.book, me, doc,
                                                                   now)))

    # --- e-voucher ------------------------------------------------------------------------
    def voucher(self, me: str) -> dict[str, Any]:
        now = self.now()

        def work(tx: Any) -> dict[str, Any]:
            issued = evoucher.issue(tx, scope.person(tx, me), now)
            return {"token": issued.token, "expires_at": issued.expires_at.isoformat()}
        answer = dict(self._changed(me, "evoucher.issue", lambda r: "e-voucher", work))
        with self.store.tx() as tx:
            row = scope.person(tx, me)
        qr = segno.make(answer["token"], error="m")
        return answer | {"seconds": evoucher.TOKEN_MINUTES * 60,
                         "name": mask_name(row.psn_name), "certno": mask_id(row.certno),
                         "qr_svg": qr.svg_inline(scale=6, border=2, title="医保码")}


def scenario_doc(s: Scenario, lang: str) -> dict[str, Any]:
    """One scenario of an estimate as JSON: the 16 amounts and each step in words."""
    if s.settlement is None:
        return {"key": s.key, "benefit_class": s.benefit_class, "level": s.level,
                "problem": s.problem, "problem_code": s.problem_code}
    result = s.settlement
    return {"key": s.key, "benefit_class": s.benefit_class, "level": s.level,
            "amounts": result.amounts.as_dict(), "medical_year": result.medical_year,
            "steps": [{"code": st.code, "text": step_sentence(st, lang)}
                      for st in result.steps
                      if not st.code.endswith(("not_configured", "not_applicable"))]}

