"""9002 (签退): a HIS ends its sign-in at the end of a shift; that sign_no is refused from then
on, a retried sign-out answers the first one's time, and another institution's sign_no cannot
be signed out (MedSettle answered "unknown transaction 9002")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from medsettle.adapters.his.client import HisClient, HisError
from medsettle.core.errors import InvalidInput
from medsettle.services import treating as tr
from tests.api.conftest import OTHER_H, Province
from tests.e2e import fixtures as f


def sign_in_refusal(his: HisClient) -> str:
    """What a 1101 from `his` is refused for, if for its sign-in ('' when the sign-in passes:
    the lookup itself may still be refused, for its made-up card)."""
    try:
        his.call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "X",
                                   "card_sn": "", "begntime": "", "psn_cert_type": "",
                                   "certno": "", "psn_name": ""}})
    except HisError as error:
        said = str(error.answer["err_msg"])
        return said if "sign_no" in said else ""
    return ""


def test_a_signed_out_sign_no_is_refused_and_a_new_sign_in_works(province: Province) -> None:
    his = province.his()
    his.sign_in()
    assert sign_in_refusal(his) == ""
    ended = his.sign_out()
    assert "signed out with 9002" in sign_in_refusal(his)
    again = his.call("9002", {"signOut": {"sign_no": his.sign_no, "opter_no": "D0107"}})
    assert again["signoutoutb"]["sign_time"] == ended  # a retry answers the first sign-out
    his.sign_in()
    assert sign_in_refusal(his) == ""


def test_another_institutions_sign_no_cannot_be_signed_out(province: Province) -> None:
    theirs = province.his(f.SHENZHEN_H)
    theirs.sign_in()
    other = province.signed_in(OTHER_H)
    before = province.snapshot()
    try:
        other.call("9002", {"signOut": {"sign_no": theirs.sign_no, "opter_no": "D0107"}})
    except HisError as error:
        assert "input.signOut.sign_no" in str(error.answer["err_msg"])
    else:
        raise AssertionError("another institution's sign-in was ended")
    assert province.snapshot() == before
    assert sign_in_refusal(theirs) == ""  # still signed in


def test_a_sign_out_without_its_sign_no_names_the_field(province: Province) -> None:
    his = province.signed_in()
    try:
        his.call("9002", {"signOut": {"opter_no": "D0107"}})
    except HisError as error:
        assert "input.signOut.sign_no" in str(error.answer["err_msg"])
    else:
        raise AssertionError("a sign-out without a sign_no was accepted")


def test_a_sign_out_another_process_made_is_seen_within_the_trusted_time(
        province: Province) -> None:
    """A node trusts a sign-in it checked for SIGN_IN_TRUSTED; a 9002 made by another process
    of the node (or committed while this one was checking) was missed for the process's life
    when the cache never expired."""
    his = province.his()
    his.sign_in()
    t = province.node.treating
    now = datetime.now(UTC)
    tr.check_signed_in(t, his.sign_no, f.SHENZHEN_H, now)  # read, and trusted from now
    with province.node.store.tx() as tx:  # the other process's 9002
        tx.change("sign_ins", {"sign_no": his.sign_no}, signed_out_at=now)
    tr.check_signed_in(t, his.sign_no, f.SHENZHEN_H, now + timedelta(seconds=5))
    later = now + tr.SIGN_IN_TRUSTED + timedelta(seconds=1)
    with pytest.raises(InvalidInput, match="signed out with 9002"):
        tr.check_signed_in(t, his.sign_no, f.SHENZHEN_H, later)
