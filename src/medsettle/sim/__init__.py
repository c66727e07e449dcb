"""Synthetic provinces and cross-province traffic for demos, tests and benchmarks.

`population.generate_province` builds one province node's seed rows (persons, account balances,
filings, institutions, catalogue) with exactly the columns of `adapters/db/tables.py`;
`traffic.plan_day` plans a day of cross-province visits over several generated provinces.
Everything is deterministic for a seed and takes the business date as an argument (no clock).
All figures are illustrative [I]: realistic in shape, not statistics of any real region.
"""
