"""Supervision (医保基金监管) of cross-province settlements: the rule library R01–R12 of
domain.md §9, their dated thresholds, the hits with their evidence, cases (费用协查, 双地联查),
tickets (问题协同) and institutions' credit. Pure: no I/O, no clock; thresholds are passed in.

One module per family of rules:

- `stay`: R01 挂床住院, R02 分解住院 (inpatient stays)
- `billing`: R03 分解/重复收费, R04 串换, R12 price above cap billed in scope
- `identity`: R05 冒名/虚开 (two provinces in a day, outpatient while admitted, quantities)
- `drugs`: R06 超量开药, R11 超支付标准
- `eligibility`: R07 限定性别/年龄/机构等级/就医方式, R08 repeated filing
- `trends`: R09 cost surge, R10 structure outliers (Tukey fences)

`runner` applies them: `realtime` to one claim at pre-settle and settle, `batch` to a month.
"""
