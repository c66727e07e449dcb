"""A reference HIS for `medsettle conformance --his`: the hook `POST /conformance/run`, played with
the SDK. It shows an integrator what the hook does; the tests run the kit against it (and
against broken variants of it). A real HIS implements the same hook around its own code.

    python -m medsettle.adapters.kit.sample_his --port 8700
    medsettle conformance --his http://127.0.0.1:8700

or, the HIS fetching its orders from the kit (pull mode):

    medsettle conformance --his-pull --port 8190
    python -m medsettle.adapters.kit.sample_his --pull http://127.0.0.1:8190
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from medsettle.sdk import Client, Refused, Reversed, beijing_now
from medsettle.sdk import money as m
from medsettle.sdk import queries as q
from medsettle.sdk import visits as v


class SampleHis:
    """A HIS that plays each order of the kit against the platform the order names."""

    def __init__(self) -> None:
        #: this HIS's own record for 3201: (+1 settlement / -1 cancel, its setlinfo)
        self.settled: list[tuple[int, m.SetlInfo]] = []

    def client(self, order: dict[str, Any]) -> Client:
        """A signed-in SDK client for the order's platform and institution."""
        his = Client(order["platform"], order["fixmedins_code"], order["fixmedins_name"],
                     admdvs=order["mdtrtarea_admvs"], retries=1, backoff=0.05)
        his.sign_in()
        return his

    def run(self, order: dict[str, Any]) -> dict[str, Any]:
        """Play one order; what happened, for the kit's log."""
        his = self.client(order)
        try:
            name = order["scenario"]
            if name == "sign-in":
                return {"done": True}
            if name == "person-info":
                for cred in order["credentials"]:
                    self.person(his, cred)
                return {"done": True}
            if name == "reconciliation":
                return {"done": True, "stmt_rslt": self.reconcile(his, order)}
            return {"done": True, "note": self.visit(his, order)}
        except Refused as exc:
            return {"done": True, "refused": str(exc)}
        finally:
            his.close()

    def person(self, his: Client, cred: dict[str, str]) -> v.PersonAnswer:
        """1101 by the credential of the order."""
        return his.call(v.PersonInfoRequest(data=v.PersonQuery(
            mdtrt_cert_type=cred["cert_type"], mdtrt_cert_no=cred["cert_no"],
            card_sn=cred.get("card_sn", ""))),
            insuplc=cred["insuplc_admdvs"] if cred["cert_type"] == "03" else "")

    def visit(self, his: Client, order: dict[str, Any]) -> str:
        """1101, open the visit, upload the fees, settle; cancel it for the cancel order."""
        cred = order["person"]
        person = self.person(his, cred)
        psn_no, insuplc = person.baseinfo.psn_no, person.insuinfo[0].insuplc_admdvs
        now = beijing_now().replace(microsecond=0) - timedelta(hours=1)
        inpatient = bool(order["inpatient"])
        mdtrt_id = self.open(his, order, psn_no, insuplc, now)
        lines = [m.FeeDetail(
            feedetl_sn=f"F{his.msgid()[-10:]}{i}", mdtrt_id=mdtrt_id, psn_no=psn_no,
            chrg_bchno="CB1", fee_ocur_time=now, med_list_codg=line["code"],
            medins_list_codg=f"H{i:03d}", det_item_fee_sumamt=(
                Decimal(line["price"]) * Decimal(line["count"])).quantize(Decimal("0.01")),
            cnt=Decimal(line["count"]), pric=Decimal(line["price"]), bilg_dept_codg="A03",
            bilg_dept_name="内科", bilg_dr_codg="D001", bilg_dr_name="李医生")
            for i, line in enumerate(order["lines"], start=1)]
        upload = m.InpatientFeeUploadRequest if inpatient else m.FeeUploadRequest
        his.call(upload(feedetail=lines), insuplc=insuplc)
        if inpatient:
            his.call(v.DischargeRequest(dscginfo=v.DischargeInfo(
                mdtrt_id=mdtrt_id, psn_no=psn_no, endtime=now + timedelta(minutes=50),
                dscg_way="1", dscg_dept_code="A03", dscg_dept_name="内科")), insuplc=insuplc)
        total = sum((line.det_item_fee_sumamt for line in lines), Decimal("0.00"))
        data = m.Settlement(psn_no=psn_no, mdtrt_cert_type=cred["cert_type"],
                            mdtrt_cert_no=cred["cert_no"], med_type=order["med_type"] if not
                            inpatient else "21", medfee_sumamt=total, mdtrt_id=mdtrt_id,
                            insutype=order["insutype"], mid_setl_flag="0" if inpatient else "",
                            insuplc_admdvs=insuplc)
        settle = m.InpatientSettleRequest if inpatient else m.SettleRequest
        try:
            settled = self.settle(his, settle(data=data), insuplc)
        except Reversed as exc:
            return f"2207 got no answer and was reversed: {exc.reversal.reversed}"
        self.settled.append((1, settled.setlinfo))
        if order["scenario"] == "cancel":
            ref = m.SettlementRef(setl_id=settled.setlinfo.setl_id or "", mdtrt_id=mdtrt_id,
                                  psn_no=psn_no)
            cancelled = his.call(m.CancelSettleRequest(data=ref), insuplc=insuplc)
            self.settled.append((-1, cancelled.setlinfo))
        return f"settled {settled.setlinfo.setl_id}"

    def open(self, his: Client, order: dict[str, Any], psn_no: str, insuplc: str,
             now: datetime) -> str:
        """2201 (with 2203) or 2401: the platform's mdtrt_id."""
        cred = order["person"]
        if order["inpatient"]:
            return his.call(v.AdmissionRequest(mdtrtinfo=v.Admission(
                psn_no=psn_no, insutype=order["insutype"], begntime=now - timedelta(days=2),
                mdtrt_cert_type=cred["cert_type"], mdtrt_cert_no=cred["cert_no"],
                ipt_no=f"ZY{his.msgid()[-10:]}", atddr_no="D001", chfpdr_name="王主任",
                adm_dept_codg="A03", adm_dept_name="内科", dise_codg="J18.9",
                insuplc_admdvs=insuplc)), insuplc=insuplc).data.mdtrt_id
        opened = his.call(v.RegisterRequest(data=v.Registration(
            psn_no=psn_no, insutype=order["insutype"], begntime=now,
            mdtrt_cert_type=cred["cert_type"], mdtrt_cert_no=cred["cert_no"],
            ipt_otp_no=f"MZ{his.msgid()[-10:]}", atddr_no="D001", dr_name="李医生",
            dept_code="A03", dept_name="内科", caty="A03", med_type=order["med_type"],
            dise_codg=order["dise_codg"])), insuplc=insuplc).data.mdtrt_id
        return opened

    def settle(self, his: Client, request: m.SettleRequest, insuplc: str
               ) -> m.SettlementAnswer:
        """2207/2304: the SDK reverses it with 2601 if no answer comes."""
        return his.call(request, insuplc=insuplc)

    def reconcile(self, his: Client, order: dict[str, Any]) -> str:
        """3201 with this HIS's own totals of the order's insutype and clearing type."""
        ask = order["reconcile"]
        mine = [s for _, s in self.settled if s.insutype == ask["insutype"]
                and s.clr_type == ask["clr_type"]]
        count = sum(n for n, s in self.settled if s.insutype == ask["insutype"]
                    and s.clr_type == ask["clr_type"])
        answer = his.call(q.ReconcileTotalsRequest(data=q.TotalsToReconcile(
            insutype=ask["insutype"], clr_type=ask["clr_type"], setl_optins=ask["setl_optins"],
            stmt_begndate=ask["date"], stmt_enddate=ask["date"],
            medfee_sumamt=sum((s.medfee_sumamt for s in mine), Decimal("0.00")),
            fund_pay_sumamt=sum((s.fund_pay_sumamt for s in mine), Decimal("0.00")),
            acct_pay=sum((s.acct_pay for s in mine), Decimal("0.00")),
            fixmedins_setl_cnt=count)))
        return answer.stmt_rslt

    def pull(self, kit_url: str, poll: float = 0.05, wait: float = 300.0) -> int:
        """Pull mode: fetch each order from the kit, play it, report it done, until the kit
        says it has finished; how many orders were played."""
        played = 0
        deadline = time.monotonic() + wait
        with httpx.Client(base_url=kit_url.rstrip("/"), timeout=30) as kit:
            while time.monotonic() < deadline:
                try:
                    response = kit.get("/conformance/order")
                except httpx.ConnectError:
                    if played:
                        return played  # the kit has gone: the run is over
                    time.sleep(poll)  # the kit is not up yet
                    continue
                if response.status_code == 204:
                    time.sleep(poll)  # nothing offered yet: ask again shortly
                    continue
                order = response.json()
                if order.get("finished"):
                    return played
                self.run(order)
                kit.post("/conformance/done", json={"scenario": order["scenario"]})
                played += 1
        return played

    def app(self) -> Starlette:
        """The hook."""
        async def run(request: Request) -> Response:
            order = await request.json()
            return JSONResponse(await run_in_threadpool(self.run, order))

        return Starlette(routes=[Route("/conformance/run", run, methods=["POST"])])


def main() -> None:
    """Serve the sample HIS's hook."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8700, help="serve the hook on this port")
    parser.add_argument("--pull", metavar="KIT_URL",
                        help="instead, fetch orders from `medsettle conformance --his-pull`")
    args = parser.parse_args()
    if args.pull:
        print(f"played {SampleHis().pull(args.pull)} orders")
        return
    uvicorn.run(SampleHis().app(), host="127.0.0.1", port=args.port, log_config=None)


if __name__ == "__main__":
    main()
