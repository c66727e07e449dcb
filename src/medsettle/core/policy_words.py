"""The policy-difference list (异地就医待遇差异清单) in a person's words: each row of
`policy_view.diff` named as a person reads it (住院起付线, not `inpatient.deductible.active`), in
Chinese or English, with the values' levels spelled out, and only the rows of their category.
"""

from __future__ import annotations

from dataclasses import dataclass

from medsettle.core.policy import ParameterSet
from medsettle.core.policy_view import diff

CATEGORIES = ("active", "retired", "resident")
_VISIT = {"inpatient": ("住院", "Inpatient"), "outpatient": ("普通门诊", "General outpatient"),
          "chronic": ("门诊慢特病", "Outpatient chronic disease")}
_CATEGORY = {"active": ("在职", "active employees"), "retired": ("退休", "retirees"),
             "resident": ("城乡居民", "residents")}
_CLASS = {"referral": ("转诊", "referral"), "emergency": ("急诊抢救", "emergency"),
          "other_temp": ("临时外出就医", "other temporary trips"),
          "unfiled": ("未备案", "no filing"), "long_term_return": ("回参保地就医", "treated back home")}
_TIER = {"hifmi": ("大病保险", "critical-illness insurance"),
         "hifob": ("职工大额医疗费用补助", "large-amount subsidy for employees"),
         "cvlserv": ("公务员医疗补助", "civil-servant subsidy"), "maf": ("医疗救助", "medical assistance")}
_CAP = {"main": ("统筹基金年度最高支付限额", "Annual cap of the basic pool"),
        "outpatient": ("普通门诊年度最高支付限额", "Annual cap of general outpatient care")}
_LEVELS_ZH = ("基层", "一级", "二级", "三级")
_LEVELS_EN = ("primary", "level 1", "level 2", "level 3")
_VALUE_ZH = (("per month", "每月"), ("per year", "每年"), ("points", "个百分点"), ("none", "无"),
             ("from ", "起付 "), (" to ∞", " 以上"), (" to ", " 至 "), ("cap ", "封顶 "),
             ("above", "以上"), ("per visit", "按次"), ("on the medical year's eligible amount",
                                                       "按年度累计"), ("inscope_only", "仅政策范围内"),
             ("all", "全部个人负担"))


@dataclass(frozen=True, slots=True)
class Difference:
    """One row of the list: what, my region's value, the treating region's value."""

    key: str
    what: str
    mine: str
    theirs: str


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def label(key: str, lang: str) -> str:
    """A person's name for a parameter key of `policy_view.describe`."""
    parts = key.split(".")
    head = parts[0]
    if head in _VISIT:
        visit = _pick(_VISIT[head], lang)
        what = parts[1] if len(parts) > 1 else ""
        if what == "deductible":
            text = f"{visit}起付线" if lang == "zh" else f"{visit} deductible"
            if parts[-1] == "repeat":
                text += "（再次就医系数）" if lang == "zh" else " (factor for later stays)"
            return text
        if what == "ratio":
            return f"{visit}统筹支付比例" if lang == "zh" else f"{visit} pool ratio"
        if what == "ratio_basis":
            return f"{visit}分段报销方式" if lang == "zh" else f"{visit} ratio bands"
        if what == "cap_group":
            return f"{visit}限额归属" if lang == "zh" else f"{visit} counts towards cap"
        if what == "disease":
            return (f"{visit} {parts[2]} 限额" if lang == "zh"
                    else f"{visit} quota of {parts[2]}")
    if head == "cap" and len(parts) > 1:
        return _pick(_CAP.get(parts[1], (f"年度限额 {parts[1]}", f"Annual cap {parts[1]}")), lang)
    if head == "reduction" and len(parts) > 1:
        who = _pick(_CLASS.get(parts[1], (parts[1], parts[1])), lang)
        return f"{who}待遇降低" if lang == "zh" else f"Reduction for {who}"
    if head == "tier" and len(parts) > 1:
        name = _pick(_TIER.get(parts[1], (parts[1], parts[1])), lang)
        return f"{name}（{parts[2]}）" if len(parts) > 2 else name
    if head == "account":
        return "个人账户支付范围" if lang == "zh" else "What the personal account may pay"
    if head == "year_start":
        return "医疗年度起始日" if lang == "zh" else "Medical year starts"
    return key


def value_words(value: str, lang: str) -> str:
    """A value of `policy_view` with its levels named and, in Chinese, its words translated."""
    cells = value.split(" / ")
    levels = _LEVELS_ZH if lang == "zh" else _LEVELS_EN
    text = (" · ".join(f"{level} {cell}" for level, cell in zip(levels, cells, strict=True))
            if len(cells) == 4 else value)
    if lang == "zh":
        for english, chinese in _VALUE_ZH:
            text = text.replace(english, chinese)
        text = text.replace("−", "降低 ").replace("—", "无此项")
    return text.replace("—", "not provided")


def differences(mine: ParameterSet, theirs: ParameterSet, category: str,
                lang: str) -> list[Difference]:
    """What differs between two regions' policies, for a person of `category`, in words."""
    rows = []
    for item, other in diff(mine, theirs):
        last = item.key.rsplit(".", 1)[-1]
        if last in CATEGORIES and last != category:
            continue
        what = label(item.key.removesuffix(f".{last}") if last in CATEGORIES else item.key, lang)
        if last in CATEGORIES and last == category:
            what += f"（{_pick(_CATEGORY[last], lang)}）" if lang == "zh" \
                else f" ({_pick(_CATEGORY[last], lang)})"
        rows.append(Difference(item.key, what, value_words(item.value, lang),
                               value_words(other, lang)))
    return rows
