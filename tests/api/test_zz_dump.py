from tests.api.test_his_bad_input import *  # noqa
from tests.api.test_his_bad_input import ROWS, ENVELOPE_ROWS


def test_dump(province, ctx):
    for row in ROWS + ENVELOPE_ROWS:
        r = province.post(row.envelope(province, ctx)).json()
        print(f"{row.id:60s} | {r['infcode']} | {r['err_msg']}")
