"""The 3202 detail file: whatever settlements a HIS lists, the node reads back exactly them."""

from __future__ import annotations

import io
import zipfile

from hypothesis import given, settings
from hypothesis import strategies as st

from medsettle.adapters.his.detail_file import DETAIL_COLUMNS, read_detail_file
from medsettle.adapters.his.reader import Node
from medsettle.adapters.his.reconcile import declared_rows
from medsettle.core.money import fen_to_yuan

#: Ids as the interface has them ("null", any case, is how real traffic writes a blank).
IDS = st.text("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ_-", min_size=1, max_size=30).filter(
    lambda text: text.lower() != "null")
FEN = st.integers(0, 10**10)
ROWS = st.lists(st.tuples(IDS, IDS, IDS, FEN, FEN, FEN, st.booleans()), min_size=1,
                max_size=40, unique_by=lambda r: r[0])


@settings(max_examples=100, deadline=None)
@given(rows=ROWS, header=st.booleans(), zipped=st.booleans(), crlf=st.booleans())
def test_a_detail_file_reads_back_exactly_what_was_written(
        rows: list[tuple[str, str, str, int, int, int, bool]], header: bool, zipped: bool,
        crlf: bool) -> None:
    lines = ["\t".join(DETAIL_COLUMNS)] if header else []
    lines += ["\t".join([s, v, p, fen_to_yuan(m), fen_to_yuan(f), fen_to_yuan(a),
                         "1" if refund else "0"]) for s, v, p, m, f, a, refund in rows]
    content = (("\r\n" if crlf else "\n").join(lines) + "\n").encode()
    if zipped:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("detail.txt", content)
        content = buffer.getvalue()
    read = declared_rows(Node(row, where) for where, row in read_detail_file(content, "file F"))
    assert [(d.settlement_id, d.visit_id, d.person_id, d.refund,
             d.amounts["medfee_sumamt"], d.amounts["fund_pay_sumamt"], d.amounts["acct_pay"])
            for d in read] == [
        (s, v, p, refund, *((-x if refund else x) for x in (m, f, a)))
        for s, v, p, m, f, a, refund in rows]
