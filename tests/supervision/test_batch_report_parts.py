"""A province's monthly batch reports its hits to the hub in parts (the hub takes at most
20,000 per request): the first part replaces the month's earlier report, the next ones add."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from medsettle.adapters.api import province_supervision as reporting
from medsettle.core.clearing import YearMonth
from medsettle.core.supervision.hits import Hit


@pytest.mark.parametrize(("hits", "parts"), [(0, [(0, True)]), (5, [(2, True), (2, False),
                                                                     (1, False)])])
def test_the_hits_go_in_parts_the_first_replacing(monkeypatch: pytest.MonkeyPatch, hits: int,
                                                  parts: list[tuple[int, bool]]) -> None:
    found = [Hit(rule="R09", unit="institution", key=f"H{i}", message="surge", threshold="t",
                 source="shipped") for i in range(hits)]
    sent: list[dict[str, Any]] = []

    def ask_hub(node: Any, method: str, path: str, doc: dict[str, Any]) -> dict[str, int]:
        assert (method, path) == ("POST", "/fed/v1/supervision/hits")
        sent.append(doc)
        return {"kept": len(doc["hits"])}

    monkeypatch.setattr(reporting, "HITS_PER_REPORT", 2)
    monkeypatch.setattr(reporting, "ask_hub", ask_hub)
    monkeypatch.setattr(reporting.batch_svc, "run_node", lambda *args: found)
    monkeypatch.setattr(reporting, "load_threshold_book", lambda: SimpleNamespace(
        find=lambda region, day: None))
    node: Any = SimpleNamespace(store=None, hub=object(), clock=lambda: None)
    done = reporting.run_batch(node, YearMonth.parse("2026-10"))
    assert [(len(d["hits"]), d["replace"]) for d in sent] == parts
    assert [h["key"] for d in sent for h in d["hits"]] == [h.key for h in found]
    assert done["reported"] == {"kept": hits} and done["hits"] == hits
