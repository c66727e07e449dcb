"""The cast of the property-based attacker (test_attacker.py): what each institution, province,
operator and person owns in a running federation, the credentials they act with, and a snapshot
of everything they could change.

Every actor holds only its own credentials: an institution its HIS sign-in at its own gateway,
a province its node key, an operator its token at its own node, a person their app session at
their insured node. An `Asset` is a visit (settled or open) and belongs to the institution that
treats it, the person treated and, for its insured side, the insured province.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.store import Store
from medsettle.adapters.his.client import HisClient, VisitFlow
from medsettle.adapters.launcher import Federation
from medsettle.adapters.peers import HubClient
from medsettle.core.calendar import business_date
from medsettle.services.operators import create_operator
from tests.e2e import fixtures as f
from tests.e2e.test_federation import patient

#: A second networked hospital of Guangdong: the same gateway as 深圳示例医院, another owner.
NANSHAN_H = "H44030500456"
CHENGDU_H = "H51010400001"

#: What a request may change, per node kind (logs, sign-ins, nonces and heartbeats excluded:
#: an attacker's own refused message is logged under the attacker's own scope).
PROVINCE_TABLES = ("persons", "accumulators", "filings", "institutions", "visits",
                   "fee_details", "settlements", "insured_visits", "reimbursement_claims",
                   "family_links", "ledger_entries", "ledger_postings", "institution_credit",
                   "credit_events", "policy_sets")
HUB_TABLES = ("settlement_index", "locator", "clearing_lines", "clearing_statements",
              "prepayment_accounts", "prepayment_moves", "supervision_cases",
              "supervision_tickets", "clearing_adjustments")


def rows_with_nanshan() -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The e2e fixture rows with a second Guangdong hospital."""
    rows = {region: {name: list(table) for name, table in tables.items()}
            for region, tables in f.ROWS.items()}
    rows["440000"]["institutions"].append(
        f.institution(NANSHAN_H, "南山示例医院", "02", "L3", chronic_opened=["M03900"]))
    return rows


@dataclass(frozen=True)
class Asset:
    """A visit and, when settled, its settlement."""

    name: str
    institution: str  # the treating institution that owns it
    treating: str  # the treating province node
    insured: str  # the insured province node
    person: dict[str, Any]
    mdtrt_id: str
    msgid: str  # the settle message's msgid (the registration's for an open visit)
    setl_id: str = ""
    filing_no: str = ""
    referral_no: str = ""  # a referral (转诊备案) its institution filed through 2501

    @property
    def infno(self) -> str:
        """The national transaction of `msgid`."""
        return "2207" if self.setl_id else "2201"

    @property
    def secrets(self) -> tuple[str, ...]:
        """What nobody but its owners may learn from an answer."""
        return (self.person["psn_name"], self.person["certno"])

    def __repr__(self) -> str:
        return f"<{self.name}>"


@dataclass
class Institution:
    code: str
    region: str
    his: HisClient

    def __repr__(self) -> str:
        return f"<institution {self.code}>"


@dataclass
class Province:
    region: str
    hub: HubClient
    key: str

    def __repr__(self) -> str:
        return f"<province {self.region}>"


@dataclass
class Operator:
    name: str
    node: str  # "hub" or a province region
    token: str

    def __repr__(self) -> str:
        return f"<operator {self.name}@{self.node}>"


@dataclass
class Person:
    who: dict[str, Any]
    node: str  # the insured province node where they sign in
    http: httpx.Client
    csrf: str

    def __repr__(self) -> str:
        return f"<person {self.who['psn_name']}>"


@dataclass
class Cast:
    fed: Federation
    assets: list[Asset] = field(default_factory=list)
    institutions: list[Institution] = field(default_factory=list)
    provinces: list[Province] = field(default_factory=list)
    operators: list[Operator] = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)

    def close(self) -> None:
        for p in self.provinces:
            p.hub.close()
        for person in self.persons:
            person.http.close()
        for inst in self.institutions:
            inst.his.http.close()


def _settled(fed: Federation, name: str, region: str, code: str, who: dict[str, Any],
             price: str) -> Asset:
    his = fed.his(region, code)
    visit = VisitFlow(his, patient(his, who))
    visit.register()
    visit.fees([(f.DRUG_A, price, "1")])
    msgid = his.msgid()
    info = visit.settle(price, msgid=msgid)["setlinfo"]
    return Asset(name, code, region, who["insu_admdvs"][:2] + "0000", who, visit.mdtrt_id,
                 msgid, info["setl_id"])


def _referral(fed: Federation, asset: Asset, destination: str) -> Asset:
    """The asset's institution files a referral of its person into `destination` (2501)."""
    today = business_date(datetime.now(UTC)).isoformat()
    filed = fed.his(asset.treating, asset.institution).call("2501", {"refmedin": {
        "psn_no": asset.person["psn_no"], "insutype": "310", "diag_code": "J18.9",
        "diag_name": "肺炎", "reflin_medins_no": NANSHAN_H, "reflin_medins_name": "南山示例医院",
        "mdtrtarea_admdvs": destination, "hosp_agre_refl_flag": "1", "refl_type": "1",
        "refl_date": today, "begndate": today, "enddate": ""}},
        insuplc=asset.person["insu_admdvs"])
    return replace(asset, referral_no=filed["trt_dcla_detl_sn"])


def _open(fed: Federation, name: str, region: str, code: str, who: dict[str, Any]) -> Asset:
    his = fed.his(region, code)
    visit = VisitFlow(his, patient(his, who))
    msgid = his.msgid()
    visit.register(msgid=msgid)
    visit.fees([(f.DRUG_A, "20.00", "1")])
    return Asset(name, code, region, who["insu_admdvs"][:2] + "0000", who, visit.mdtrt_id,
                 msgid)


def _operator(fed: Federation, node: str, name: str) -> Operator:
    engine = make_engine(fed.dbs[node])
    try:
        with Store(engine).tx() as tx:
            _, token = create_operator(tx, name, "hub" if node == "hub" else "province",
                                       None if node == "hub" else node, datetime.now(UTC))
    finally:
        engine.dispose()
    return Operator(name, node, token)


def _code_from_log(log: Path, seen: int) -> str:
    """The newest one-time sign-in code the node wrote to its log after byte `seen`."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in reversed(log.read_bytes()[seen:].decode(errors="replace").splitlines()):
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "code" in doc and "one-time sign-in code" in str(doc.get("msg", "")):
                return str(doc["code"])
        time.sleep(0.05)
    raise AssertionError(f"no sign-in code in {log}")


def _person(fed: Federation, who: dict[str, Any]) -> Person:
    node = who["insu_admdvs"][:2] + "0000"
    http = httpx.Client(base_url=fed.urls[node], timeout=10)
    log = fed.workdir / f"{node}.log"
    seen = log.stat().st_size
    sent = http.post("/api/v1/me/sign-in/code", json={"certno": who["certno"]})
    assert sent.status_code == 200, sent.text
    answer = http.post("/api/v1/me/sign-in", json={"certno": who["certno"],
                                                   "code": _code_from_log(log, seen)})
    assert answer.status_code == 200, answer.text
    return Person(who, node, http, answer.json()["csrf_token"])


def assemble(fed: Federation) -> Cast:
    """Settle and open the visits everybody else will attack, and give every actor its own
    credentials."""
    cast = Cast(fed)
    cast.assets = [
        _settled(fed, "周杰 settled at Shanghai", "310000", f.SHANGHAI_H, f.ZHOU, "120.00"),
        _settled(fed, "王芳 settled at Shenzhen", "440000", f.SHENZHEN_H, f.WANG, "80.00"),
        _settled(fed, "张阿姨 settled at Nanshan", "440000", NANSHAN_H, f.ZHANG, "66.00"),
        _open(fed, "钱进 open at Shenzhen", "440000", f.SHENZHEN_H, f.QIAN),
        _open(fed, "吴昊 open at Nanshan", "440000", NANSHAN_H, f.WU),
    ]
    filings = {f.ZHOU["psn_no"]: "BA510100202501010000099",
               f.WANG["psn_no"]: "BA510100202501010000001",
               f.ZHANG["psn_no"]: "BA310100202501010000001",
               f.QIAN["psn_no"]: "BA510100202501010000011",
               f.WU["psn_no"]: "BA510100202501010000014"}
    cast.assets = [Asset(**{**a.__dict__, "filing_no": filings.get(a.person["psn_no"], "")})
                   for a in cast.assets]
    cast.assets[1] = _referral(fed, cast.assets[1], "440300")
    cast.institutions = [Institution(code, region, fed.his(region, code)) for code, region in
                         ((f.SHENZHEN_H, "440000"), (NANSHAN_H, "440000"),
                          (f.SHANGHAI_H, "310000"), (CHENGDU_H, "510000"))]
    keys = json.loads(fed.keys_path.read_text(encoding="utf-8"))
    cast.provinces = [Province(r, HubClient(fed.hub_url, r, keys[r], timeout=5.0), keys[r])
                      for r in ("440000", "310000", "510000")]
    cast.operators = [_operator(fed, node, f"clerk{node}") for node in
                      ("440000", "310000", "510000", "hub")]
    cast.persons = [_person(fed, who) for who in (f.WANG, f.ZHOU, f.ZHANG)]
    fed.flush_hub_journal()
    return cast


def snapshot(fed: Federation) -> dict[str, str]:
    """A digest of every table a request could change, per node."""
    digests: dict[str, str] = {}
    for node, url in fed.dbs.items():
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                for table in (HUB_TABLES if node == "hub" else PROVINCE_TABLES):
                    rows = sorted(json.dumps(dict(r), default=str, sort_keys=True)
                                  for r in conn.execute(text(f"SELECT * FROM {table}"))
                                  .mappings())
                    digests[f"{node}.{table}"] = hashlib.sha256(
                        "\n".join(rows).encode()).hexdigest()
        finally:
            engine.dispose()
    return digests
