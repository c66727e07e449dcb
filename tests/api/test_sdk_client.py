"""The SDK against a real gateway: an in-process sandbox node (adapters/cli_sandbox), no hub.

A whole visit runs typed; a lost answer to 2207 is reversed with 2601 and nothing stands; with
`on_timeout="resend"` the same msgid is resent and settles once; signatures are checked with
the institution's key."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from medsettle.adapters import sandbox_data as sd
from medsettle.adapters.api.province import create_province_app
from medsettle.adapters.cli_sandbox import sandbox_node
from medsettle.adapters.kit.session import LoseAnswer
from medsettle.adapters.province_node import ProvinceNode
from medsettle.sdk import (
    Client,
    NoAnswer,
    NotReversed,
    Refused,
    Reversed,
    beijing_now,
    hmac_signer,
)
from medsettle.sdk import money as m
from medsettle.sdk import queries as q
from medsettle.sdk import visits as v

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

WANG = sd.BY_KEY["wang"]


@pytest.fixture()
def node(tmp_path: Path) -> Iterator[ProvinceNode]:
    node = sandbox_node(f"sqlite:///{tmp_path / 'sandbox.db'}")
    yield node
    node.stop()


@pytest.fixture()
def http(node: ProvinceNode) -> Iterator[TestClient]:
    with TestClient(create_province_app(node, background=False)) as client:
        yield client


def client(http: httpx.Client, **options: object) -> Client:
    his = Client("http://testserver", sd.HOSPITAL, sd.HOSPITAL_NAME, http=http,
                 backoff=0, **options)  # type: ignore[arg-type]
    his.sign_in()
    return his


def open_visit(his: Client) -> tuple[str, Decimal]:
    """WANG registered, with two fee lines; (mdtrt_id, total)."""
    when = beijing_now().replace(microsecond=0) - timedelta(hours=1)
    person = his.call(v.PersonInfoRequest(data=v.PersonQuery(mdtrt_cert_type="01",
                                                             mdtrt_cert_no=WANG.evoucher)))
    assert person.baseinfo.psn_no == WANG.psn_no
    assert person.insuinfo[0].balc == Decimal("1000.00")
    opened = his.call(v.RegisterRequest(data=v.Registration(
        psn_no=WANG.psn_no, insutype="310", begntime=when, mdtrt_cert_type="01",
        mdtrt_cert_no=WANG.evoucher, ipt_otp_no="MZ1", atddr_no="D1", dr_name="李医生",
        dept_code="A03", dept_name="内科", caty="A03")), insuplc=WANG.insu_admdvs)
    visit = opened.data.mdtrt_id
    lines = [m.FeeDetail(feedetl_sn=f"F{i}", mdtrt_id=visit, psn_no=WANG.psn_no, chrg_bchno="B1",
                         fee_ocur_time=when, med_list_codg=code, medins_list_codg=code,
                         det_item_fee_sumamt=Decimal(price), cnt=Decimal(1),
                         pric=Decimal(price), bilg_dept_codg="A03", bilg_dept_name="内科",
                         bilg_dr_codg="D1", bilg_dr_name="李医生")
             for i, (code, price) in enumerate([(sd.DRUG_A, "80.00"), (sd.SERVICE_C, "45.00")])]
    fees = his.call(m.FeeUploadRequest(feedetail=lines), insuplc=WANG.insu_admdvs)
    assert [r.chrgitm_lv for r in fees.result] == ["01", "03"]
    return visit, Decimal("125.00")


def settle_request(visit: str, total: Decimal) -> m.SettleRequest:
    return m.SettleRequest(data=m.Settlement(
        psn_no=WANG.psn_no, mdtrt_cert_type="01", mdtrt_cert_no=WANG.evoucher, med_type="11",
        medfee_sumamt=total, mdtrt_id=visit, insutype="310", acct_used_flag="1"))


def settled_today(his: Client) -> tuple[int, Decimal | None]:
    """The node's count and total of this institution's outpatient settlements today (3201,
    asked with totals that cannot match, so the answer carries the node's own)."""
    today = beijing_now().date()
    answer = his.call(q.ReconcileTotalsRequest(data=q.TotalsToReconcile(
        insutype="310", clr_type="11", setl_optins=his.admdvs, stmt_begndate=today,
        stmt_enddate=today, medfee_sumamt=Decimal("0.01"), fund_pay_sumamt=Decimal("0.01"),
        acct_pay=Decimal("0.00"), fixmedins_setl_cnt=999999)))
    return answer.fixmedins_setl_cnt or 0, answer.medfee_sumamt


def test_a_visit_settles_through_typed_models(http: TestClient) -> None:
    his = client(http)
    visit, total = open_visit(his)
    settled = his.call(settle_request(visit, total), insuplc=WANG.insu_admdvs)
    assert settled.balance_errors() == []
    assert settled.setlinfo.medfee_sumamt == total
    assert settled.setlinfo.psn_cash_pay + settled.setlinfo.acct_pay + \
        settled.setlinfo.fund_pay_sumamt == total
    with pytest.raises(Refused) as again:
        his.call(settle_request(visit, total), insuplc=WANG.insu_admdvs)
    assert again.value.code == "state_conflict"


def test_a_lost_settlement_answer_is_reversed_and_nothing_stands(http: TestClient) -> None:
    lose = LoseAnswer(http._transport)
    his = client(httpx.Client(transport=lose, base_url="http://testserver"))
    visit, total = open_visit(his)
    lose.target = "2207"
    with pytest.raises(Reversed) as caught:
        his.call(settle_request(visit, total), insuplc=WANG.insu_admdvs)
    assert caught.value.reversal.reversed is True
    assert caught.value.msgid == lose.lost[0]
    assert settled_today(his) == (0, Decimal("0.00"))  # nothing stands
    settled = his.call(settle_request(visit, total), insuplc=WANG.insu_admdvs)
    assert settled.setlinfo.medfee_sumamt == total  # the visit could settle again
    assert settled_today(his) == (1, total)


def test_resend_after_a_lost_answer_settles_once(http: TestClient) -> None:
    lose = LoseAnswer(http._transport)
    his = client(httpx.Client(transport=lose, base_url="http://testserver"),
                 on_timeout="resend")
    visit, total = open_visit(his)
    lose.target = "2207"
    settled = his.call(settle_request(visit, total), insuplc=WANG.insu_admdvs)
    assert settled.setlinfo.medfee_sumamt == total
    assert settled_today(his) == (1, total)  # settled once


def test_a_read_only_message_is_asked_again_then_gives_up() -> None:
    attempts: list[str] = []

    def down(request: httpx.Request) -> httpx.Response:
        attempts.append(request.url.path)
        raise httpx.ConnectError("refused", request=request)

    his = Client("http://platform", sd.HOSPITAL, sd.HOSPITAL_NAME, retries=2, backoff=0,
                 http=httpx.Client(transport=httpx.MockTransport(down)))
    with pytest.raises(NoAnswer):
        his.sign_in()
    assert attempts == ["/his"] * 3


def test_signed_requests_are_checked_with_the_institutions_key(http: TestClient,
                                                               node: ProvinceNode) -> None:
    with node.store.tx() as tx:
        tx.change("institutions", {"fixmedins_code": sd.HOSPITAL}, api_key="s3cret")
    signed = client(http, signer=hmac_signer("s3cret", sd.HOSPITAL))
    assert signed.sign_no
    forged = Client("http://testserver", sd.HOSPITAL, sd.HOSPITAL_NAME, http=http,
                    signer=hmac_signer("guess", sd.HOSPITAL, style="api"))
    with pytest.raises(Refused) as refused:
        forged.sign_in()
    assert refused.value.code == "authentication_failed"


def test_a_lost_answer_the_platform_cannot_reverse_says_so(http: TestClient) -> None:
    lose = LoseAnswer(http._transport)
    his = client(httpx.Client(transport=lose, base_url="http://testserver"))
    visit, _ = open_visit(his)
    lose.target = "2205"
    with pytest.raises(NotReversed) as caught:
        his.call(m.CancelFeeBatchRequest(data=m.FeeBatch(mdtrt_id=visit, chrg_bchno="B1",
                                                         psn_no=WANG.psn_no)),
                 insuplc=WANG.insu_admdvs)
    assert caught.value.refusal.code == "state_conflict"
    assert caught.value.msgid == lose.lost[0]
