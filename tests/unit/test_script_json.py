"""The dashboards' chart data sits inside a <script> element: a text in it that holds
"</script>" must not close the element (json.dumps leaves "<" as it is)."""

from __future__ import annotations

import json

from medsettle.adapters.web.render import script_json


def test_no_text_in_the_data_can_close_the_script_element() -> None:
    data = [{"labels": ["</script><script>alert(1)</script>", "广东"], "values": [1, 2]}]
    written = script_json(data)
    assert "<" not in written
    assert json.loads(written) == data  # the page's script reads the same data back
