"""What a province node reads of its own data when it starts: its catalogue and the ID numbers
of its insured persons (for the hub's locator index)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from medsettle.adapters.db import tables as tbl
from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.store import Store
from medsettle.core.catalogue import Catalogue, parse_entry


def load_catalogue(store: Store, region: str) -> Catalogue:
    """The province's catalogue (就医地目录) from its database."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(tbl.catalogue)).mappings().all()
    return Catalogue(region, (parse_entry(dict(r), f"catalogue[{r['id']}]") for r in rows))


def insured_id_numbers(store: Store) -> list[tuple[str, str]]:
    """The person number and ID number of every person the node insures."""
    with store.engine.connect() as conn:
        return [(str(p), str(c)) for p, c in conn.execute(
            select(tbl.persons.c.psn_no, tbl.persons.c.certno))]


#: The counter that marks a sandbox's database: `serve province` refuses one, and the sandbox
#: refuses a province's database that lacks it (test persons published to the hub as the
#: province's insured, or a real province's persons answered by a node that answers everyone).
SANDBOX_MARK = "sandbox"


def is_sandbox(url: str) -> bool:
    """Whether a database (if it exists and has a province's schema) is a sandbox's."""
    engine = make_engine(url)
    try:
        with Store(engine).read() as tx:
            return tx.one("counters", name=SANDBOX_MARK) is not None
    except SQLAlchemyError:  # not there yet, or no schema: not a sandbox's
        return False
    finally:
        engine.dispose()
