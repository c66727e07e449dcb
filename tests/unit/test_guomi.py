"""The 国密 primitives of the HIS gateway (his/guomi.py): SM3, SM2 signatures in the encodings
HIS systems send, SM4-CBC, and the canonical text a signature covers."""

from __future__ import annotations

import base64
import json

import pytest
from Cryptodome.Util.asn1 import DerSequence
from hypothesis import given, settings
from hypothesis import strategies as st

from medsettle.adapters.his import guomi
from medsettle.core.errors import InvalidInput

PRIVATE, PUBLIC = guomi.new_sm2_key()
DIGEST = guomi.sm3(b"an envelope")


def test_sm3_gives_the_standard_digest_of_abc() -> None:
    # GB/T 32905-2016, example 1
    assert guomi.sm3(b"abc").hex() == ("66c7f0f462eeedd9d1f2d46bdc10e4e2"
                                       "4167c4875cf2f7a2297da02b8f4ba8e0")


def test_a_new_key_pair_is_on_the_curve_and_signs() -> None:
    assert guomi.on_curve(PUBLIC) and len(PRIVATE) == 64
    signature = guomi.sign(PRIVATE, PUBLIC, DIGEST)
    assert len(base64.b64decode(signature)) == 64
    assert guomi.verify(PUBLIC, DIGEST, signature)
    assert not guomi.verify(PUBLIC, guomi.sm3(b"another envelope"), signature)
    assert not guomi.verify(guomi.new_sm2_key()[1], DIGEST, signature)


def test_a_signature_is_read_as_base64_or_hex_of_r_s_or_of_der() -> None:
    raw = base64.b64decode(guomi.sign(PRIVATE, PUBLIC, DIGEST))
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    der = DerSequence([r, s]).encode()
    for text in (raw.hex(), raw.hex().upper(), base64.b64encode(der).decode(), der.hex()):
        assert guomi.verify(PUBLIC, DIGEST, text), text


@pytest.mark.parametrize("signature", ["", "not base64!", base64.b64encode(bytes(64)).decode(),
                                       base64.b64encode(b"\xff" * 64).decode(), "00" * 64,
                                       base64.b64encode(DerSequence([1]).encode()).decode()])
def test_an_unreadable_or_out_of_range_signature_does_not_verify(signature: str) -> None:
    assert not guomi.verify(PUBLIC, DIGEST, signature)


def test_a_public_key_is_registered_with_or_without_04_and_must_be_on_the_curve() -> None:
    assert guomi.public_key("04" + PUBLIC.upper(), "key") == PUBLIC
    assert guomi.public_key(f" {PUBLIC} ", "key") == PUBLIC
    off_curve = PUBLIC[:-1] + ("0" if PUBLIC[-1] != "0" else "1")
    for bad in (off_curve, PUBLIC[:100], "zz" * 64):
        with pytest.raises(InvalidInput, match="^key: expected an SM2 public key"):
            guomi.public_key(bad, "key")


def test_sm4_round_trips_with_a_fresh_iv_and_refuses_another_key() -> None:
    key = guomi.new_sm4_key()
    text = "陈明 ¥281.00".encode()
    one, two = guomi.sm4_encrypt(key, text), guomi.sm4_encrypt(key, text)
    assert one != two and guomi.sm4_decrypt(key, one) == text == guomi.sm4_decrypt(key, two)
    with pytest.raises(InvalidInput, match="^encData: "):
        guomi.sm4_decrypt(key, "not base64!")
    with pytest.raises(InvalidInput, match="^encData: is not an SM4-CBC ciphertext"):
        guomi.sm4_decrypt(key, base64.b64encode(b"short").decode())


def test_the_canonical_text_keeps_numbers_as_written_and_ignores_layout() -> None:
    a = guomi.parse_exact('{"b": 12.50, "a": ["收费员", 1e2, null, true]}')
    b = guomi.parse_exact('{"a":["\\u6536\\u8d39\\u5458",1e2,null,true],\n "b":12.50}')
    assert guomi.canonical(a) == guomi.canonical(b) == '{"a":["收费员",1e2,null,true],"b":12.50}'
    assert guomi.canonical(guomi.parse_exact('{"b": 12.5}')) != guomi.canonical(a)


def test_the_digest_leaves_cainfo_out() -> None:
    doc = {"infno": "1101", "cainfo": ""}
    assert guomi.envelope_digest(doc) == guomi.envelope_digest(doc | {"cainfo": "x"})
    assert guomi.envelope_digest(doc) != guomi.envelope_digest(doc | {"infno": "1102"})


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8)
                    | st.floats(allow_nan=False, allow_infinity=False),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=12)


@settings(max_examples=60, deadline=None)
@given(value=st.dictionaries(st.text(max_size=6), JSON, max_size=5), indent=st.sampled_from(
    [None, 1, 4]), ascii_only=st.booleans())
def test_any_layout_of_the_same_document_has_one_canonical_text(value: dict[str, object],
                                                                indent: int | None,
                                                                ascii_only: bool) -> None:
    compact = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    laid_out = json.dumps(value, indent=indent, ensure_ascii=ascii_only, sort_keys=True)
    assert (guomi.canonical(guomi.parse_exact(compact))
            == guomi.canonical(guomi.parse_exact(laid_out)))
