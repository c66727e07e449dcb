"""docs/sandbox.md is true: each test person's documented answers are what a fresh sandbox node
answers (1101 by every credential, and the standard outpatient visit of the table)."""

from __future__ import annotations

import re
import socket
import warnings
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning
from typer.testing import CliRunner

from medsettle.adapters import sandbox_data as sd
from medsettle.adapters.api.province import create_province_app
from medsettle.adapters.cli import app as cli_app
from medsettle.adapters.cli_sandbox import persons_lines, sandbox_node, seed_sandbox
from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.node_data import is_sandbox
from medsettle.adapters.db.seed import load_rows
from medsettle.adapters.db.store import Store
from medsettle.core.errors import InvalidInput
from medsettle.sdk import Client, Refused, beijing_now
from medsettle.sdk import money as m
from medsettle.sdk import visits as v
from tests.e2e import fixtures as f

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

DOC = Path(__file__).resolve().parents[2] / "docs" / "sandbox.md"
#: The standard visit: 甲 drug ¥80, 乙 drug 3 × ¥52, 丙 service ¥45 = ¥281.00, account used.
LINES = [(sd.DRUG_A, "80.00", 1), (sd.DRUG_B, "52.00", 3), (sd.SERVICE_C, "45.00", 1)]


def standard_visit(his: Client, who: sd.SandboxPerson) -> str:
    """1101 by all three credentials, then the standard visit; its cell in the doc's table."""
    for kind, number in (("01", who.evoucher), ("02", who.certno), ("03", who.card_no)):
        person = his.call(v.PersonInfoRequest(data=v.PersonQuery(
            mdtrt_cert_type=kind, mdtrt_cert_no=number,
            card_sn=who.card_sn if kind == "03" else "")),
            insuplc=who.insu_admdvs if kind == "03" else "")
        assert (person.baseinfo.psn_no, person.insuinfo[0].insuplc_admdvs) == (
            who.psn_no, who.insu_admdvs)
    when = beijing_now().replace(microsecond=0) - timedelta(hours=1)
    med_type = "14" if who.chronic else "11"
    opened = his.send(v.RegisterRequest(data=v.Registration(
        psn_no=who.psn_no, insutype=who.insutype, begntime=when, mdtrt_cert_type="02",
        mdtrt_cert_no=who.certno, ipt_otp_no=f"MZ{who.key}", atddr_no="D1", dr_name="李医生",
        dept_code="A03", dept_name="内科", caty="A03", med_type=med_type,
        dise_codg=who.chronic[0] if who.chronic else "")), insuplc=who.insu_admdvs)
    if opened.output is None:
        return f"refused `{opened.answer.code}`"
    visit = opened.output.data.mdtrt_id
    his.call(m.FeeUploadRequest(feedetail=[m.FeeDetail(
        feedetl_sn=f"F{i}", mdtrt_id=visit, psn_no=who.psn_no, chrg_bchno="B1",
        fee_ocur_time=when, med_list_codg=code, medins_list_codg=code,
        det_item_fee_sumamt=Decimal(price) * count, cnt=Decimal(count), pric=Decimal(price),
        bilg_dept_codg="A03", bilg_dept_name="内科", bilg_dr_codg="D1", bilg_dr_name="李医生")
        for i, (code, price, count) in enumerate(LINES)]), insuplc=who.insu_admdvs)
    settled = his.call(m.SettleRequest(data=m.Settlement(
        psn_no=who.psn_no, mdtrt_cert_type="02", mdtrt_cert_no=who.certno, med_type=med_type,
        medfee_sumamt=Decimal("281.00"), mdtrt_id=visit, insutype=who.insutype,
        acct_used_flag="1")), insuplc=who.insu_admdvs).setlinfo
    return (f"funds {settled.fund_pay_sumamt}, account {settled.acct_pay}, "
            f"cash {settled.psn_cash_pay}")


def documented() -> dict[str, str]:
    """key → the table's last cell ("funds …" or "refused `code`")."""
    rows = re.findall(r"^\| `(\w+)` \|.*\| ((?:funds|refused)[^|]+) \|$",
                      DOC.read_text(encoding="utf-8"), re.MULTILINE)
    return {key: cell.strip() for key, cell in rows}


@pytest.fixture(scope="module")
def his(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    node = sandbox_node(f"sqlite:///{tmp_path_factory.mktemp('sandbox') / 'sandbox.db'}")
    with TestClient(create_province_app(node, background=False)) as http:
        client = Client("http://testserver", sd.HOSPITAL, sd.HOSPITAL_NAME, http=http)
        client.sign_in()
        yield client
    node.stop()


def test_the_doc_lists_every_test_person() -> None:
    assert sorted(documented()) == sorted(p.key for p in sd.PERSONS)
    text = DOC.read_text(encoding="utf-8")
    for p in sd.PERSONS:
        for credential in (p.evoucher, p.certno, p.card_no, p.card_sn, p.psn_no):
            assert credential in text, f"{p.key}: {credential} is not in docs/sandbox.md"


@pytest.mark.parametrize("who", sd.PERSONS, ids=lambda p: p.key)
def test_each_person_answers_as_documented(his: Client, who: sd.SandboxPerson) -> None:
    assert standard_visit(his, who) == documented()[who.key]


def test_a_seeded_sandbox_is_not_seeded_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'again.db'}"
    assert seed_sandbox(url) is True
    assert seed_sandbox(url) is False
    assert len(persons_lines()) == len(sd.PERSONS)
    assert is_sandbox(url)


def test_a_provinces_database_is_not_made_a_sandbox(tmp_path: Path) -> None:
    """The sandbox answers every insured place itself: seeded into a province's database it
    would mix its test persons with the province's and answer them all."""
    url = f"sqlite:///{tmp_path / 'province.db'}"
    load_rows(url, {"persons": [f.CHEN]})
    with pytest.raises(InvalidInput, match="not a sandbox's database"):
        seed_sandbox(url)
    assert not is_sandbox(url)
    store = Store(make_engine(url))
    with store.tx() as tx:
        assert tx.count("persons") == 1 and tx.count("institutions") == 0
    store.engine.dispose()


def test_the_special_cases_of_the_doc(his: Client) -> None:
    sun, zheng, zhou = sd.BY_KEY["sun"], sd.BY_KEY["zheng"], sd.BY_KEY["zhou"]
    when = beijing_now().replace(microsecond=0) - timedelta(hours=1)
    emergency = his.call(v.RegisterRequest(data=v.Registration(
        psn_no=sun.psn_no, insutype=sun.insutype, begntime=when, mdtrt_cert_type="02",
        mdtrt_cert_no=sun.certno, ipt_otp_no="MZsun13", atddr_no="D1", dr_name="李医生",
        dept_code="A03", dept_name="内科", caty="A03", med_type="13")),
        insuplc=sun.insu_admdvs)
    assert emergency.data.psn_no == sun.psn_no

    def person(number: str) -> Any:
        return his.send(v.PersonInfoRequest(data=v.PersonQuery(
            mdtrt_cert_type="02", mdtrt_cert_no=number)))

    assert person(zheng.certno).output.insuinfo[0].psn_insu_stas == "0"
    assert person(zhou.certno).output.insuinfo[0].cvlserv_flag == "1"
    assert person("440304199909090015").answer.code == "not_found"
    suspended = Client("http://testserver", sd.SUSPENDED_HOSPITAL, "深圳停用医院", http=his.http)
    with pytest.raises(Refused) as refused:
        suspended.sign_in()
    assert refused.value.code == "institution_suspended"


@pytest.mark.parametrize("args, status, says", [
    (["--db", "postgresql://nobody@127.0.0.1:9/x", "--fresh"], 2,
     "--fresh: only an SQLite database can be started fresh"),
    (["--port", "{busy}"], 1, "--port: 127.0.0.1:{busy} is in use"),
])
def test_bad_sandbox_usage_is_one_line(args: list[str], status: int, says: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = CliRunner().invoke(cli_app, ["sandbox", *(a.replace("{busy}", port)
                                                          for a in args)])
    assert result.exit_code == status, result.output
    assert says.replace("{busy}", port) in result.output
    assert "Traceback" not in result.output
