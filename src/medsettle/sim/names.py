"""Name material for the simulator: people, places, employers and institutions (illustrative).

Plain data and two small helpers; every choice goes through a caller's `random.Random`.
"""

from __future__ import annotations

import random

from medsettle.core.codes import PREFECTURES, PROVINCES

#: Common surnames (百家姓 by frequency, roughly).
SURNAMES = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤"
)

#: Given-name characters, by the gender they are more often given to.
GIVEN_MALE = tuple("伟强磊军勇杰涛斌超明辉刚平鹏华飞鑫波宇浩凯俊峰建国志文成龙海东林亮晨博")
GIVEN_FEMALE = tuple("芳娜敏静丽艳娟霞秀英玲燕红梅琳雪婷慧莉萍洁琴颖倩佳欣怡丹蓉月兰凤琳")
GIVEN_ANY = tuple("子一晓小春秋思嘉安宁永新天立雨诗欣")

#: District-like place names used for hospitals, streets and address realism.
DISTRICTS = tuple(
    "城关 东城 西城 南湖 北湖 新华 中山 人民 解放 建设 和平 长安 高新 滨江 江北 江南 河西 河东 "
    "城南 城北 青山 金山 龙华 凤凰 桃源 白云 临江 湖滨 望江 清河 双桥 新城 光明 经开".split()
)
STREETS = tuple(
    "东风 胜利 红旗 前进 幸福 团结 友谊 文化 丰收 建国 向阳 光华 青年 花园 新村 杏林 柳湖 松山 "
    "梅园 兰亭 石桥 盐仓 枫林 桂园".split()
)

_CITY_OVERRIDES = {"360000": "南昌", "460100": "海口", "660000": "石河子"}
_MUNICIPALITIES = {"110000", "120000", "310000", "500000"}
_AUTONOMOUS = {"150000": "内蒙古自治区", "450000": "广西壮族自治区", "540000": "西藏自治区",
               "640000": "宁夏回族自治区", "650000": "新疆维吾尔自治区",
               "660000": "新疆生产建设兵团"}

_ORDINALS = "一二三四五六七八九十"
_FIRMS = tuple("华信 宏达 恒通 鑫源 金桥 天成 远航 东方 盛世 长城 万达 新纪元 汇丰 中联 瑞康 博远".split())
_TRADES = tuple(
    "科技 贸易 建筑工程 物流 电子 机械制造 食品 医药 纺织 房地产开发 信息技术 餐饮管理 "
    "汽车销售 文化传媒".split()
)
_SPECIALTIES = tuple("肿瘤医院 妇幼保健院 儿童医院 口腔医院 眼科医院 胸科医院 骨科医院 传染病医院 "
                     "精神卫生中心 康复医院".split())
_BUREAUS = tuple("财政局 教育局 卫生健康委员会 人力资源和社会保障局 税务局 公安局 自然资源局 统计局".split())


def city_label(admdvs: str) -> str:
    """The short city name of a pooling region: "440100" → "广州"."""
    if admdvs in _CITY_OVERRIDES:
        return _CITY_OVERRIDES[admdvs]
    return PREFECTURES.get(admdvs, PROVINCES.get(admdvs[:2] + "0000", "")).removesuffix("市")


def province_label(province: str) -> str:
    """The full name of a province: "440000" → "广东省", "310000" → "上海市"."""
    if province in _MUNICIPALITIES:
        return PROVINCES[province] + "市"
    return _AUTONOMOUS.get(province) or PROVINCES[province] + "省"


def person_name(rng: random.Random, male: bool) -> str:
    """A Chinese-looking name: surname plus one or two given-name characters."""
    pool = (GIVEN_MALE if male else GIVEN_FEMALE) + GIVEN_ANY
    given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def employer_name(rng: random.Random, city: str, civil_servant: bool) -> str:
    """An employer (单位名称): a government bureau for civil servants, else a firm or school."""
    if civil_servant:
        return f"{city}市{rng.choice(_BUREAUS)}"
    if rng.random() < 0.15:
        return f"{city}市第{rng.choice(_ORDINALS)}中学"
    return f"{city}{rng.choice(_FIRMS)}{rng.choice(_TRADES)}有限公司"


def hospital_name(rng: random.Random, tier: str, city: str, province: str) -> str:
    """A realistic institution name for a level tier (L3 large hospitals … L0 community)."""
    district, street = rng.choice(DISTRICTS), rng.choice(STREETS)
    n = rng.choice(_ORDINALS)
    templates = {
        "L3": (f"{city}市第{n}人民医院", f"{city}市中心医院", f"{city}市中医院",
               f"{province_label(province)}人民医院", f"{province_label(province)}中医院",
               f"{city}医科大学附属第{n}医院", f"{city}市{rng.choice(_SPECIALTIES)}",
               f"{city}市{district}区人民医院"),
        "L2": (f"{city}市{district}区人民医院", f"{city}市{district}区中医院",
               f"{city}市第{n}人民医院", f"{city}{district}骨科医院", f"{city}市{district}区妇幼保健院"),
        "L1": (f"{city}市{district}区第{n}医院", f"{city}{district}{street}医院",
               f"{city}市{district}区{street}中心卫生院"),
        "L0": (f"{city}市{district}区{street}社区卫生服务中心", f"{city}市{district}区{street}镇卫生院",
               f"{city}市{district}区{street}社区卫生服务站"),
    }[tier]
    return rng.choice(templates)
