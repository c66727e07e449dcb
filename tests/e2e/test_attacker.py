"""A property-based attacker against a running federation (SQLite and PostgreSQL).

Hypothesis draws sequences of requests, each made by one institution, province, operator or
person with its own credentials against something it does not own (attackers.py sets the cast
up), mixed with the owners' own reads. After every request: nothing anybody owns changed, the
answer is a refusal (or an answer that reveals nothing of the victim: no name, no ID number, no
amount, no id the attacker did not send), never a server error nor `[internal]`; and the owner's
own read of the same thing still works, so a refusal means the door is closed, not that the
request was malformed. bench/bench_attacker.py runs the same with many more examples.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medsettle.adapters.federation import signed_headers
from medsettle.adapters.launcher import Federation
from medsettle.core.errors import MedSettleError
from tests.e2e import attackers as a

EXAMPLES = int(os.environ.get("MEDSETTLE_ATTACK_EXAMPLES", "10"))
STEPS = int(os.environ.get("MEDSETTLE_ATTACK_STEPS", "6"))


@dataclass
class Answer:
    """What came back: refused or not, and the whole text to search for leaks."""

    refused: bool
    text: str
    status: int = 200


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def cast(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[a.Cast]:
    pg_url = None
    if request.param == "postgres":
        pg_url = os.environ.get("MEDSETTLE_PG_URL")
        if not pg_url:
            pytest.fail("MEDSETTLE_PG_URL is not set: the PostgreSQL run must not be skipped")
    workdir: Path = tmp_path_factory.mktemp(f"attack-{request.param}")
    fed = Federation(workdir, a.rows_with_nanshan(), pg_url=pg_url, call_timeout=3.0,
                     his_timeout=4.0)
    try:
        fed.start()
        players = a.assemble(fed)
        yield players
        players.close()
    finally:
        fed.close()


# --- the requests, by kind of actor ---------------------------------------------------------

def his_answer(his_answer: dict[str, Any]) -> Answer:
    return Answer(his_answer["infcode"] != 0, json.dumps(his_answer, ensure_ascii=False))


def his_call(inst: a.Institution, infno: str, data: dict[str, Any], insuplc: str, *,
             as_code: str | None = None) -> Answer:
    """`inst`'s HIS sends one message to its own gateway (as another institution if
    `as_code`, still with its own sign-in)."""
    envelope = inst.his.envelope(infno, {"data": data}, insuplc=insuplc)
    if as_code is not None:
        envelope["fixmedins_code"] = as_code
        envelope["msgid"] = as_code + envelope["msgid"][12:]
    return his_answer(inst.his.send(envelope))


def insuplc(asset: a.Asset) -> str:
    return str(asset.person["insu_admdvs"])


HIS_ATTACKS: dict[str, Callable[[a.Institution, a.Asset], Answer]] = {
    "2208 cancel its settlement": lambda i, s: his_call(i, "2208", {
        "setl_id": s.setl_id or s.mdtrt_id, "mdtrt_id": s.mdtrt_id,
        "psn_no": s.person["psn_no"]}, insuplc(s)),
    "2601 reverse its settle message": lambda i, s: his_call(i, "2601", {
        "psn_no": s.person["psn_no"], "omsgid": s.msgid, "oinfno": s.infno},
        insuplc(s)),
    "2202 cancel its registration": lambda i, s: his_call(i, "2202", {
        "psn_no": s.person["psn_no"], "mdtrt_id": s.mdtrt_id, "ipt_otp_no": "MZ0000000001"},
        insuplc(s)),
    "5203 read its settlement": lambda i, s: his_call(i, "5203", {
        "psn_no": s.person["psn_no"], "mdtrt_id": s.mdtrt_id}, insuplc(s)),
    "5204 read its fee lines": lambda i, s: his_call(i, "5204", {
        "psn_no": s.person["psn_no"], "mdtrt_id": s.mdtrt_id}, insuplc(s)),
    "5203 as its owner, with its own sign-in": lambda i, s: his_call(i, "5203", {
        "psn_no": s.person["psn_no"], "mdtrt_id": s.mdtrt_id}, insuplc(s),
        as_code=s.institution),
    "2208 as its owner, with its own sign-in": lambda i, s: his_call(i, "2208", {
        "setl_id": s.setl_id or s.mdtrt_id, "mdtrt_id": s.mdtrt_id,
        "psn_no": s.person["psn_no"]}, insuplc(s), as_code=s.institution),
    "2502 revoke the referral its owner filed": lambda i, s: his_call(i, "2502", {
        "psn_no": s.person["psn_no"], "trt_dcla_detl_sn": s.referral_no or s.filing_no or "BA0",
        "memo": "撤销"}, insuplc(s)),
}


def federation_call(p: a.Province, to: str, op: str, payload: dict[str, Any]) -> Answer:
    try:
        result = p.hub.call(to, op, f"{p.region}ATTACK{datetime.now(UTC):%H%M%S%f}", payload)
    except MedSettleError as exc:
        return Answer(True, f"[{exc.code}] {exc}")
    return Answer(False, json.dumps(result, ensure_ascii=False, default=str))


def direct_call(p: a.Province, fed: Federation, to: str, op: str,
                payload: dict[str, Any]) -> Answer:
    """`p` signs with its own key and calls province `to` directly, not through the hub."""
    path = f"/fed/v1/ops/{op}"
    body = json.dumps({"from": p.region, "msgid": f"{p.region}DIRECT01",
                       "payload": payload}).encode()
    r = httpx.post(fed.urls[to] + path, content=body, timeout=10,
                   headers=signed_headers(p.key, p.region, path, body))
    return Answer(r.status_code >= 400, r.text, r.status_code)


LINE = {"cls": "A", "price": "9999.00", "count": "9", "selfpay_prop": "0", "cap_price": None,
        "restricted_ok": True, "code": "XA01ABD075A002010100483"}

NODE_ATTACKS: dict[str, Callable[[a.Province, a.Asset, Federation], Answer]] = {
    "cancel its settlement at the insured node": lambda p, s, fed: federation_call(
        p, s.insured, "cancel_settlement", {"settlement_id": s.setl_id or s.mdtrt_id,
                                            "cancel_id": p.region + "1" * 24}),
    "settle its visit with made-up lines": lambda p, s, fed: federation_call(
        p, s.insured, "settle", {
            "visit_id": s.mdtrt_id, "settlement_id": p.region + "2" * 24,
            "person_id": s.person["psn_no"], "insutype": "310", "visit_type": "outpatient",
            "med_type": "11", "level": "L3", "lines": [LINE], "institution": s.institution,
            "treating_region": p.region[:4] + "00", "insured_region": insuplc(s)}),
    "cancel its registration at the insured node": lambda p, s, fed: federation_call(
        p, s.insured, "cancel_visit", {"visit_id": s.mdtrt_id, "institution": s.institution}),
    "reverse its settle msgid": lambda p, s, fed: federation_call(
        p, s.insured, "reverse", {"original": s.msgid, "original_infno": s.infno,
                                  "cancel_id": p.region + "3" * 24,
                                  "institution": s.institution}),
    "read its fee lines at the treating node": lambda p, s, fed: federation_call(
        p, s.treating, "settlement_lines", {"settlement_id": s.setl_id or s.mdtrt_id,
                                            "person_id": s.person["psn_no"]}),
    "revoke the referral its institution filed": lambda p, s, fed: federation_call(
        p, s.insured, "revoke_filing", {"person_id": s.person["psn_no"],
                                        "filing_no": s.referral_no or s.filing_no or "BA0",
                                        "institution": s.institution}),
    "file a referral of its person into a third province": lambda p, s, fed: federation_call(
        p, s.insured, "file_referral", {"person_id": s.person["psn_no"], "destination": "110100",
                                        "begins": f"{datetime.now(UTC):%Y-%m-%d}",
                                        "institution": s.institution}),
    "call the insured node directly, not through the hub": lambda p, s, fed: direct_call(
        p, fed, s.insured, "cancel_settlement", {"settlement_id": s.setl_id or s.mdtrt_id,
                                                 "cancel_id": p.region + "4" * 24}),
}


def operator_request(o: a.Operator, fed: Federation, method: str, node: str, path: str,
                     body: dict[str, Any] | None = None) -> Answer:
    url = fed.hub_url if node == "hub" else fed.urls[node]
    r = httpx.request(method, url + path, json=body, timeout=10,
                      headers={"Authorization": f"Bearer {o.token}"})
    return Answer(r.status_code >= 400, r.text, r.status_code)


def month() -> str:
    return f"{datetime.now(UTC):%Y-%m}"


OPERATOR_ATTACKS: dict[str, Callable[[a.Operator, a.Asset, Federation], Answer]] = {
    "read the person's filings at their node": lambda o, s, fed: operator_request(
        o, fed, "GET", s.insured, f"/api/v1/persons/{s.person['psn_no']}/filings"),
    "cancel the person's filing at their node": lambda o, s, fed: operator_request(
        o, fed, "POST", s.insured, f"/api/v1/filings/{s.filing_no or 'BA0'}/cancel", {}),
    "top up the insured province's prepayment at the hub": lambda o, s, fed: operator_request(
        o, fed, "POST", "hub", f"/prepayment/{s.insured}/topup", {"amount": 100}),
    "confirm the insured province's statement at the hub": lambda o, s, fed: operator_request(
        o, fed, "POST", "hub", f"/clearing/{month()}/statements/{s.insured}/confirm",
        {"side": "insured"}),
}


def person_request(p: a.Person, method: str, path: str) -> Answer:
    r = p.http.request(method, path, headers={"X-CSRF-Token": p.csrf},
                       json={} if method == "POST" else None)
    return Answer(r.status_code >= 400, r.text, r.status_code)


PERSON_ATTACKS: dict[str, Callable[[a.Person, a.Asset], Answer]] = {
    "read the victim's settlement": lambda p, s: person_request(
        p, "GET", f"/api/v1/me/settlements/{s.setl_id or s.mdtrt_id}"),
    "list the victim's settlements": lambda p, s: person_request(
        p, "GET", f"/api/v1/me/settlements?for={s.person['psn_no']}"),
    "read the victim's filings": lambda p, s: person_request(
        p, "GET", f"/api/v1/me/filings?for={s.person['psn_no']}"),
    "read the victim's year": lambda p, s: person_request(
        p, "GET", f"/api/v1/me/year?for={s.person['psn_no']}"),
    "cancel the victim's filing": lambda p, s: person_request(
        p, "POST", f"/api/v1/me/filings/{s.filing_no or 'BA0'}/cancel"),
}


# --- who owns what ---------------------------------------------------------------------------

def owns(actor: object, asset: a.Asset) -> bool:
    if isinstance(actor, a.Institution):
        return actor.code == asset.institution
    if isinstance(actor, a.Province):
        return actor.region in (asset.treating, asset.insured)
    if isinstance(actor, a.Operator):
        return actor.node in (asset.insured, "hub")
    if isinstance(actor, a.Person):
        return actor.who["psn_no"] == asset.person["psn_no"]
    raise TypeError(actor)


def owner_reads(cast: a.Cast, asset: a.Asset) -> list[Callable[[], Answer]]:
    """The owners' own reads of the asset, which must succeed and name it: the treating
    institution's 5203 (5204 for an open visit), the insured province's operator's list of the
    person's filings, the person's own settlement in the app."""
    inst = next(i for i in cast.institutions if i.code == asset.institution)
    infno = "5203" if asset.setl_id else "5204"
    reads: list[Callable[[], Answer]] = [lambda: his_call(inst, infno, {
        "psn_no": asset.person["psn_no"], "mdtrt_id": asset.mdtrt_id}, insuplc(asset))]
    clerk = next(o for o in cast.operators if o.node == asset.insured)
    reads.append(lambda: operator_request(clerk, cast.fed, "GET", asset.insured,
                                          f"/api/v1/persons/{asset.person['psn_no']}/filings"))
    me = [p for p in cast.persons if owns(p, asset)]
    if me and asset.setl_id:
        reads.append(lambda: person_request(me[0], "GET",
                                            f"/api/v1/me/settlements/{asset.setl_id}"))
    return reads


def owner_read(cast: a.Cast, asset: a.Asset, which: int) -> Answer:
    reads = owner_reads(cast, asset)
    return reads[which % len(reads)]()


def revealed(answer: Answer) -> set[str]:
    """Every text value of an answer that is not a refusal (a HIS answer's `output` only)."""
    try:
        doc = json.loads(answer.text)
    except json.JSONDecodeError:
        return {answer.text}
    if isinstance(doc, dict) and "infcode" in doc:
        doc = doc.get("output")
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif value is not None:
            found.add(str(value))
    walk(doc)
    return found


@dataclass(frozen=True)
class Step:
    kind: str  # his, node, operator, person, owner
    verb: str
    actor: Any
    asset: a.Asset

    def __repr__(self) -> str:
        return f"{self.actor!r} → {self.verb} of {self.asset!r}"


def steps(cast: a.Cast) -> st.SearchStrategy[Step]:
    def attack(kind: str, verbs: dict[str, Any], actors: list[Any]) -> st.SearchStrategy[Step]:
        pairs = [(x, s) for x in actors for s in cast.assets if not owns(x, s)]
        return st.builds(lambda verb, pair: Step(kind, verb, pair[0], pair[1]),
                         st.sampled_from(sorted(verbs)), st.sampled_from(pairs))

    return st.one_of(
        attack("his", HIS_ATTACKS, cast.institutions),
        attack("node", NODE_ATTACKS, cast.provinces),
        attack("operator", OPERATOR_ATTACKS, [o for o in cast.operators if o.node != "hub"]),
        attack("person", PERSON_ATTACKS, cast.persons),
        st.builds(lambda s, n: Step("owner", f"its own read #{n}", n, s),
                  st.sampled_from(cast.assets), st.integers(0, 2)),
    )


def run(step: Step, cast: a.Cast) -> Answer:
    fed = cast.fed
    if step.kind == "his":
        return HIS_ATTACKS[step.verb](step.actor, step.asset)
    if step.kind == "node":
        return NODE_ATTACKS[step.verb](step.actor, step.asset, fed)
    if step.kind == "operator":
        return OPERATOR_ATTACKS[step.verb](step.actor, step.asset, fed)
    if step.kind == "person":
        return PERSON_ATTACKS[step.verb](step.actor, step.asset)
    return owner_read(cast, step.asset, step.actor)


def check(step: Step, answer: Answer, before: dict[str, str], after: dict[str, str]) -> None:
    changed = sorted(k for k in before if before[k] != after[k])
    assert not changed, f"{step!r} changed {changed}: {answer.text[:300]}"
    assert answer.status < 500 and "[internal]" not in answer.text, (step, answer.text[:300])
    if step.kind == "owner":
        assert not answer.refused, (step, answer.text[:300])
        named = {step.asset.mdtrt_id, step.asset.filing_no, step.asset.setl_id} - {""}
        assert named & revealed(answer), (step, answer.text[:300])
        return
    leaked = [s for s in step.asset.secrets if s in answer.text]
    assert not leaked, f"{step!r} read {leaked}: {answer.text[:300]}"
    if not answer.refused:  # an empty answer is fine; one about the victim is not
        about = {step.asset.mdtrt_id, step.asset.setl_id, step.asset.filing_no} - {""}
        assert not about & revealed(answer), f"{step!r} read: {answer.text[:300]}"


def test_nobody_changes_or_reads_what_they_do_not_own(cast: a.Cast) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(steps(cast), min_size=1, max_size=STEPS))
    def attack(sequence: list[Step]) -> None:
        for step in sequence:
            before = a.snapshot(cast.fed)
            answer = run(step, cast)
            check(step, answer, before, a.snapshot(cast.fed))

    attack()
