"""国密 at the HIS gateway (his/signing.py): an institution registered for SM2 signs every message
(cainfo over an SM3 digest, a timestamp and a nonce) and may encrypt its input with SM4; one
registered for HMAC signs the gateway headers. Wrong keys, changed bytes, replays, stale
timestamps and one institution signing for another are refused, each naming why, and change
nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from medsettle.adapters.his import guomi
from medsettle.adapters.his.client import HisClient, Patient, VisitFlow
from medsettle.adapters.his.keys import node_key
from medsettle.adapters.his.sealing import HmacSealer, Sm2Sealer, verify_answer
from tests.api.conftest import OTHER_H, OUTPATIENT_LINES, Province
from tests.e2e import fixtures as f

HMAC_H = "H44030400789"
HMAC_KEY = "a-third-hospital-hmac-key"


class Keys:
    """One SM2-registered institution's keys, as `medsettle institution add` hands them out."""

    def __init__(self) -> None:
        self.private, self.public = guomi.new_sm2_key()
        self.sm4 = guomi.new_sm4_key()

    def sealer(self, encrypt: bool = True, clock: Callable[[], float] = time.time,
               platform: str | None = None) -> Sm2Sealer:
        return Sm2Sealer(self.private, self.public, self.sm4 if encrypt else None, clock,
                         platform)


@pytest.fixture(scope="module")
def keys(province: Province) -> dict[str, Keys]:
    """SHENZHEN_H and OTHER_H registered for SM2, HMAC_H (a third hospital) for HMAC."""
    issued = {f.SHENZHEN_H: Keys(), OTHER_H: Keys()}
    with province.node.store.tx() as tx:
        for code, k in issued.items():
            tx.change("institutions", {"fixmedins_code": code}, signing="sm2",
                      sm2_public_key=k.public, sm4_key=k.sm4)
        tx.add_many("institutions", [f.institution(HMAC_H, "深圳第三示例医院", "02", "L3",
                                                   signing="hmac", api_key=HMAC_KEY)])
    return issued


def his(province: Province, code: str, sealer: Any) -> HisClient:
    return HisClient(str(province.http.base_url), code, "示例医院", http=province.http,
                     sealer=sealer)


@pytest.fixture(scope="module")
def shenzhen(province: Province, keys: dict[str, Keys]) -> HisClient:
    """深圳示例医院's HIS, signing with SM2 and encrypting with SM4, checking every answer's
    signature with the node's public key, signed in."""
    _, platform = node_key(province.node.store)
    client = his(province, f.SHENZHEN_H, keys[f.SHENZHEN_H].sealer(platform=platform))
    client.sign_in()
    return client


def post(province: Province, body: bytes, headers: dict[str, str] | None = None
         ) -> dict[str, Any]:
    response = province.http.post("/his", content=body, headers={
        "content-type": "application/json", **(headers or {})})
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


def person_query(client: HisClient) -> dict[str, Any]:
    return client.envelope("1101", {"data": {"mdtrt_cert_type": "01",
                                             "mdtrt_cert_no": f.CHEN["evoucher"]}})


def assert_refused(province: Province, body: bytes, words: str,
                   headers: dict[str, str] | None = None) -> None:
    before = province.snapshot()
    answer = post(province, body, headers)
    assert answer["infcode"] == -1 and answer["output"] is None, answer
    assert words in answer["err_msg"], answer["err_msg"]
    assert "encData" not in answer
    assert province.snapshot() == before


def test_a_signed_and_encrypted_outpatient_visit_settles(province: Province,
                                                         keys: dict[str, Keys],
                                                         shenzhen: HisClient) -> None:
    patient = Patient.from_1101(shenzhen.person("01", f.CHEN["evoucher"]), "01",
                                f.CHEN["evoucher"])
    flow = VisitFlow(shenzhen, patient)
    flow.register()
    flow.fees(OUTPATIENT_LINES)
    setl = flow.settle("281.00")["setlinfo"]
    assert Decimal(str(setl["medfee_sumamt"])) == Decimal("281.00")
    with province.node.store.tx() as tx:
        assert tx.one("settlements", setl_id=setl["setl_id"]) is not None
    # on the wire: the input went encrypted, and the answer's output comes back encrypted
    body, _ = keys[f.SHENZHEN_H].sealer().seal(person_query(shenzhen))
    sent = json.loads(body)
    assert "input" not in sent and sent["encType"] == "SM4" and sent["signtype"] == "SM2"
    answer = post(province, body)
    assert answer["infcode"] == 0 and answer["output"] is None and answer["encType"] == "SM4"
    output = json.loads(guomi.sm4_decrypt(keys[f.SHENZHEN_H].sm4, answer["encData"]))
    assert output["baseinfo"]["psn_no"] == patient.psn_no


def test_signing_without_encryption_is_accepted(province: Province, keys: dict[str, Keys],
                                                shenzhen: HisClient) -> None:
    body, _ = keys[f.SHENZHEN_H].sealer(encrypt=False).seal(person_query(shenzhen))
    answer = post(province, body)
    assert answer["infcode"] == 0 and answer["output"]["baseinfo"]["psn_name"]


def test_a_message_signed_with_a_wrong_key_is_refused(province: Province,
                                                      shenzhen: HisClient) -> None:
    stranger = Keys()
    body, _ = stranger.sealer(encrypt=False).seal(person_query(shenzhen))
    assert_refused(province, body, "wrong SM2 signature for H44030400123")


@pytest.mark.parametrize(("old", "new"), [(b'"opter_name": "\\u6536', b'"opter_name": "\\u6537'),
                                          (b'"infver": "V1.0"', b'"infver": "V1.1"')])
def test_a_changed_byte_is_refused(province: Province, keys: dict[str, Keys],
                                   shenzhen: HisClient, old: bytes, new: bytes) -> None:
    body, _ = keys[f.SHENZHEN_H].sealer().seal(person_query(shenzhen))
    body = json.dumps(json.loads(body)).encode()  # ASCII-escaped, so one byte is one character
    assert old in body
    assert_refused(province, body.replace(old, new, 1), "验签失败")


def test_a_changed_byte_of_the_ciphertext_is_refused(province: Province, keys: dict[str, Keys],
                                                     shenzhen: HisClient) -> None:
    body, _ = keys[f.SHENZHEN_H].sealer().seal(person_query(shenzhen))
    doc = json.loads(body)
    data = doc["encData"]
    doc["encData"] = data[:20] + ("A" if data[20] != "A" else "B") + data[21:]
    assert_refused(province, json.dumps(doc).encode(), "wrong SM2 signature")


def test_a_replayed_message_is_refused(province: Province, keys: dict[str, Keys],
                                       shenzhen: HisClient) -> None:
    patient = Patient.from_1101(shenzhen.person("01", f.CHEN["evoucher"]), "01",
                                f.CHEN["evoucher"])
    flow = VisitFlow(shenzhen, patient)
    flow.register()
    envelope = shenzhen.envelope("2204", {"feedetail": []}, insuplc=patient.insuplc)
    sealed, _ = keys[f.SHENZHEN_H].sealer().seal(envelope)
    post(province, sealed)  # the first sending is judged on its merits
    assert_refused(province, sealed, "replayed message: H44030400123 already used this nonce")


def test_a_retry_signed_again_gets_the_stored_answer(province: Province, keys: dict[str, Keys],
                                                     shenzhen: HisClient) -> None:
    patient = Patient.from_1101(shenzhen.person("01", f.CHEN["evoucher"]), "01",
                                f.CHEN["evoucher"])
    data = {"psn_no": patient.psn_no, "insutype": patient.insutype,
            "begntime": time.strftime("%Y-%m-%d %H:%M:%S"), "mdtrt_cert_type": "01",
            "mdtrt_cert_no": patient.cert_no, "ipt_otp_no": "MZ-RETRY-1", "atddr_no": "D001",
            "dr_name": "李医生", "dept_code": "A03", "dept_name": "内科", "caty": "A03",
            "med_type": "11"}
    envelope = shenzhen.envelope("2201", {"data": data}, insuplc=patient.insuplc)
    first = shenzhen.send(envelope)  # sealed with a new timestamp and nonce …
    again = shenzhen.send(envelope)  # … each time, as a retry after a timeout is
    assert first["infcode"] == 0, first["err_msg"]
    unsigned = ("cainfo",)  # each answer is signed afresh (SM2 signatures are randomised)
    assert {k: v for k, v in again.items() if k not in unsigned} == {
        k: v for k, v in first.items() if k not in unsigned}


def test_an_old_timestamp_is_refused(province: Province, keys: dict[str, Keys],
                                     shenzhen: HisClient) -> None:
    stale = keys[f.SHENZHEN_H].sealer(clock=lambda: time.time() - 600)
    body, _ = stale.seal(person_query(shenzhen))
    assert_refused(province, body, "timestamp")


def test_an_unsigned_message_is_refused(province: Province, shenzhen: HisClient) -> None:
    body = json.dumps(person_query(shenzhen)).encode()
    assert_refused(province, body, "H44030400123 must sign its messages with SM2")


def test_a_signed_message_without_a_nonce_is_refused(province: Province, keys: dict[str, Keys],
                                                     shenzhen: HisClient) -> None:
    k = keys[f.SHENZHEN_H]
    doc = person_query(shenzhen) | {"signtype": "SM2", "timestamp": str(int(time.time()))}
    doc.pop("cainfo")
    digest = guomi.envelope_digest(guomi.parse_exact(json.dumps(doc)))
    doc["cainfo"] = guomi.sign(k.private, k.public, digest)
    assert_refused(province, json.dumps(doc).encode(), "nonce")


def test_one_institutions_key_cannot_sign_for_another(province: Province, keys: dict[str, Keys],
                                                      shenzhen: HisClient) -> None:
    other = his(province, OTHER_H, keys[OTHER_H].sealer())
    other.sign_in()  # its own key is good for its own messages
    forged = person_query(shenzhen)  # names H44030400123 …
    body, _ = keys[OTHER_H].sealer().seal(forged)  # … signed with H44030400456's key
    assert_refused(province, body, "wrong SM2 signature for H44030400123")


def test_input_encrypted_with_another_key_is_refused(province: Province, keys: dict[str, Keys],
                                                     shenzhen: HisClient) -> None:
    k = keys[f.SHENZHEN_H]
    crossed = Sm2Sealer(k.private, k.public, keys[OTHER_H].sm4)
    body, _ = crossed.seal(person_query(shenzhen))
    assert_refused(province, body, "encData")


def test_an_institution_without_an_sm2_key_cannot_sign_with_sm2(
        province: Province, keys: dict[str, Keys]) -> None:
    k = Keys()
    client = his(province, HMAC_H, None)
    body, _ = k.sealer().seal(client.envelope("9001", {"signIn": {
        "opter_no": "D0107", "mac": "00-16-3E-00-00-01", "ip": "10.0.0.8"}}))
    assert_refused(province, body, "must sign its messages with the HMAC gateway headers")


def test_an_hmac_institution_signs_every_message(province: Province,
                                                 keys: dict[str, Keys]) -> None:
    client = his(province, HMAC_H, HmacSealer(HMAC_H, HMAC_KEY))
    assert client.sign_in()
    envelope = client.envelope("1101", {"data": {"mdtrt_cert_type": "01",
                                                 "mdtrt_cert_no": f.CHEN["evoucher"]}})
    assert_refused(province, json.dumps(envelope).encode(), "must sign its messages with the HMAC")
    body, headers = HmacSealer(HMAC_H, HMAC_KEY).seal(envelope)
    assert post(province, body, headers)["infcode"] == 0
    assert_refused(province, body, "replayed message", headers)
    body, headers = HmacSealer(HMAC_H, "not-the-key").seal(envelope)
    assert_refused(province, body, "wrong signature for H44030400789", headers)


def test_an_unsigned_institution_cannot_send_encrypted_input(province: Province,
                                                             keys: dict[str, Keys]) -> None:
    client = province.his(f.SHENZHEN_H)
    envelope = client.envelope("1101", {}) | {"encType": "SM4", "encData": "AAAA"}
    envelope["fixmedins_code"] = "H44030400999"  # not registered: no scheme, no key
    assert_refused(province, json.dumps(envelope).encode(), "an encrypted message must be signed")


def test_an_institution_that_chose_no_signing_may_send_a_cainfo_it_has_no_key_for(
        province: Province, keys: dict[str, Keys]) -> None:
    with province.node.store.tx() as tx:
        tx.add_many("institutions", [f.institution("H44030400790", "深圳第四示例医院", "02",
                                                   "L3")])
    client = his(province, "H44030400790", None)
    envelope = client.envelope("9001", {"signIn": {"opter_no": "D0107", "mac": "00-16-3E-00-00-01",
                                                   "ip": "10.0.0.8"}})
    envelope |= {"signtype": "SM2", "cainfo": "MIIB-from-the-hospital's-own-CA-tooling"}
    assert post(province, json.dumps(envelope).encode())["infcode"] == 0


def test_answers_to_sm2_messages_are_signed_by_the_node(province: Province, keys: dict[str, Keys],
                                                       shenzhen: HisClient) -> None:
    _, platform = node_key(province.node.store)
    body, _ = keys[f.SHENZHEN_H].sealer().seal(person_query(shenzhen))
    answer = post(province, body)
    assert answer["signtype"] == "SM2" and verify_answer(answer, platform)
    forged = answer | {"encData": answer["encData"][:-4] + "AAA="}
    assert not verify_answer(forged, platform)
    assert not verify_answer(answer, keys[OTHER_H].public)  # another key
    refused = post(province, keys[OTHER_H].sealer().seal(person_query(shenzhen))[0])
    assert refused["infcode"] == -1 and refused["cainfo"] == ""  # not verified: not signed
    hmac = his(province, HMAC_H, HmacSealer(HMAC_H, HMAC_KEY))
    assert hmac.send(hmac.envelope("9001", {"signIn": {
        "opter_no": "D0107", "mac": "00-16-3E-00-00-01", "ip": "10.0.0.8"}}))["cainfo"] == ""
