"""The parameter sets a province node serves: the sets its operators loaded and approved, in
front of the seed sets that ship with the package (docs/policies.md, "What a node serves").

For a region, scheme and date:

1. the approved sets in force that day (valid_from ≤ day < valid_until) are looked at first;
   of these the one with the latest `valid_from` wins, and of two with the same `valid_from`
   the one approved last (a correction supersedes what it corrects);
2. if approved sets of that region and scheme exist but have all ended by that day, no set is
   in force (PolicyNotInForce): the seed's sample parameters never come back after a province
   loaded its own;
3. otherwise the seed's set in force that day, if any.

So a newly approved set takes effect from its `valid_from`, and the seed answers only for days
before the province's first approved set. The approved sets are handed over whole (`serve`),
each time the database says that they changed; a lookup never touches the database.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import date

from medsettle.core.errors import PolicyNotInForce
from medsettle.core.policy import ParameterSet, PolicyBook


class ServedBook(PolicyBook):
    """A PolicyBook over a seed book and the approved sets of a node's database."""

    def __init__(self, seed: PolicyBook) -> None:
        super().__init__()
        self.seed = seed
        self.version: Hashable = None
        self._approved: dict[tuple[str, str], tuple[ParameterSet, ...]] = {}
        self._approved_ids: dict[str, ParameterSet] = {}

    def serve(self, approved: Sequence[ParameterSet], version: Hashable) -> None:
        """Serve these approved sets (oldest approval first) from now on; `version` names what
        the database held, so a caller can tell when to hand over a new list."""
        grouped: dict[tuple[str, str], list[ParameterSet]] = {}
        for ps in approved:
            grouped.setdefault((ps.insu_admdvs, ps.scheme), []).append(ps)
        self._approved_ids = {ps.id: ps for ps in approved}
        self._approved = {key: tuple(sets) for key, sets in grouped.items()}
        self.version = version

    def approved(self, insu_admdvs: str, scheme: str) -> tuple[ParameterSet, ...]:
        """The approved sets of one region and scheme, oldest approval first."""
        return self._approved.get((insu_admdvs, scheme), ())

    def find(self, insu_admdvs: str, scheme: str, on: date) -> ParameterSet:
        """The set in force on `on` (the rules of the module's docstring)."""
        return self.in_force_besides(insu_admdvs, scheme, on, None)

    def in_force_besides(self, insu_admdvs: str, scheme: str, on: date,
                         other_than: ParameterSet | None) -> ParameterSet:
        """The set that would be in force on `on` without the approved set `other_than` (what a
        proposal or an approved set is compared with)."""
        approved = [ps for ps in self.approved(insu_admdvs, scheme) if ps is not other_than]
        in_force = [(order, ps) for order, ps in enumerate(approved) if ps.in_force(on)]
        if in_force:
            return max(in_force, key=lambda found: (found[1].valid_from, found[0]))[1]
        if any(ps.valid_from <= on for ps in approved):
            raise PolicyNotInForce(
                f"the {scheme} parameter sets approved for region {insu_admdvs} end before "
                f"{on.isoformat()}: load and approve one that starts by then")
        return self.seed.find(insu_admdvs, scheme, on)

    def sets_of(self, insu_admdvs: str, scheme: str) -> list[ParameterSet]:
        """The seed's sets that start before the first approved one, then the approved sets,
        by start date."""
        approved = list(self.approved(insu_admdvs, scheme))
        first = min((ps.valid_from for ps in approved), default=None)
        seed = [ps for ps in self.seed.sets_of(insu_admdvs, scheme)
                if first is None or ps.valid_from < first]
        return sorted(seed + approved, key=lambda ps: ps.valid_from)

    def by_id(self, set_id: str) -> ParameterSet:
        """The approved set with this id (the latest approved), else the seed's."""
        found = self._approved_ids.get(set_id)
        return found if found is not None else self.seed.by_id(set_id)

    def regions(self) -> list[str]:
        """Every region with a seed set or an approved set."""
        return sorted(set(self.seed.regions()) | {region for region, _ in self._approved})

    def sets(self) -> list[ParameterSet]:
        """Every seed set and every approved set."""
        approved = [ps for sets in self._approved.values() for ps in sets]
        return sorted(self.seed.sets() + approved,
                      key=lambda ps: (ps.insu_admdvs, ps.scheme, ps.valid_from))
