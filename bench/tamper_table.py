"""The tamper table: each of the 14 kinds of tampering (docs/security.md), caught or not by
`medsettle verify`, with and without anchors, on SQLite.

    .venv/bin/python bench/tamper_table.py                       # this checkout
    PYTHONPATH=/path/to/older/src .venv/bin/python bench/tamper_table.py   # an older verify

The kinds and the scene come from tests/integration/tamper_kinds.py. An older checkout
has no `verify_all`; its `verify` command checked the chain alone (`verify_node`), so that is
what stands in for it there.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.store import Store
from medsettle.services import verify

if not hasattr(verify, "verify_all"):  # an older checkout: verify checked the chain only
    verify.verify_all = verify.verify_node  # type: ignore[attr-defined]

from tests.integration.tamper_kinds import KINDS, Scene
from tests.integration.tamper_kit import (
    SETTLEMENTS,
    build_hub,
    build_ledger,
    drop_triggers,
    log_heads,
)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="tamper-"))
    try:
        build_ledger(f"sqlite:///{work / 'province.tpl'}").engine.dispose()
        build_hub(f"sqlite:///{work / 'hub.tpl'}").engine.dispose()
        caught = {True: 0, False: 0}
        print(f"{'kind':32} {'with anchors':>13} {'without':>8}")
        for kind in KINDS:
            shutil.copy(work / "province.tpl", work / "province.db")
            shutil.copy(work / "hub.tpl", work / "hub.db")
            province = Store(make_engine(f"sqlite:///{work / 'province.db'}"))
            hub = Store(make_engine(f"sqlite:///{work / 'hub.db'}"))
            drop_triggers(province.engine)
            drop_triggers(hub.engine, ("hub_messages",))
            chain = verify.read_chain(province, "province")
            scene = Scene(province, hub, {10: chain[9].hash, SETTLEMENTS: chain[-1].hash},
                          log_heads(hub, 6, 10))
            kind.tamper(scene)
            found = {w: scene.caught(with_anchors=w) for w in (True, False)}
            for w in found:
                caught[w] += found[w]
            print(f"{kind.name:32} {'caught' if found[True] else 'MISSED':>13} "
                  f"{'caught' if found[False] else 'MISSED':>8}")
            province.engine.dispose()
            hub.engine.dispose()
        print(f"caught: {caught[True]}/{len(KINDS)} with anchors, "
              f"{caught[False]}/{len(KINDS)} without")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
