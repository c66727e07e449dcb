"""HTTP services (FastAPI): the hub, the province node with its HIS gateway."""
