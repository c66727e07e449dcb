"""Load prepared rows (a synthetic population, test fixtures) into a node's database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store

SEED_TABLES = ("persons", "accumulators", "filings", "institutions", "catalogue")


def load_rows(db_url: str, rows: Mapping[str, Sequence[Mapping[str, Any]]],
              chunk: int = 2000) -> dict[str, int]:
    """Migrate the province database at `db_url` and insert `rows` by table; returns counts."""
    engine = make_engine(db_url)
    migrate(engine, "province")
    store = Store(engine)
    counts = {}
    with store.tx() as tx:
        for table in SEED_TABLES:
            batch = [dict(r) for r in rows.get(table, ())]
            if table == "accumulators":  # what was loaded is the opening of later deltas
                batch = [{**r, "opening": r.get("opening", r["value"])} for r in batch]
            for start in range(0, len(batch), chunk):
                tx.add_many(table, batch[start:start + chunk])
            counts[table] = len(batch)
    engine.dispose()
    return counts
