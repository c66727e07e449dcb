"""MedSettle's typed HIS SDK: every transaction's input and output as pydantic models, a client
that builds envelopes, signs, and reverses (2601 冲正) what got no answer. See
docs/his-integration.md, "The Python SDK"."""

from __future__ import annotations

from medsettle.sdk.base import Request
from medsettle.sdk.client import (
    BadAnswer,
    Client,
    Exchange,
    HisSdkError,
    NoAnswer,
    NotReversed,
    Refused,
    Reversed,
    beijing_now,
)
from medsettle.sdk.envelope import RequestEnvelope, ResponseEnvelope
from medsettle.sdk.registry import REQUESTS, TRANSACTIONS, request_model
from medsettle.sdk.signing import hmac_signer
from medsettle.sdk.types import Answer, Message, fen, yuan_of

__all__ = [
    "REQUESTS", "TRANSACTIONS", "Answer", "BadAnswer", "Client", "Exchange", "HisSdkError",
    "Message", "NoAnswer", "NotReversed", "Refused", "Request", "RequestEnvelope", "ResponseEnvelope",
    "Reversed", "beijing_now", "fen", "hmac_signer", "request_model", "yuan_of",
]
