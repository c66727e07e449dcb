"""A HIS-side client of the gateway: builds national envelopes and reads the answers.

The simulator, the demo, the benchmarks and the end-to-end tests use it as a hospital's HIS
would; docs/his-integration.md shows the messages it sends.
"""

from __future__ import annotations

import itertools
import json
import threading
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from medsettle.adapters.his.envelope import read_err_msg, read_infcode
from medsettle.adapters.his.err_msg import code_of
from medsettle.adapters.his.sealing import Sealer
from medsettle.adapters.http_pool import HttpPool


class HisError(Exception):
    """The gateway answered infcode ≠ 0."""

    def __init__(self, infno: str, answer: dict[str, Any]) -> None:
        self.infno = infno
        self.answer = answer
        super().__init__(f"{infno}: {read_err_msg(answer)}")

    @property
    def code(self) -> str | None:
        """The error code the gateway put in err_msg (`not_filed`, …), None if none."""
        return code_of(read_err_msg(self.answer))


class HisClient:
    """One institution's HIS talking to its province's gateway."""

    _serial = itertools.count(1)
    _lock = threading.Lock()

    def __init__(self, base_url: str, fixmedins_code: str, fixmedins_name: str,
                 http: httpx.Client | None = None, sealer: Sealer | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.fixmedins_code = fixmedins_code
        self.fixmedins_name = fixmedins_name
        self.admdvs = fixmedins_code[1:7]
        self.http = http or httpx.Client(timeout=30)
        self.sign_no = ""
        self.sealer = sealer  # signs (and encrypts) what is sent: his/sealing.py

    def msgid(self) -> str:
        """fixmedins_code(12) + yyyyMMddHHmmss(14) + serial(4): unique per sender."""
        with self._lock:
            serial = next(self._serial) % 10000
        return f"{self.fixmedins_code}{beijing_now():%Y%m%d%H%M%S}{serial:04d}"

    def envelope(self, infno: str, input: dict[str, Any], *, insuplc: str = "",
                 msgid: str | None = None) -> dict[str, Any]:
        """A request envelope (interface.md §2)."""
        return {"infno": infno, "msgid": msgid or self.msgid(), "mdtrtarea_admvs": self.admdvs,
                "insuplc_admdvs": insuplc, "recer_sys_code": "MBS_LOCAL", "dev_no": "",
                "dev_safe_info": "", "cainfo": "", "signtype": "", "infver": "V1.0",
                "opter_type": "1", "opter": "D0107", "opter_name": "收费员甲",
                "inf_time": _time(None),
                "fixmedins_code": self.fixmedins_code, "fixmedins_name": self.fixmedins_name,
                "sign_no": self.sign_no, "input": input}

    def send(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """POST one envelope (sealed, with a sealer); returns the whole answer (whatever its
        infcode, its output in clear)."""
        if self.sealer is None:
            response = self.http.post(f"{self.base_url}/his", json=envelope)
        else:
            body, headers = self.sealer.seal(envelope)
            response = self.http.post(f"{self.base_url}/his", content=body, headers={
                "content-type": "application/json", **headers})
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer if self.sealer is None else self.sealer.open(answer)


    def call(self, infno: str, input: dict[str, Any], *, insuplc: str = "",
             msgid: str | None = None) -> Any:
        """Send and return `output`, raising HisError when infcode ≠ 0."""
        answer = self.send(self.envelope(infno, input, insuplc=insuplc, msgid=msgid))
        if read_infcode(answer) != 0:
            raise HisError(infno, answer)
        return answer["output"]

    def upload(self, filename: str, content: bytes, *, msgid: str | None = None) -> Any:
        """9101: upload a file (as the JSON array of byte values the interface sends); returns
        the output with its file_qury_no."""
        return self.call("9101", {"fsUploadIn": {"in": list(content), "filename": filename,
                                                 "fixmedins_code": self.fixmedins_code}},
                         msgid=msgid)

    def download(self, file_qury_no: str, filename: str) -> bytes:
        """9102: the file itself; HisError when the gateway answers an envelope instead."""
        envelope = self.envelope("9102", {"fsDownloadIn": {
            "file_qury_no": file_qury_no, "filename": filename,
            "fixmedins_code": self.fixmedins_code}})
        response = self.http.post(f"{self.base_url}/his", json=envelope)
        response.raise_for_status()
        if response.headers.get("content-type", "").startswith("application/json"):
            raise HisError("9102", response.json())
        return response.content

    def sign_in(self) -> str:
        """9001: sign in and keep the sign_no for later messages."""
        out = self.call("9001", {"signIn": {"opter_no": "D0107", "mac": "00-16-3E-00-00-01",
                                            "ip": "10.0.0.8"}})
        self.sign_no = out["signinoutb"]["sign_no"]
        return self.sign_no

    def sign_out(self) -> str:
        """9002: end the sign-in (its sign_no is refused from then on); the sign-out time."""
        out = self.call("9002", {"signOut": {"sign_no": self.sign_no, "opter_no": "D0107"}})
        return str(out["signoutoutb"]["sign_time"])

    def person(self, cert_type: str, cert_no: str, *, card_sn: str = "",
               insuplc: str = "") -> Any:
        """1101: who is this, and where are they insured."""
        return self.call("1101", {"data": {"mdtrt_cert_type": cert_type, "mdtrt_cert_no": cert_no,
                                           "card_sn": card_sn, "begntime": "", "psn_cert_type": "",
                                           "certno": "", "psn_name": ""}}, insuplc=insuplc)


def cumulative(output: dict[str, Any]) -> dict[str, Any]:
    """A 5206 answer as {cum_type_code: cum}, e.g. {"C0101-11": 2, "C0601": 1000.0} (the codes
    are listed in docs/his-integration.md)."""
    return {row["cum_type_code"]: row["cum"] for row in output["cuminfo"]}


class Patient:
    """What the HIS knows of a patient after 1101: numbers to send in every later message."""

    def __init__(self, psn_no: str, insutype: str, insuplc: str, cert_type: str, cert_no: str,
                 card_sn: str = "", certno: str = "", name: str = "") -> None:
        self.psn_no = psn_no
        self.insutype = insutype
        self.insuplc = insuplc
        self.cert_type = cert_type
        self.cert_no = cert_no
        self.card_sn = card_sn
        self.certno = certno
        self.name = name

    @classmethod
    def from_1101(cls, output: dict[str, Any], cert_type: str, cert_no: str,
                  card_sn: str = "") -> Patient:
        """Read the 1101 answer."""
        base, insu = output["baseinfo"], output["insuinfo"][0]
        return cls(base["psn_no"], insu["insutype"], insu["insuplc_admdvs"], cert_type, cert_no,
                   card_sn, base["certno"], base["psn_name"])


def beijing_now() -> datetime:
    """The HIS's wall clock: Beijing time, naive, as the national interface writes times."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)


def _time(moment: datetime | None) -> str:
    return (moment or beijing_now()).strftime("%Y-%m-%d %H:%M:%S")


class VisitFlow:
    """The messages of one visit, in the order a HIS sends them."""

    def __init__(self, his: HisClient, patient: Patient) -> None:
        self.his = his
        self.p = patient
        self.mdtrt_id = ""
        self.serial = itertools.count(1)

    def _ids(self) -> dict[str, str]:
        return {"psn_no": self.p.psn_no, "mdtrt_id": self.mdtrt_id}

    def register(self, med_type: str = "11", disease: str = "", begntime: datetime | None = None,
                 msgid: str | None = None) -> str:
        """2201 outpatient registration (11 general, 13 emergency, 14 chronic with disease)."""
        data = {"psn_no": self.p.psn_no, "insutype": self.p.insutype, "begntime": _time(begntime),
                "mdtrt_cert_type": self.p.cert_type, "mdtrt_cert_no": self.p.cert_no,
                "card_sn": self.p.card_sn, "ipt_otp_no": f"MZ{self.his.msgid()[-12:]}",
                "atddr_no": "D001", "dr_name": "李医生", "dept_code": "A03",
                "dept_name": "内科", "caty": "A03", "med_type": med_type, "dise_codg": disease,
                "dise_name": ""}
        out = self.his.call("2201", {"data": data}, insuplc=self.p.insuplc, msgid=msgid)
        self.mdtrt_id = out["data"]["mdtrt_id"]
        return self.mdtrt_id

    def admit(self, begntime: datetime | None = None, emergency: bool = False,
              msgid: str | None = None) -> str:
        """2401 admission."""
        info = {"psn_no": self.p.psn_no, "insutype": self.p.insutype, "coner_name": "",
                "tel": "", "begntime": _time(begntime), "mdtrt_cert_type": self.p.cert_type,
                "mdtrt_cert_no": self.p.cert_no, "med_type": "21",
                "ipt_no": f"ZY{self.his.msgid()[-12:]}", "medrcdno": "", "atddr_no": "D001",
                "chfpdr_name": "王主任", "adm_diag_dscr": "肺炎", "adm_dept_codg": "A03",
                "adm_dept_name": "内科", "adm_bed": "12", "dscg_maindiag_code": "J18.9",
                "dscg_maindiag_name": "肺炎", "main_cond_dscr": "", "dise_codg": "J18.9",
                "dise_name": "肺炎", "insuplc_admdvs": self.p.insuplc, "card_sn": self.p.card_sn,
                "certno": self.p.certno, "emergency_flag": "1" if emergency else "0"}
        out = self.his.call("2401", {"mdtrtinfo": info, "diseinfo": [], "agnterinfo": {}},
                            insuplc=self.p.insuplc, msgid=msgid)
        self.mdtrt_id = out["data"]["mdtrt_id"]
        return self.mdtrt_id

    def fees(self, lines: list[tuple[str, str, str]], *, inpatient: bool = False,
             when: datetime | None = None, msgid: str | None = None) -> Any:
        """2204/2301 fee details: (national code, price in yuan, quantity) per line."""
        from decimal import ROUND_HALF_UP, Decimal
        batch = f"CB{self.his.msgid()[-14:]}"
        details = []
        for code, price, count in lines:
            total = (Decimal(price) * Decimal(count)).quantize(Decimal("0.01"), ROUND_HALF_UP)
            details.append({
                "feedetl_sn": f"F{next(self.serial):05d}{batch[-8:]}", **self._ids(),
                "chrg_bchno": batch, "dise_codg": "", "rxno": "", "rx_circ_flag": "0",
                "fee_ocur_time": _time(when), "med_list_codg": code, "medins_list_codg": code,
                "det_item_fee_sumamt": str(total), "cnt": count, "pric": price,
                "bilg_dept_codg": "A03", "bilg_dept_name": "内科", "bilg_dr_codg": "D001",
                "bilg_dr_name": "李医生", "hosp_appr_flag": "1"})
        return self.his.call("2301" if inpatient else "2204", {"feedetail": details},
                             insuplc=self.p.insuplc, msgid=msgid)

    def discharge(self, endtime: datetime | None = None, msgid: str | None = None) -> Any:
        """2402 discharge."""
        info = {**self._ids(), "insutype": self.p.insutype, "endtime": _time(endtime),
                "dise_codg": "J18.9", "dise_name": "肺炎", "dscg_way": "1",
                "dscg_dept_code": "A03", "dscg_dept_name": "内科"}
        return self.his.call("2402", {"dscginfo": info, "diseinfo": []}, insuplc=self.p.insuplc,
                             msgid=msgid)

    def settle(self, total_yuan: str, *, inpatient: bool = False, pre: bool = False,
               acct: bool = False, msgid: str | None = None, invono: str = "") -> Any:
        """2206/2207 (outpatient) or 2303/2304 (inpatient) with the visit's total in yuan (and
        the hospital's invoice number, kept with the settlement)."""
        infno = ("2303" if pre else "2304") if inpatient else ("2206" if pre else "2207")
        data = {"psn_no": self.p.psn_no, "mdtrt_cert_type": self.p.cert_type,
                "mdtrt_cert_no": self.p.cert_no, "card_sn": self.p.card_sn,
                "med_type": "21" if inpatient else "11", "medfee_sumamt": total_yuan,
                "psn_setlway": "01", "mdtrt_id": self.mdtrt_id,
                "chrg_bchno": "0000", "insutype": self.p.insutype,
                "acct_used_flag": "1" if acct else "0", "invono": invono,
                "mid_setl_flag": "0", "insuplc_admdvs": self.p.insuplc,
                "mdtrtarea_admvs": self.his.admdvs, "certno": self.p.certno,
                "psn_cert_type": "01", "psn_name": self.p.name}
        return self.his.call(infno, {"data": data}, insuplc=self.p.insuplc, msgid=msgid)

    def cancel(self, setl_id: str, *, inpatient: bool = False, msgid: str | None = None) -> Any:
        """2208/2305 cancel a settlement."""
        return self.his.call("2305" if inpatient else "2208",
                             {"data": {"setl_id": setl_id, **self._ids()}},
                             insuplc=self.p.insuplc, msgid=msgid)

    def reverse(self, omsgid: str, oinfno: str, msgid: str | None = None) -> Any:
        """2601 reversal of an earlier message."""
        return self.his.call("2601", {"data": {"psn_no": self.p.psn_no, "omsgid": omsgid,
                                               "oinfno": oinfno}}, insuplc=self.p.insuplc,
                             msgid=msgid)


class PooledHisClient(HisClient):
    """A HisClient over pooled keep-alive connections (adapters/http_pool): a load
    generator's HIS, costing a third of httpx's CPU per message, so that a benchmark measures
    the nodes rather than its own client."""

    def __init__(self, base_url: str, fixmedins_code: str, fixmedins_name: str,
                 pool: HttpPool) -> None:
        super().__init__(base_url, fixmedins_code, fixmedins_name)
        self.pool = pool

    def send(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """POST one envelope over the pool (sealed, with a sealer); returns the whole answer."""
        content, headers = (self.sealer.seal(envelope) if self.sealer is not None else
                            (json.dumps(envelope, ensure_ascii=False).encode(), {}))
        status, body = self.pool.request("POST", f"{self.base_url}/his", content,
                                         {"content-type": "application/json", **headers}, None,
                                         "the gateway")
        if status != 200:
            raise httpx.HTTPError(f"the gateway answered HTTP {status}")
        answer: dict[str, Any] = json.loads(body)
        return answer if self.sealer is None else self.sealer.open(answer)
