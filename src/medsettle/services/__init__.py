"""Use cases of a province node and of the hub: one unit of work per message."""
