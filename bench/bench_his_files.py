"""The HIS gateway's files, catalogue downloads and dialects, in process on SQLite, against a
baseline measured in the same run: 1101 (person info by e-voucher) from a national institution.

- 1101 from a `tolerant` institution, input without `data` and without `mdtrt_cert_type`
  (the dialect's read and write on top of the same work);
- 9101 upload of a 100 KB file, 9102 download of it, 1301 extract of the drug catalogue.

    .venv/bin/python bench/bench_his_files.py [--calls 400]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from medsettle.adapters.api.province import ProvinceConfig, ProvinceNode
from medsettle.adapters.db.seed import load_rows
from medsettle.adapters.files import load_policy_book
from medsettle.adapters.his.envelope import FileAnswer
from medsettle.sim.population import generate_province

sys.path.insert(0, os.path.dirname(__file__))
from scratch import machine

REGION = "440000"


def envelope(code: str, sign_no: str, infno: str, input: dict[str, Any], n: int) -> bytes:
    return json.dumps({
        "infno": infno, "msgid": f"{code}{datetime.now():%Y%m%d%H%M%S}{n % 10000:04d}",
        "mdtrtarea_admvs": code[1:7], "insuplc_admdvs": "", "recer_sys_code": "MBS_LOCAL",
        "infver": "V1.0", "opter_type": "1", "opter": "D0107", "opter_name": "收费员甲",
        "inf_time": f"{datetime.now():%Y-%m-%d %H:%M:%S}", "fixmedins_code": code,
        "fixmedins_name": "医院", "sign_no": sign_no, "input": input},
        ensure_ascii=False).encode()


def timed(calls: int, one: Callable[[int], Any]) -> float:
    """The median seconds of `one(n)` over `calls` calls."""
    times = []
    for n in range(calls):
        started = time.perf_counter()
        one(n)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def paired(calls: int, first: Callable[[int], Any], second: Callable[[int], Any]
           ) -> tuple[float, float]:
    """The median seconds of two calls made in alternation (the same load on both)."""
    times: tuple[list[float], list[float]] = ([], [])
    for n in range(calls):
        for i, one in enumerate((first, second) if n % 2 else (second, first)):
            started = time.perf_counter()
            one(2 * n + i)
            times[i if n % 2 else 1 - i].append(time.perf_counter() - started)
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args()
    book = load_policy_book()
    seed = generate_province(REGION, persons=40, institutions=2, on=date.today(), seed=1,
                             book=book)
    national, tolerant = (row["fixmedins_code"] for row in seed.institutions[:2])
    for row in seed.institutions:
        row["dialect"] = "tolerant" if row["fixmedins_code"] == tolerant else None
    person = next(p for p in seed.persons if p.get("evoucher"))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'p.db'}"
        load_rows(url, {"persons": seed.persons, "accumulators": seed.accumulators,
                        "filings": seed.filings, "institutions": seed.institutions,
                        "catalogue": seed.catalogue})
        node = ProvinceNode(ProvinceConfig(region=REGION, db_url=url, key="k", hub_url=None),
                            book=book)
        handle = node.gateway.handle
        signs = {}
        for code in (national, tolerant):
            answer = handle(envelope(code, "", "9001", {"signIn": {
                "opter_no": "D0107", "mac": "00-16-3E-00-00-01", "ip": "10.0.0.8"}}, 0))
            assert isinstance(answer, dict) and answer["infcode"] == 0, answer
            signs[code] = answer["output"]["signinoutb"]["sign_no"]

        def call(code: str, infno: str, input: dict[str, Any], n: int) -> Any:
            answer = handle(envelope(code, signs[code], infno, input, n))
            assert isinstance(answer, FileAnswer) or str(answer["infcode"]) == "0", answer
            return answer

        query = {"mdtrt_cert_type": "01", "mdtrt_cert_no": person["evoucher"], "card_sn": ""}
        unwrapped = {"mdtrt_cert_no": person["evoucher"]}
        content = bytes(range(256)) * 400
        upload = {"fsUploadIn": {"in": list(content), "filename": "detail.txt"}}
        kept = call(national, "9101", upload, 0)["output"]["file_qury_no"]
        download = {"fsDownloadIn": {"file_qury_no": kept, "filename": "detail.txt"}}
        national_s, tolerant_s = paired(
            args.calls, lambda n: call(national, "1101", {"data": query}, n),
            lambda n: call(tolerant, "1101", unwrapped, n))
        rows = [
            ("9101 upload, 100 KB", max(args.calls // 20, 5),
             lambda n: call(national, "9101", upload, n + 1)),
            ("9102 download, 100 KB", max(args.calls // 4, 5),
             lambda n: call(national, "9102", download, n)),
            ("1301 drug catalogue", max(args.calls // 20, 5),
             lambda n: call(national, "1301", {"data": {"ver": "0"}}, n)),
        ]
        results = [("1101, national (baseline)", args.calls, national_s),
                   ("1101, tolerant dialect (alternating with the baseline)", args.calls,
                    tolerant_s)]
        results += [(name, calls, timed(calls, one)) for name, calls, one in rows]
        node.store.engine.dispose()
    base = results[0][2]
    print(f"machine: {machine()}; catalogue entries: {len(seed.catalogue)}")
    print("| call | calls | median ms | ÷ baseline |")
    print("| --- | --- | --- | --- |")
    for name, calls, seconds in results:
        print(f"| {name} | {calls} | {seconds * 1000:.2f} | {seconds / base:.2f} |")


if __name__ == "__main__":
    main()
