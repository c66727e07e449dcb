"""The kill -9 drill's HIS sends a message again only when its answer says the peer did not
answer or asked to slow down: the code after the clerk's Chinese lead, as the gateway writes it
(the drill once matched the err_msg's start, which the lead has moved, and stopped retrying)."""

from __future__ import annotations

import pytest

from medsettle.adapters.chaos import transient
from medsettle.adapters.his.err_msg import err_msg
from medsettle.core.errors import MedSettleError, NotFiled, PeerUnavailable, RateLimited


@pytest.mark.parametrize(("error", "again"), [
    (PeerUnavailable("insured node 510000 did not answer"), True),
    (RateLimited("too many messages from H44030500001"), True),
    (NotFiled("no filing for 440304"), False),
])
def test_a_refusal_is_sent_again_only_when_transient(error: MedSettleError, again: bool) -> None:
    answer = {"infcode": -1, "err_msg": err_msg(error)}
    assert not answer["err_msg"].startswith("[")  # the Chinese lead comes first
    assert transient(answer) is again


def test_an_answered_message_is_never_sent_again() -> None:
    assert transient({"infcode": 0, "err_msg": "", "output": {}}) is False
