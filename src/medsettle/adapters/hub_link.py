"""The hub's link to the provinces: signed requests to their endpoints (services.forwarding
.PeerLink), each signed with the key of the province it goes to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medsettle.adapters.peers import SignedClient


class HubLink:
    """Signed HTTP from the hub to province endpoints, over pooled connections."""

    def __init__(self, keys: Mapping[str, str], timeout: float, pool: int = 256) -> None:
        self.keys = keys
        self.client = SignedClient("hub", timeout, pool=pool)

    def send(self, target: str, endpoint: str, op: str, doc: Mapping[str, Any]
             ) -> dict[str, Any]:
        """Run `op` at province `target`; its answer (a JSON object, whatever its status)."""
        return self.client.request("POST", endpoint, f"/fed/v1/ops/{op}", self.keys[target],
                                   doc, peer=f"province {target}")

    def post(self, target: str, endpoint: str, path: str, doc: Any = None,
             timeout: float | None = None) -> dict[str, Any]:
        """Any other signed POST to a province (e.g. paying its institutions)."""
        return self.client.request("POST", endpoint, path, self.keys[target], doc,
                                   timeout=timeout, peer=f"province {target}")

    def close(self) -> None:
        """Close pooled connections."""
        self.client.close()
