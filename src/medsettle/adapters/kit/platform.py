"""`medsettle conformance --platform URL`: the kit plays a HIS through scripted scenarios and checks
every answer (docs/conformance.md lists each scenario's messages and rules)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import httpx

from medsettle.adapters.kit.config import KitConfig, KitLine, KitPerson
from medsettle.adapters.kit.results import ScenarioResult, Step
from medsettle.adapters.kit.session import Session, check_envelope, run_steps
from medsettle.sdk import Reversed
from medsettle.sdk import money as m
from medsettle.sdk import queries as q
from medsettle.sdk import visits as v
from medsettle.sdk.client import Signer

#: The amounts of setlinfo a cancel negates and a pre-settlement predicts.
AMOUNTS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
           "inscp_scp_amt", "hifp_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay",
           "psn_cash_pay")
BALANCE = "interface.md §7 balance rule: "


class Visit:
    """What the kit knows of a visit it opened."""

    def __init__(self, who: KitPerson, psn_no: str, mdtrt_id: str, total: Decimal,
                 inpatient: bool, med_type: str) -> None:
        self.who, self.psn_no, self.mdtrt_id = who, psn_no, mdtrt_id
        self.total, self.inpatient, self.med_type = total, inpatient, med_type

    def settlement(self, total: Decimal | None = None) -> m.Settlement:
        """The `data` of 2206/2207 or 2303/2304 for this visit."""
        return m.Settlement(
            psn_no=self.psn_no, mdtrt_cert_type="02", mdtrt_cert_no=self.who.certno,
            med_type=self.med_type, medfee_sumamt=self.total if total is None else total,
            mdtrt_id=self.mdtrt_id, insutype=self.who.insutype, acct_used_flag="1",
            mid_setl_flag="0" if self.inpatient else "",
            insuplc_admdvs=self.who.insuplc_admdvs, certno=self.who.certno,
            psn_cert_type="01")


def check_settlement(step: Step, answer: m.SettlementAnswer, visit: Visit,
                     total: Decimal) -> None:
    """The balance rules, and that the settlement is of this visit and this total."""
    for field, rule in answer.balance_errors():
        step.expect(False, f"output.setlinfo.{field}", BALANCE + rule)
    info = answer.setlinfo
    step.expect(info.mdtrt_id == visit.mdtrt_id, "output.setlinfo.mdtrt_id",
                "the visit's mdtrt_id", info.mdtrt_id)
    step.expect(info.psn_no == visit.psn_no, "output.setlinfo.psn_no", "the person's psn_no",
                info.psn_no)
    step.expect(info.medfee_sumamt == total, "output.setlinfo.medfee_sumamt",
                f"the total sent ({total})", str(info.medfee_sumamt))


def open_visit(s: Session, who: KitPerson, lines: list[KitLine], *, inpatient: bool = False,
               med_type: str = "11", disease: str = "") -> Visit | None:
    """Sign in, 1101, 2201 (+2203) or 2401, and the fee lines (2204/2301)."""
    if not s.sign_in():
        return None
    psn_no = s.person(who, "02")
    if psn_no is None:
        return None
    if inpatient:
        opened = s.send("2401 admission", v.AdmissionRequest(mdtrtinfo=v.Admission(
            psn_no=psn_no, insutype=who.insutype, begntime=s.now - timedelta(days=3),
            mdtrt_cert_type="02", mdtrt_cert_no=who.certno, ipt_no=f"ZY{s.his.msgid()[-12:]}",
            atddr_no="D001", chfpdr_name="王主任", adm_diag_dscr="肺炎", adm_dept_codg="A03",
            adm_dept_name="内科", dscg_maindiag_code="J18.9", dscg_maindiag_name="肺炎",
            dise_codg="J18.9", dise_name="肺炎", insuplc_admdvs=who.insuplc_admdvs,
            certno=who.certno)), insuplc=who.insuplc_admdvs)
    else:
        opened = s.send("2201 registration", v.RegisterRequest(data=v.Registration(
            psn_no=psn_no, insutype=who.insutype, begntime=s.visit_time(),
            mdtrt_cert_type="02", mdtrt_cert_no=who.certno, ipt_otp_no=f"MZ{s.his.msgid()[-12:]}",
            atddr_no="D001", dr_name="李医生", dept_code="A03", dept_name="内科", caty="A03",
            med_type=med_type, dise_codg=disease)), insuplc=who.insuplc_admdvs)
    if opened is None or opened.output is None:
        return None
    mdtrt_id = opened.output.data.mdtrt_id
    if not inpatient:
        s.send("2203 visit information", v.VisitInfoRequest(mdtrtinfo=v.VisitInfo(
            mdtrt_id=mdtrt_id, psn_no=psn_no, med_type=med_type, begntime=s.visit_time(),
            dise_codg=disease or "I10", dise_name="原发性高血压"), diseinfo=[v.Diagnosis(
                diag_type="1", diag_srt_no="1", diag_code="I10", diag_name="原发性高血压",
                diag_dept="内科", dise_dor_no="D001", dise_dor_name="李医生",
                diag_time=s.visit_time())]), insuplc=who.insuplc_admdvs)
    details = s.lines(who, psn_no, mdtrt_id, lines, "ZY" if inpatient else "MZ")
    request = (m.InpatientFeeUploadRequest if inpatient else m.FeeUploadRequest)(
        feedetail=details)
    uploaded = s.send(f"{request.INFNO} fee details", request, insuplc=who.insuplc_admdvs)
    if uploaded is None or uploaded.output is None:
        return None
    check_fees(s.result.steps[-1], details, uploaded.output)
    total = sum((d.det_item_fee_sumamt for d in details), Decimal("0.00"))
    return Visit(who, psn_no, mdtrt_id, total, inpatient, "21" if inpatient else med_type)


def check_fees(step: Step, sent: list[m.FeeDetail], answer: m.FeesAnswer) -> None:
    """One result per line, in scope = amount - fully self-paid - over cap - paid first."""
    step.expect([r.feedetl_sn for r in answer.result] == [d.feedetl_sn for d in sent],
                "output.result[].feedetl_sn", "one result per line sent, in order",
                [r.feedetl_sn for r in answer.result])
    for i, r in enumerate(answer.result):
        rest = r.det_item_fee_sumamt - r.fulamt_ownpay_amt - r.overlmt_amt - r.preselfpay_amt
        step.expect(r.inscp_scp_amt == rest, f"output.result[{i}].inscp_scp_amt",
                    "= det_item_fee_sumamt - fulamt_ownpay_amt - overlmt_amt - preselfpay_amt",
                    str(r.inscp_scp_amt))


def settle(s: Session, visit: Visit, *, pre: bool = True) -> m.SettlementAnswer | None:
    """2206 then 2207 (2402, 2303, 2304 for a stay); the settlement, checked."""
    who = visit.who
    if visit.inpatient:
        s.send("2402 discharge", v.DischargeRequest(dscginfo=v.DischargeInfo(
            mdtrt_id=visit.mdtrt_id, psn_no=visit.psn_no, insutype=who.insutype,
            endtime=s.now - timedelta(minutes=10), dise_codg="J18.9", dise_name="肺炎",
            dscg_way="1", dscg_dept_code="A03", dscg_dept_name="内科")),
            insuplc=who.insuplc_admdvs)
    kind = (m.InpatientPreSettleRequest, m.InpatientSettleRequest) if visit.inpatient else (
        m.PreSettleRequest, m.SettleRequest)
    predicted = None
    if pre:
        done = s.send(f"{kind[0].INFNO} pre-settlement", kind[0](data=visit.settlement()),
                      insuplc=who.insuplc_admdvs)
        if done is not None and done.output is not None:
            check_settlement(s.result.steps[-1], done.output, visit, visit.total)
            predicted = done.output
    done = s.send(f"{kind[1].INFNO} settlement", kind[1](data=visit.settlement()),
                  insuplc=who.insuplc_admdvs)
    if done is None or done.output is None:
        return None
    step = s.result.steps[-1]
    check_settlement(step, done.output, visit, visit.total)
    step.expect(bool(done.output.setlinfo.setl_id), "output.setlinfo.setl_id",
                "the settlement's id, required in a settlement's answer")
    if predicted is not None:
        for name in AMOUNTS:
            got, said = getattr(done.output.setlinfo, name), getattr(predicted.setlinfo, name)
            step.expect(got == said, f"output.setlinfo.{name}",
                        f"the pre-settlement's amount ({said})", str(got))
    return done.output


def sign_in(s: Session) -> None:
    """9001 answers a sign_no; a message without one is refused naming sign_no."""
    s.sign_in()
    envelope = s.his.envelope(v.PersonInfoRequest(data=v.PersonQuery(
        mdtrt_cert_type="02", mdtrt_cert_no=s.config.outpatient.certno)))
    envelope["sign_no"] = ""
    s.send_raw("1101 without sign_no", envelope, expect_ok=False, names=("sign_no",))


def person_info(s: Session) -> None:
    """1101 by each credential finds the same person, insured where expected."""
    if not s.sign_in():
        return
    who = s.config.outpatient
    found = [s.person(who, kind) for kind, given in (("01", who.evoucher), ("02", who.certno),
                                                     ("03", who.card_no)) if given]
    step = s.result.steps[-1]
    step.expect(len(set(found)) == 1 and None not in found, "output.baseinfo.psn_no",
                "the same person by every credential", found)


def outpatient(s: Session) -> None:
    """A general outpatient visit, settled; 5203 finds the settlement."""
    visit = open_visit(s, s.config.outpatient, s.config.outpatient_lines)
    settled = settle(s, visit) if visit else None
    if visit is None or settled is None:
        return
    found = s.send("5203 settlement query", q.SettlementQueryRequest(data=q.SettlementQuery(
        psn_no=visit.psn_no, setl_id=settled.setlinfo.setl_id or "")),
        insuplc=visit.who.insuplc_admdvs)
    if found is not None and found.output is not None:
        ids = [row.setl_id for row in found.output.setlinfo]
        s.result.steps[-1].expect(settled.setlinfo.setl_id in ids, "output.setlinfo[].setl_id",
                                  "lists the settlement just made", ids)


def inpatient(s: Session) -> None:
    """A stay: 2401, 2301, 2402, 2303, 2304."""
    visit = open_visit(s, s.config.inpatient, s.config.inpatient_lines, inpatient=True)
    if visit is not None:
        settle(s, visit)


def chronic(s: Session) -> None:
    """An outpatient chronic-disease visit (med_type 14 with the disease)."""
    who = s.config.chronic
    visit = open_visit(s, who, s.config.outpatient_lines[:2], med_type="14",
                       disease=who.chronic)
    settled = settle(s, visit, pre=False) if visit else None
    if settled is not None:
        s.result.steps[-1].expect(settled.setlinfo.med_type == "14", "output.setlinfo.med_type",
                                  "14: settled as a chronic-disease visit",
                                  settled.setlinfo.med_type)


def cancel(s: Session) -> None:
    """2208 negates every amount; a second 2208 is refused."""
    visit = open_visit(s, s.config.outpatient, s.config.outpatient_lines[:1])
    settled = settle(s, visit, pre=False) if visit else None
    if visit is None or settled is None or not settled.setlinfo.setl_id:
        return
    ref = m.SettlementRef(setl_id=settled.setlinfo.setl_id, mdtrt_id=visit.mdtrt_id,
                          psn_no=visit.psn_no)
    done = s.send("2208 cancel settlement", m.CancelSettleRequest(data=ref),
                  insuplc=visit.who.insuplc_admdvs)
    if done is not None and done.output is not None:
        for name in AMOUNTS:
            got, was = getattr(done.output.setlinfo, name), getattr(settled.setlinfo, name)
            s.result.steps[-1].expect(got == -was, f"output.setlinfo.{name}",
                                      f"the settlement's amount negated ({-was})", str(got))
    s.send("2208 cancel again", m.CancelSettleRequest(data=ref),
           insuplc=visit.who.insuplc_admdvs, expect_ok=False)


def reversal(s: Session) -> None:
    """The answer to 2207 is lost: 2601 undoes it, a second 2601 finds nothing, and the visit
    settles again with a new msgid."""
    visit = open_visit(s, s.config.outpatient, s.config.outpatient_lines[:1])
    if visit is None:
        return
    step = s.step("2207 settlement, answer lost → 2601 by the SDK")
    step.infno = "2207"
    s.lose.target = "2207"
    try:
        s.his.call(m.SettleRequest(data=visit.settlement()), insuplc=visit.who.insuplc_admdvs)
        step.expect(False, "(transport)", "the kit loses the 2207 answer (a kit fault)")
        return
    except Reversed as done:
        step.msgid = done.msgid
        step.expect(done.reversal.reversed is True, "output.reversed",
                    "true: the settlement whose answer was lost is undone",
                    done.reversal.reversed)
    again = s.send("2601 reversal again", m.ReversalRequest(data=m.ReversalData(
        psn_no=visit.psn_no, omsgid=step.msgid, oinfno="2207")),
        insuplc=visit.who.insuplc_admdvs)
    if again is not None and again.output is not None:
        s.result.steps[-1].expect(again.output.reversed is False, "output.reversed",
                                  "false: nothing is left to undo (2601 is idempotent)",
                                  again.output.reversed)
    settle(s, visit, pre=False)


def reconciliation(s: Session) -> None:
    """3201 with wrong totals is not balanced; with the platform's own totals it is."""
    if not s.sign_in():
        return
    today = s.now.date()
    who = s.config.outpatient

    def totals(count: int, amount: Decimal, fund: Decimal, acct: Decimal
               ) -> q.ReconcileTotalsRequest:
        return q.ReconcileTotalsRequest(data=q.TotalsToReconcile(
            insutype=who.insutype, clr_type="11", setl_optins=s.config.mdtrtarea_admvs,
            stmt_begndate=today, stmt_enddate=today, medfee_sumamt=amount,
            fund_pay_sumamt=fund, acct_pay=acct, fixmedins_setl_cnt=count))

    wrong = s.send("3201 wrong totals", totals(999999, Decimal("0.01"), Decimal("0.01"),
                                                Decimal("0.00")))
    if wrong is None or wrong.output is None:
        return
    out = wrong.output
    s.result.steps[-1].expect(out.stmt_rslt == "1", "output.stmt_rslt",
                              "1: totals that differ are not balanced", out.stmt_rslt)
    if None in (out.fixmedins_setl_cnt, out.medfee_sumamt, out.fund_pay_sumamt, out.acct_pay):
        return  # the platform does not say its totals: the balanced case cannot be built
    right = s.send("3201 the platform's totals", totals(
        out.fixmedins_setl_cnt or 0, out.medfee_sumamt or Decimal(0),
        out.fund_pay_sumamt or Decimal(0), out.acct_pay or Decimal(0)))
    if right is not None and right.output is not None:
        s.result.steps[-1].expect(right.output.stmt_rslt == "0", "output.stmt_rslt",
                                  "0: the same totals balance", right.output.stmt_rslt)


def bad_input(s: Session) -> None:
    """Refusals name the field, and a refused message changes nothing."""
    visit = open_visit(s, s.config.outpatient, s.config.outpatient_lines[:1])
    if visit is None:
        return
    who = visit.who
    envelope = s.his.envelope(v.PersonInfoRequest(data=v.PersonQuery(
        mdtrt_cert_type="02", mdtrt_cert_no=who.certno)))
    del envelope["input"]["data"]["mdtrt_cert_no"]
    s.send_raw("1101 without mdtrt_cert_no", envelope, expect_ok=False,
               names=("mdtrt_cert_no",))
    envelope = s.his.envelope(m.SettleRequest(data=visit.settlement()),
                              insuplc=who.insuplc_admdvs)
    envelope["input"]["data"]["medfee_sumamt"] = "12.3.4"
    s.send_raw("2207 amount not a number", envelope, expect_ok=False, names=("medfee_sumamt",))
    envelope = s.his.envelope(m.SettleRequest(data=visit.settlement()), insuplc="")
    envelope["infno"] = "9999"
    s.send_raw("unknown infno 9999", envelope, expect_ok=False, names=("infno",))
    wrong = s.his.envelope(m.SettleRequest(data=visit.settlement(visit.total + 1)),
                           insuplc=who.insuplc_admdvs)
    s.send_raw("2207 total ≠ the fee lines", wrong, expect_ok=False, names=("medfee_sumamt",))
    reused = dict(wrong, input={"data": visit.settlement().wire()})
    s.send_raw("2207 msgid reused with another body", reused, expect_ok=False,
               names=("msgid",))
    settle(s, visit, pre=False)


def cross_institution(s: Session) -> None:
    """Another institution can neither cancel, reverse nor read this one's settlement; the owner
    still cancels it."""
    visit = open_visit(s, s.config.outpatient, s.config.outpatient_lines[:1])
    settled = settle(s, visit, pre=False) if visit else None
    if visit is None or settled is None or not settled.setlinfo.setl_id:
        return
    msgid, insuplc = s.result.steps[-1].msgid, visit.who.insuplc_admdvs
    ref = m.SettlementRef(setl_id=settled.setlinfo.setl_id, mdtrt_id=visit.mdtrt_id,
                          psn_no=visit.psn_no)
    other = s.other()
    try:
        signed = s.send("9001 sign in as another institution", v.SignInRequest(
            signIn=v.SignIn(opter_no="D0999", mac="00-16-3E-00-00-02", ip="10.0.0.9")),
            his=other)
        if signed is None or signed.output is None:
            return
        other.sign_no = signed.output.signinoutb.sign_no
        s.send("2208 by another institution", m.CancelSettleRequest(data=ref), insuplc=insuplc,
               his=other, expect_ok=False)
        s.send("2601 by another institution", m.ReversalRequest(data=m.ReversalData(
            psn_no=visit.psn_no, omsgid=msgid, oinfno="2207")), insuplc=insuplc, his=other,
            expect_ok=False)
        seen = s.send("5203 by another institution", q.SettlementQueryRequest(
            data=q.SettlementQuery(psn_no=visit.psn_no, setl_id=ref.setl_id)),
            insuplc=insuplc, his=other, expect_ok=None)
        shown = [] if seen is None or seen.output is None else seen.output.setlinfo
        s.result.steps[-1].expect(not shown, "output.setlinfo",
                                  "refused or empty: another institution's settlement is not "
                                  "shown", [row.setl_id for row in shown])
    finally:
        other.close()
    done = s.send("2208 by the owner", m.CancelSettleRequest(data=ref), insuplc=insuplc)
    if done is not None and done.output is not None:
        s.result.steps[-1].expect(done.output.setlinfo.medfee_sumamt == -visit.total,
                                  "output.setlinfo.medfee_sumamt",
                                  "the whole settlement negated: the other institution's "
                                  "attempts changed nothing", str(done.output.setlinfo.medfee_sumamt))


Scenario = Callable[[Session], None]
#: The scenarios, in the order they run.
SCENARIOS: dict[str, Scenario] = {
    "sign-in": sign_in, "person-info": person_info, "outpatient": outpatient,
    "inpatient": inpatient, "chronic": chronic, "cancel": cancel, "reversal": reversal,
    "reconciliation": reconciliation, "bad-input": bad_input,
    "cross-institution": cross_institution,
}


def run_scenario(name: str, base_url: str, config: KitConfig,
                 transport: httpx.BaseTransport | None = None,
                 signer: Signer | None = None) -> ScenarioResult:
    """Play one scenario against the platform at `base_url` (signing with `signer`, if any)."""
    play = SCENARIOS[name]
    result = ScenarioResult(name, " ".join((play.__doc__ or name).split()))
    session = Session(base_url, config, result, transport=transport, signer=signer)
    try:
        run_steps(result, lambda: play(session))
    finally:
        session.close()
    return result


__all__ = ["SCENARIOS", "check_envelope", "run_scenario"]
