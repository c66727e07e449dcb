"""`medsettle conformance --his URL`: MedSettle plays the platform and checks a HIS.

For each scenario the kit POSTs an order to the HIS's hook, `{URL}/conformance/run`, naming the
kit's platform endpoint, the institution, the test person and what to do; the HIS plays the
scenario against that endpoint (its real HIS code, pointed at the kit) and answers the hook when
done. The kit then checks what arrived: each envelope's form, the messages' order, and that the
HIS used what the platform answered (sign_no, mdtrt_id, setl_id, totals). docs/conformance.md
describes the hook and every scenario.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from medsettle.adapters.kit.config import KitConfig, KitPerson
from medsettle.adapters.kit.recorder import Received, Recorder
from medsettle.adapters.kit.results import ScenarioResult, Step
from medsettle.sdk.client import beijing_now, person_of

_VISIT = r"(9001 )?1101 2201 (2203 )?(2204 )+(2206 )?"
#: scenario → (what it checks, the order its messages must come in, as infnos, and in words).
ORDERS: dict[str, tuple[str, str, str]] = {
    "sign-in": ("The HIS signs in with 9001 first.", r"9001", "9001"),
    "person-info": ("1101 by e-voucher (01), ID card (02) and card with card_sn (03), in that "
                    "order.", r"(9001 )?1101 1101 1101", "[9001] 1101 1101 1101"),
    "outpatient": ("A general outpatient visit, settled.", _VISIT + "2207",
                   "[9001] 1101 2201 [2203] 2204… [2206] 2207"),
    "inpatient": ("A stay, discharged and settled.",
                  r"(9001 )?1101 2401 (2301 )+2402 (2303 )?2304",
                  "[9001] 1101 2401 2301… 2402 [2303] 2304"),
    "chronic": ("A chronic-disease visit: 2201 with med_type 14 and the disease.",
                _VISIT + "2207", "[9001] 1101 2201(14) [2203] 2204… [2206] 2207"),
    "cancel": ("An outpatient visit settled, then its settlement cancelled (2208).",
               _VISIT + "2207 2208", "… 2207 2208"),
    "reversal": ("The answer to 2207 is lost (HTTP 504): the HIS reverses it with 2601 naming "
                 "its msgid.", _VISIT + "(2207 )+2601", "… 2207 [same 2207 again] 2601"),
    "reconciliation": ("3201 with the HIS's own totals of its settlements today: they must "
                       "balance.", r"(9001 )?3201", "[9001] 3201"),
    "bad-input": ("1101 for an unknown person is refused: the HIS stops there.",
                  r"(9001 )?1101", "[9001] 1101, then nothing"),
}
#: Insutype and clearing type the reconciliation scenario asks totals of.
RECONCILE = {"insutype": "310", "clr_type": "11"}
UNKNOWN_CERTNO = "440304199909090015"


def _credential(who: KitPerson, kind: str = "02") -> dict[str, str]:
    number = {"01": who.evoucher, "02": who.certno, "03": who.card_no}[kind]
    return {"cert_type": kind, "cert_no": number, "card_sn": who.card_sn if kind == "03" else "",
            "insuplc_admdvs": who.insuplc_admdvs}


def order_for(name: str, config: KitConfig, platform: str, today: date) -> dict[str, Any]:
    """The hook's order for one scenario."""
    base: dict[str, Any] = {
        "scenario": name, "platform": platform, "fixmedins_code": config.fixmedins_code,
        "fixmedins_name": config.fixmedins_name, "mdtrtarea_admvs": config.mdtrtarea_admvs}
    who = {"inpatient": config.inpatient, "chronic": config.chronic}.get(name,
                                                                          config.outpatient)
    lines = config.inpatient_lines if name == "inpatient" else config.outpatient_lines
    base |= {"person": _credential(who), "insutype": who.insutype,
             "lines": [line.model_dump() for line in lines], "inpatient": name == "inpatient",
             "med_type": "14" if name == "chronic" else "11",
             "dise_codg": who.chronic if name == "chronic" else ""}
    if name == "person-info":
        base["credentials"] = [_credential(who, kind) for kind in ("01", "02", "03")]
    if name == "reconciliation":
        base["reconcile"] = {**RECONCILE, "setl_optins": config.mdtrtarea_admvs,
                             "date": today.isoformat()}
    if name == "bad-input":
        base["person"] = {**_credential(who), "cert_no": UNKNOWN_CERTNO}
    return base


class RunState:
    """What the platform gave the HIS during the run, to check the HIS used it."""

    def __init__(self, config: KitConfig) -> None:
        self.config = config
        self.sign_nos: set[str] = set()
        self.visits: set[str] = set()
        self.fees: dict[str, Decimal] = {}  # mdtrt_id → accepted fee total
        self.settled: dict[str, str] = {}  # msgid of the settlement → setl_id
        self.insured: dict[str, str] = {}  # psn_no → insuplc_admdvs, as 1101 answered
        self.msgids: dict[str, Any] = {}  # msgid → (infno, input)

    def check(self, msg: Received, step: Step) -> None:
        """The rules of one message given what came before; then learn from its answer."""
        env = msg.envelope or {}
        raw_input = env.get("input")
        data: dict[str, Any] = raw_input if isinstance(raw_input, dict) else {}
        code = self.config.fixmedins_code
        msgid = str(env.get("msgid", ""))
        step.expect(re.fullmatch(rf"{re.escape(code)}\d{{18}}", msgid) is not None, "msgid",
                    "fixmedins_code(12) + yyyyMMddHHmmss(14) + serial(4) (interface.md §2)",
                    msgid)
        earlier = self.msgids.setdefault(msgid, (env.get("infno"), data))
        step.expect(earlier == (env.get("infno"), data), "msgid",
                    "its own msgid per message; only an exact retry repeats one", msgid)
        step.expect(env.get("fixmedins_code") == code, "fixmedins_code",
                    f"the institution of the order ({code})", env.get("fixmedins_code"))
        if env.get("infno") != "9001":
            step.expect(env.get("sign_no") in self.sign_nos, "sign_no",
                        "a sign_no the platform answered to this HIS's 9001", env.get("sign_no"))
        person = person_of(data)
        if person:
            step.expect(bool(env.get("insuplc_admdvs")), "insuplc_admdvs",
                        "required when the input carries psn_no: take it from 1101 insuinfo "
                        "(interface.md §5)", env.get("insuplc_admdvs"))
            place = self.insured.get(person)
            step.expect(not env.get("insuplc_admdvs") or place in (None,
                                                                   env.get("insuplc_admdvs")),
                        "insuplc_admdvs", f"the insured place 1101 answered ({place})",
                        env.get("insuplc_admdvs"))
        visit = _find(data, "mdtrt_id")
        if visit and env.get("infno") not in ("2201", "2401"):
            step.expect(visit in self.visits, "input.*.mdtrt_id",
                        "the mdtrt_id the platform answered to 2201/2401", visit)
        if env.get("infno") in ("2206", "2207", "2303", "2304") and visit:
            total = _find(data, "medfee_sumamt")
            step.expect(_amount(total) == self.fees.get(visit), "input.data.medfee_sumamt",
                        "the sum of the visit's accepted fee lines (2204/2301)", total)
        if env.get("infno") in ("2208", "2305"):
            step.expect(_find(data, "setl_id") in self.settled.values(), "input.data.setl_id",
                        "the setl_id the platform answered to 2207/2304", _find(data, "setl_id"))
        self._learn(msg)

    def _learn(self, msg: Received) -> None:
        answer, env = msg.answer or {}, msg.envelope or {}
        out = answer.get("output") if answer.get("infcode") == 0 else None
        if not isinstance(out, dict):
            return
        infno = env.get("infno")
        if infno == "9001":
            self.sign_nos.add(str(out.get("signinoutb", {}).get("sign_no")))
        elif infno == "1101" and out.get("insuinfo"):
            self.insured[str(out.get("baseinfo", {}).get("psn_no"))] = str(
                out["insuinfo"][0].get("insuplc_admdvs"))
        elif infno in ("2201", "2401"):
            self.visits.add(str(out.get("data", {}).get("mdtrt_id")))
        elif infno in ("2204", "2301"):
            for line in out.get("result", []):
                visit = str(line.get("mdtrt_id"))
                self.fees[visit] = self.fees.get(visit, Decimal("0.00")) + (
                    _amount(line.get("det_item_fee_sumamt")) or Decimal(0))
        elif infno in ("2207", "2304"):
            self.settled[str(env.get("msgid"))] = str(out.get("setlinfo", {}).get("setl_id"))


def _find(data: dict[str, Any], key: str) -> Any:
    for node in data.values():
        node = node[0] if isinstance(node, list) and node else node
        if isinstance(node, dict) and key in node:
            return node[key]
    return None


def _amount(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError:
        return None


def check_scenario(name: str, messages: list[Received], state: RunState,
                   order: dict[str, Any]) -> ScenarioResult:
    """A scenario's result from the messages the HIS sent for it."""
    title, pattern, words = ORDERS[name]
    result = ScenarioResult(name, title)
    for msg in messages:
        step = Step(f"received {msg.infno}" + (" (answer lost)" if msg.lost else ""), msg.infno,
                    msg.msgid, msg.envelope, msg.answer, list(msg.failures))
        state.check(msg, step)
        result.steps.append(step)
    seen = " ".join(m.infno for m in messages)
    step = Step("order of the messages")
    result.steps.append(step)
    step.expect(re.fullmatch(pattern, seen) is not None, "infno",
                f"the {name} scenario's messages in order: {words}", seen or "(nothing)")
    _scenario_rules(name, messages, step, order)
    return result


def _scenario_rules(name: str, messages: list[Received], step: Step,
                    order: dict[str, Any]) -> None:
    inputs = [(m.infno, (m.envelope or {}).get("input") or {}, m) for m in messages]
    if name == "person-info":
        kinds = [_find(i, "mdtrt_cert_type") for infno, i, _ in inputs if infno == "1101"]
        step.expect(kinds == ["01", "02", "03"], "input.data.mdtrt_cert_type",
                    "01, 02 and 03 in the order given", kinds)
        cards = [i for infno, i, _ in inputs if _find(i, "mdtrt_cert_type") == "03"]
        step.expect(all(_find(i, "card_sn") for i in cards), "input.data.card_sn",
                    "required with mdtrt_cert_type 03")
    if name == "chronic":
        opened = [i for infno, i, _ in inputs if infno == "2201"]
        step.expect(bool(opened) and _find(opened[0], "med_type") == "14"
                    and _find(opened[0], "dise_codg") == order["dise_codg"],
                    "input.data.med_type", f"14 with dise_codg {order['dise_codg']}")
    if name == "reversal":
        lost = [m for infno, i, m in inputs if infno == "2207"]
        undo = [i for infno, i, _ in inputs if infno == "2601"]
        msgids = {m.msgid for m in lost}
        step.expect(len(msgids) == 1, "msgid", "the lost 2207 is only ever resent with its own "
                                                "msgid, never as a new message", sorted(msgids))
        step.expect(bool(undo) and _find(undo[0], "omsgid") in msgids
                    and _find(undo[0], "oinfno") == "2207", "input.data.omsgid",
                    "2601 names the lost 2207's msgid and oinfno 2207",
                    undo[0] if undo else "no 2601")
    if name == "reconciliation":
        answers = [m.answer or {} for infno, _, m in inputs if infno == "3201"]
        result = (answers[0].get("output") or {}).get("stmt_rslt") if answers else None
        step.expect(result == "0", "output.stmt_rslt",
                    "0: the HIS's totals of today's settlements balance with the platform's",
                    (answers[0].get("output") or {}).get("stmt_rslt_dscr") if answers else None)


#: Hands an order to the HIS and waits until it is played; an error text, or None.
Deliver = Callable[[dict[str, Any]], "str | None"]


def hook(his_url: str, http: httpx.Client | None = None) -> Deliver:
    """Push mode: POST each order to the HIS's `/conformance/run` and wait for its answer."""
    client = http or httpx.Client(timeout=120)

    def deliver(order: dict[str, Any]) -> str | None:
        try:
            response = client.post(his_url.rstrip("/") + "/conformance/run", json=order)
        except httpx.HTTPError as exc:
            return f"the HIS's hook could not be reached: {exc}"
        return None if response.status_code == 200 else \
            f"the HIS's hook answered HTTP {response.status_code}"
    return deliver


def pull(recorder: Recorder, wait: float = 120.0) -> Deliver:
    """Pull mode: offer each order at the kit's `GET /conformance/order` and wait for the HIS's
    `POST /conformance/done`."""
    def deliver(order: dict[str, Any]) -> str | None:
        recorder.offer(order)
        if recorder.order_done.wait(wait):
            return None
        return f"the HIS did not report the order done within {wait:.0f} s"
    return deliver


def run_his(deliver: Deliver, config: KitConfig, names: list[str], recorder: Recorder,
            on_done: Callable[[ScenarioResult], None] | None = None) -> list[ScenarioResult]:
    """Play the scenarios through a HIS (each order handed over by `deliver`); their results."""
    state = RunState(config)
    results = []
    today = beijing_now().date()
    for name in names:
        order = order_for(name, config, recorder.url, today)
        recorder.begin(lose="2207" if name == "reversal" else None)
        started = time.perf_counter()
        error = deliver(order)
        result = check_scenario(name, recorder.end(), state, order)
        result.error, result.seconds = error, time.perf_counter() - started
        results.append(result)
        if on_done is not None:
            on_done(result)
    recorder.offer(None)
    return results
