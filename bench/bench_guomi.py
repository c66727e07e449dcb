"""What reading and checking a HIS message costs the gateway (parse, his/signing.Guard.open,
the envelope's checks), per message: unsigned (the baseline), HMAC headers, SM2, and SM2 with
SM4-encrypted input; for a 1101 and for a 2204 upload of 100 fee lines. Short by design: the
machine is shared.

    .venv/bin/python bench/bench_guomi.py [--rounds 40]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from scratch import machine

from medsettle.adapters.his import guomi
from medsettle.adapters.his.envelope import envelope_of, load_object
from medsettle.adapters.his.sealing import HmacSealer, Sm2Sealer
from medsettle.adapters.his.signing import Credentials, Guard

CODE = "H44030400123"
PRIVATE, PUBLIC = guomi.new_sm2_key()
SM4 = guomi.new_sm4_key()
HMAC_KEY = "bench-key"
SCHEMES = {"none": Credentials(None, None, None, None),
           "hmac": Credentials("hmac", HMAC_KEY, None, None),
           "sm2": Credentials("sm2", None, PUBLIC, None),
           "sm2+sm4": Credentials("sm2", None, PUBLIC, SM4)}


def envelope(lines: int) -> dict[str, object]:
    data: dict[str, object] = (
        {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": "E" * 40}} if not lines else
        {"feedetail": [{"feedetl_sn": f"F{i:05d}", "med_list_codg": "XA01AAA000A001",
                        "det_item_fee_sumamt": "80.00", "cnt": "1", "pric": "80.00",
                        "fee_ocur_time": "2026-11-29 10:00:00", "bilg_dept_name": "内科"}
                       for i in range(lines)]})
    return {"infno": "2204" if lines else "1101", "msgid": f"{CODE}202611291000000001",
            "mdtrtarea_admvs": "440304", "insuplc_admdvs": "510100", "recer_sys_code": "MBS",
            "infver": "V1.0", "opter_type": "1", "opter": "D0107", "opter_name": "收费员甲",
            "inf_time": "2026-11-29 10:00:00", "fixmedins_code": CODE,
            "fixmedins_name": "深圳示例医院", "sign_no": "1", "input": data}


def sealed(scheme: str, env: dict[str, object]) -> tuple[bytes, dict[str, str]]:
    if scheme == "none":
        return json.dumps(env, ensure_ascii=False).encode(), {}
    if scheme == "hmac":
        return HmacSealer(CODE, HMAC_KEY).seal(env)
    return Sm2Sealer(PRIVATE, PUBLIC, SM4 if scheme == "sm2+sm4" else None).seal(env)


def median_ms(rounds: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    rounds = parser.parse_args().rounds
    print(f"machine: {machine()}; median of {rounds} messages each")
    print("| message | scheme | read and check, ms | ÷ unsigned | seal, ms (HIS side) |")
    print("| --- | --- | --- | --- | --- |")
    for label, lines in (("1101 (small)", 0), ("2204, 100 fee lines", 100)):
        env = envelope(lines)
        base = 0.0
        for scheme, creds in SCHEMES.items():
            guard = Guard(lambda _code, c=creds: c, started=0, window=10**10)
            messages = [sealed(scheme, env) for _ in range(rounds)]  # a new nonce each
            queue = iter(messages)

            def check(guard: Guard = guard, queue: object = queue) -> object:
                body, headers = next(queue)  # type: ignore[call-overload]
                opened = guard.open(load_object(body), body, headers, time.time())
                return envelope_of(opened.envelope)

            ms = median_ms(rounds, check)
            base = base or ms
            seal = median_ms(min(rounds, 10), lambda s=scheme, e=env: sealed(s, e))
            print(f"| {label} | {scheme} | {ms:.2f} | {ms / base:.1f} | {seal:.2f} |")


if __name__ == "__main__":
    main()
