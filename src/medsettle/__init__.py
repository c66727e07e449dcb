"""MedSettle: cross-province direct settlement of medical insurance (跨省异地就医直接结算)."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
