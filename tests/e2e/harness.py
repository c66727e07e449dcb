"""The e2e tests' federation is the package's launcher."""

from medsettle.adapters.launcher import Federation, free_port

__all__ = ["Federation", "free_port"]
