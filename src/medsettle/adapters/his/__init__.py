"""The HIS gateway's wire layer: the national interface envelope, inputs and outputs (interface.md)."""
