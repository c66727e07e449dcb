"""A transaction's request model knows its code, its answer's model and how it may be retried.

A request model is the transaction's `input` object (interface.md §4): `{"data": {...}}` or the
named nodes of 9001, 2203, 2204, 2401… Subclassing `Request[SomeAnswer]` with `INFNO` set is
all a new transaction needs, with one line in `registry.REQUESTS`:

    class SettlementListRequest(Request[SettlementListAnswer]):
        INFNO = "5261"
        READ_ONLY = True
        data: SettlementListData
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from medsettle.sdk.types import Answer, Message

OutT = TypeVar("OutT", bound=Answer)


class Request(Message, Generic[OutT]):
    """The input of one transaction; `Request[Out]` says the answer's `output` reads as `Out`."""

    #: The transaction code (infno), e.g. "2207".
    INFNO: ClassVar[str] = ""
    #: The model of the answer's `output`, taken from `Request[Out]`.
    RESPONSE: ClassVar[type[Answer]] = Answer
    #: It only reads: after a timeout, simply ask again.
    READ_ONLY: ClassVar[bool] = False
    #: It changes state and 2601 may name it: after a timeout, reverse it (冲正).
    REVERSIBLE: ClassVar[bool] = False
    #: Its input carries psn_no, so the envelope needs insuplc_admdvs.
    PERSON: ClassVar[bool] = True

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for klass in cls.__mro__:
            meta = getattr(klass, "__pydantic_generic_metadata__", None)
            if meta and meta.get("origin") is Request and meta.get("args"):
                answer = meta["args"][0]
                if isinstance(answer, type) and issubclass(answer, Answer):
                    cls.RESPONSE = answer
                    return


class Empty(Answer):
    """An answer whose output MedSettle leaves small (the keys are kept as sent)."""
