"""The simulated world's databases: generated provinces loaded once into migrated SQLite files
(a template per world), copied for each run, so a run starts in milliseconds and every run of a
world starts from the same bytes."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine

from medsettle.adapters.cli_demo import rows_of
from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.node_data import load_catalogue
from medsettle.adapters.db.seed import load_rows
from medsettle.adapters.db.store import Store
from medsettle.adapters.simulation.nodes import HUB, register_provinces
from medsettle.core.catalogue import Catalogue
from medsettle.core.codes import PROVINCES
from medsettle.core.errors import InvalidInput
from medsettle.core.policy import PolicyBook
from medsettle.sim.population import ProvinceSeed, generate_province


@dataclass(frozen=True)
class WorldSpec:
    """What a world is made of (its population does not depend on the run's seed)."""

    provinces: tuple[str, ...]
    persons: int = 24
    institutions: int = 3
    population_seed: int = 1
    day: date = date(2025, 3, 31)  # the first day of traffic: the month ends that night

    def __post_init__(self) -> None:
        if len(self.provinces) < 2:
            raise InvalidInput("--provinces", "a federation needs at least two provinces")
        unknown = [p for p in self.provinces if p not in PROVINCES]
        if unknown:
            raise InvalidInput("--provinces", f"{unknown[0]} is not a province code")
        if self.persons < 4 or self.institutions < 1:
            raise InvalidInput("--persons", "a world needs at least 4 persons and 1 institution "
                                            "per province")


def pick_provinces(count: int) -> tuple[str, ...]:
    """The first `count` provinces, busiest destinations first."""
    preferred = ["440000", "510000", "310000", "110000", "330000", "320000", "460000"]
    rest = [p for p in sorted(PROVINCES) if p not in preferred]
    if not 2 <= count <= len(PROVINCES):
        raise InvalidInput("--provinces", f"must be 2..{len(PROVINCES)}, got {count}")
    return tuple((preferred + rest)[:count])


@dataclass
class World:
    """A built world: its seeds (for traffic and the starting accumulators), template files,
    and the files one run at a time plays on (with their engines, kept for the process: a
    restarted node reopens its file through the same engine, whose only memory is compiled SQL).
    """

    spec: WorldSpec
    seeds: dict[str, ProvinceSeed]
    folder: Path
    engines: dict[str, Engine] = field(default_factory=dict)
    catalogues: dict[str, Catalogue] = field(default_factory=dict)
    busy: bool = False

    def template(self, node: str) -> Path:
        """The template database file of a node ("hub" or a province code)."""
        return self.folder / f"{node}.db"

    def url(self, node: str) -> str:
        """The SQLite URL of a node's run file."""
        return f"sqlite:///{self.folder / 'run' / node}.db"

    @contextmanager
    def fresh_run(self) -> Iterator[dict[str, Engine]]:
        """Every node's run file reset to the template; node → engine (one run at a time)."""
        if self.busy:
            raise RuntimeError("a run of this world is already under way in this process")
        self.busy = True
        try:
            (self.folder / "run").mkdir(exist_ok=True)
            for node in (HUB, *self.spec.provinces):
                engine = self.engines.get(node)
                if engine is None:
                    engine = self.engines[node] = make_engine(self.url(node))
                engine.dispose()
                target = self.folder / "run" / f"{node}.db"
                for extra in ("-wal", "-shm"):
                    Path(f"{target}{extra}").unlink(missing_ok=True)
                shutil.copyfile(self.template(node), target)
            yield self.engines
        finally:
            for engine in self.engines.values():
                engine.dispose()
            self.busy = False

    def catalogue(self, region: str) -> Catalogue:
        """A province's catalogue as its database holds it (read once)."""
        if region not in self.catalogues:
            engine = make_engine(f"sqlite:///{self.template(region)}")
            self.catalogues[region] = load_catalogue(Store(engine), region)
            engine.dispose()
        return self.catalogues[region]

    def starting_accumulators(self) -> dict[str, dict[tuple[str, str, str], int]]:
        """Province → (psn_no, year, path) → value, as loaded."""
        return {p: {(str(a["psn_no"]), str(a["year"]), str(a["path"])): int(a["value"])
                    for a in seed.accumulators} for p, seed in self.seeds.items()}


_BUILT: dict[WorldSpec, World] = {}


def scratch_root() -> Path:
    """Where runs keep their databases: memory-backed when the machine has /dev/shm."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() else Path(tempfile.gettempdir())


def build_world(spec: WorldSpec, book: PolicyBook) -> World:
    """The world of `spec`, built once per process."""
    world = _BUILT.get(spec)
    if world is not None:
        return world
    folder = Path(tempfile.mkdtemp(prefix="medsettle-world-", dir=scratch_root()))
    atexit.register(shutil.rmtree, folder, True)
    seeds = {p: generate_province(p, persons=spec.persons, institutions=spec.institutions,
                                  on=spec.day, seed=spec.population_seed, book=book)
             for p in spec.provinces}
    for region, seed in seeds.items():
        load_rows(f"sqlite:///{folder / region}.db", rows_of(seed))
    hub_url = f"sqlite:///{folder / HUB}.db"
    engine = make_engine(hub_url)
    migrate(engine, "hub")
    engine.dispose()
    start = datetime.combine(spec.day, datetime.min.time(), UTC)
    register_provinces(hub_url, {p: [str(x["certno"]) for x in s.persons]
                                 for p, s in seeds.items()}, lambda: start)
    world = _BUILT[spec] = World(spec, seeds, folder)
    return world
