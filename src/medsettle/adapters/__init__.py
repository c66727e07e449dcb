"""Adapters: the command line, files, and (later) databases and HTTP."""
