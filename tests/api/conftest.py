"""An in-process province node for API tests: no hub, no processes, a SQLite file in tmp_path.

Guangdong (440000) treats at 深圳示例医院 and insures 陈明 (CHEN, Guangzhou 440100), whom the node
settles itself: its router calls the insured side in-process, so whole visits run without a hub.
A visit in the insured province needs a long-term filing (long_term_return), so the HIS node is
seeded with one for CHEN, and with a second hospital to play "another institution". Patients of
other provinces fail with "no hub configured". The /api routes are called as `clerk`, an operator
of Guangdong created in the node's database.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, Table, select
from starlette.exceptions import StarletteDeprecationWarning

from medsettle.adapters.api.province import ProvinceConfig, ProvinceNode, create_province_app
from medsettle.adapters.db.seed import load_rows
from medsettle.adapters.his.client import HisClient, Patient, VisitFlow
from medsettle.core.policy import PolicyBook
from medsettle.services.operators import create_operator
from tests.e2e import fixtures as f

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed here
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

REGION = "440000"
#: A second designated hospital in Shenzhen, to send messages about the first one's visits.
OTHER_H = "H44030400456"
#: CHEN lives in Chengdu on a long-term filing and is treated back home (long_term_return).
CHEN_FILING = f.filing("BA440100202501010000001", f.CHEN, "long_term_resident", "510100")
#: The visit's fee lines: 甲 drug ¥80, 乙 drug 3 × ¥52, 丙 service ¥45 = ¥281.00.
OUTPATIENT_LINES = [(f.DRUG_A, "80.00", "1"), (f.DRUG_B, "52.00", "3"), (f.SERVICE_C, "45.00", "1")]
INPATIENT_LINES = [(f.SERVICE_BED, "100.00", "3"), (f.DRUG_A, "80.00", "2")]


def his_rows() -> dict[str, list[dict[str, Any]]]:
    """fixtures.ROWS["440000"], plus CHEN's long-term filing and a second Shenzhen hospital."""
    rows = {table: list(values) for table, values in f.ROWS[REGION].items()}
    rows["filings"] = [*rows["filings"], CHEN_FILING]
    rows["institutions"] = [*rows["institutions"],
                            f.institution(OTHER_H, "深圳第二示例医院", "02", "L3")]
    return rows


def tables_of(engine: Any) -> list[Table]:
    """Every table of a node's database but message_log, whose rows record refused messages."""
    meta = MetaData()
    meta.reflect(engine)
    return [table for name, table in sorted(meta.tables.items()) if name != "message_log"]


def snapshot(engine: Any, tables: list[Table]) -> dict[str, tuple[int, str]]:
    """Each table's row count and a hash of all its rows (in a stable order)."""
    state = {}
    with engine.connect() as conn:
        for table in tables:
            rows = sorted(repr(tuple(row)) for row in conn.execute(select(table)))
            state[table.name] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return state


@dataclass
class Province:
    """One province node behind a TestClient, and the HIS-side helpers to talk to it."""

    node: ProvinceNode
    http: TestClient
    hospitals: dict[str, HisClient] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)

    def his(self, fixmedins_code: str = f.SHENZHEN_H, name: str = "示例医院") -> HisClient:
        """A HIS of `fixmedins_code` talking to this node (not signed in)."""
        return HisClient(str(self.http.base_url), fixmedins_code, name, http=self.http)

    def signed_in(self, fixmedins_code: str = f.SHENZHEN_H) -> HisClient:
        """The HIS of `fixmedins_code`, signed in once per node (9001)."""
        if fixmedins_code not in self.hospitals:
            his = self.his(fixmedins_code)
            his.sign_in()
            self.hospitals[fixmedins_code] = his
        return self.hospitals[fixmedins_code]

    def envelope(self, infno: str, input: dict[str, Any], *, fixmedins_code: str = f.SHENZHEN_H,
                 insuplc: str = "", msgid: str | None = None) -> dict[str, Any]:
        """A request envelope as HisClient.envelope builds it, from a signed-in hospital."""
        return self.signed_in(fixmedins_code).envelope(infno, input, insuplc=insuplc, msgid=msgid)

    def post(self, body: Mapping[str, Any] | list[Any] | bytes) -> httpx.Response:
        """POST one body to /his: a JSON document, or raw bytes exactly as given."""
        if isinstance(body, bytes):
            return self.http.post("/his", content=body,
                                  headers={"content-type": "application/json"})
        return self.http.post("/his", json=body)

    def snapshot(self) -> dict[str, tuple[int, str]]:
        """The state of the node's database (message_log excluded)."""
        if not self.tables:
            self.tables = tables_of(self.node.store.engine)
        return snapshot(self.node.store.engine, self.tables)


def start_province(tmp: Path, rows: Mapping[str, Any], book: PolicyBook) -> Iterator[Province]:
    db_url = f"sqlite:///{tmp}/p.db"
    load_rows(db_url, rows)
    node = ProvinceNode(ProvinceConfig(region=REGION, db_url=db_url, key="k", hub_url=None),
                        book=book)
    with TestClient(create_province_app(node, background=False)) as http:
        yield Province(node, http)
    node.store.engine.dispose()


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory, book: PolicyBook) -> Iterator[Province]:
    """The HIS node: fixtures.ROWS["440000"] + CHEN's long-term filing + a second hospital."""
    yield from start_province(tmp_path_factory.mktemp("province"), his_rows(), book)


@pytest.fixture(scope="module")
def filing_province(tmp_path_factory: pytest.TempPathFactory,
                    book: PolicyBook) -> Iterator[Province]:
    """A node seeded with exactly fixtures.ROWS["440000"] (CHEN has no filing yet)."""
    yield from start_province(tmp_path_factory.mktemp("filings"), f.ROWS[REGION], book)


def add_operator(node: ProvinceNode, name: str, *, role: str = "province",
                 region: str | None = REGION) -> str:
    """Create an operator in the node's database, as `medsettle operator add` does; their token."""
    with node.store.tx() as tx:
        _, token = create_operator(tx, name, role, region, datetime.now(UTC))
    return token


def bearer(token: str) -> dict[str, str]:
    """The header that authenticates an operator."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def clerk(filing_province: Province) -> Iterator[TestClient]:
    """The filing node's API as `clerk`, an operator of Guangdong: every request carries the
    token."""
    token = add_operator(filing_province.node, "clerk")
    client = TestClient(filing_province.http.app, headers=bearer(token))
    yield client
    client.close()


@pytest.fixture(scope="module")
def chen(province: Province) -> Patient:
    """CHEN as the Shenzhen HIS knows him after 1101 with his e-voucher."""
    his = province.signed_in(f.SHENZHEN_H)
    out = his.person("01", f.CHEN["evoucher"])
    return Patient.from_1101(out, "01", f.CHEN["evoucher"])


@dataclass
class Visit:
    """A visit of CHEN at 深圳示例医院 and what the HIS knows of it."""

    flow: VisitFlow
    sign_no: str
    total: str  # the uploaded fee lines' total, yuan
    batch: str  # chrg_bchno of the upload
    serials: list[str]  # feedetl_sn of the uploaded lines
    ipt_otp_no: str
    msgids: dict[str, str] = field(default_factory=dict)  # infno → msgid that succeeded
    setl_id: str = ""

    @property
    def mdtrt_id(self) -> str:
        return self.flow.mdtrt_id

    @property
    def psn_no(self) -> str:
        return self.flow.p.psn_no


def new_visit(province: Province, patient: Patient, *, inpatient: bool = False) -> Visit:
    """Register (2201) or admit (2401) CHEN and upload fee lines (2204/2301)."""
    his = province.signed_in(f.SHENZHEN_H)
    flow = VisitFlow(his, patient)
    msgids = {"2401" if inpatient else "2201": his.msgid()}
    if inpatient:
        flow.admit(begntime=datetime.now() - timedelta(days=3), msgid=msgids["2401"])
    else:
        flow.register(msgid=msgids["2201"])
    msgids["2301" if inpatient else "2204"] = his.msgid()
    lines = INPATIENT_LINES if inpatient else OUTPATIENT_LINES
    result = flow.fees(lines, inpatient=inpatient, msgid=msgids["2301" if inpatient else "2204"],
                       when=datetime.now() - timedelta(days=1) if inpatient else None)["result"]
    total = sum(Decimal(repr(row["det_item_fee_sumamt"])) for row in result)
    with province.node.store.tx() as tx:
        visit = tx.one("visits", mdtrt_id=flow.mdtrt_id)
        batch = tx.rows("fee_details", mdtrt_id=flow.mdtrt_id)[0].chrg_bchno
    return Visit(flow, his.sign_no, f"{total:.2f}", batch,
                 [row["feedetl_sn"] for row in result], visit.ipt_otp_no, msgids)


@pytest.fixture(scope="module")
def open_visit(province: Province, chen: Patient) -> Visit:
    """An open outpatient visit of CHEN (registered, ¥281.00 of fee lines uploaded)."""
    return new_visit(province, chen)


@pytest.fixture(scope="module")
def settled_visit(province: Province, chen: Patient) -> Visit:
    """An outpatient visit of CHEN settled with 2207."""
    visit = new_visit(province, chen)
    visit.msgids["2207"] = province.signed_in().msgid()
    out = visit.flow.settle(visit.total, msgid=visit.msgids["2207"])
    visit.setl_id = out["setlinfo"]["setl_id"]
    return visit


@pytest.fixture(scope="module")
def cancelled_settlement(province: Province, chen: Patient) -> Visit:
    """An outpatient visit of CHEN settled (2207) and then cancelled (2208): open again."""
    visit = new_visit(province, chen)
    visit.setl_id = visit.flow.settle(visit.total)["setlinfo"]["setl_id"]
    visit.flow.cancel(visit.setl_id)
    return visit


@pytest.fixture(scope="module")
def inpatient_stay(province: Province, chen: Patient) -> Visit:
    """An inpatient stay of CHEN: admitted (2401) three days ago, fees uploaded, not discharged."""
    return new_visit(province, chen, inpatient=True)


@pytest.fixture(scope="module")
def settled_stay(province: Province, chen: Patient) -> Visit:
    """An inpatient stay of CHEN: admitted, fees uploaded, discharged (2402) and settled (2304)."""
    visit = new_visit(province, chen, inpatient=True)
    visit.flow.discharge()
    visit.setl_id = visit.flow.settle(visit.total, inpatient=True)["setlinfo"]["setl_id"]
    return visit
