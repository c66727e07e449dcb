"""The hub's two clearing pages share one adjustments table (hub/adjustments.html), each under
its own title, and show none when there is nothing to list."""

from __future__ import annotations

from typing import Any

import pytest

from medsettle.adapters.web.render import ENV

LATE = {"kind": "late", "case_id": "S" + "7" * 29, "insured": "510000", "treating": "440000",
        "amount": 12_345}
SUMMARY = {"status": "drafted", "settlements": 3, "obligations": 100, "net_sum": 0}


def page(name: str, adjustments: list[dict[str, Any]]) -> str:
    return ENV.get_template(name).render(
        _=lambda text: text, lang="en", path="/console/clearing", csrf="t",
        console={"nav": [], "title": "Hub", "region": None},
        operator={"name": "hubops", "role": "hub"}, summaries=[], suggested="2026-10",
        month="2026-10", summary=SUMMARY, statements=[], adjustments=adjustments)


@pytest.mark.parametrize("name,title", [
    ("hub/clearing.html", "Adjustments waiting for the next clearing"),
    ("hub/clearing_month.html", "Adjustments applied by this clearing")])
def test_each_clearing_page_lists_its_adjustments_under_its_title(name: str,
                                                                  title: str) -> None:
    html = page(name, [LATE])
    assert f"<h2>{title}</h2>" in html
    assert 'data-kind="late"' in html and "¥123.45" in html and LATE["case_id"] in html
    assert 'id="adjustments"' not in page(name, [])
