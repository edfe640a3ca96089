"""Routing rules for the demo organisation (``minxin.demo.organisation``), as a centre would
compile them from its duty lists (职责清单).

Shape of the table, most specific first:

* power (0801) per county → that county's power unit; power anywhere else in Shenyang → the
  city power company (the runner-up for every county);
* municipal facilities (0101), environmental sanitation (0202), fire safety (0902) and
  work safety (0104) per district/county → the district or county government (属地管理);
  municipal facilities elsewhere in Shenyang → the city administration bureau;
* departments by category anywhere: water, heating, city administration, housing, human
  resources, markets, transport, education, health, environment, public security;
* a low-priority any-category rule per county → its government, the catch-all of 属地兜底.

``seed_defaults`` adds them only to an empty table and skips rules whose unit or category is
missing, so it is harmless on a deployment with its own organisation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from minxin.categories import repository as categories_repository
from minxin.routing import repository, service

SEEDED_BY = "system"

#: county/district region → (power unit, government unit)
COUNTIES: dict[str, tuple[str | None, str]] = {
    "210115": ("GD-LZ", "QX-LZ"),  # 辽中区
    "210181": ("GD-XM", "QX-XM"),  # 新民市
    "210123": ("GD-KP", "QX-KP"),  # 康平县
    "210124": ("GD-FK", "QX-FK"),  # 法库县
    "210106": (None, "QX-TX"),  # 铁西区
    "210102": (None, "QX-HP"),  # 和平区
}
SHENYANG = "2101"

#: (category, unit, why) for departments that answer for their field city-wide
DEPARTMENTS: list[tuple[str, str, str]] = [
    ("0802", "SWJT", "供水：水务集团"),
    ("0803", "RLJT", "供暖：供暖集团"),
    ("0103", "CGJ", "城管执法：市城管执法局"),
    ("0102", "ZJJ", "住房保障与物业：市住建局"),
    ("05", "RSJ", "劳动和社会保障：市人社局"),
    ("06", "SCJ", "商贸旅游、市场监管：市市场监管局"),
    ("03", "JTJ", "交通运输：市交通运输局"),
    ("04", "JYJ", "教育文体：市教育局"),
    ("07", "WJW", "卫生计生：市卫健委"),
    ("02", "HBJ", "环境保护：市生态环境局"),
    ("0901", "GAJ", "社会治安：市公安局（110联动）"),
]

#: categories handled by the territorial government (属地管理)
TERRITORIAL: list[tuple[str, str]] = [
    ("0101", "市政设施属地管理"),
    ("0202", "环境卫生属地管理"),
    ("0902", "消防安全隐患属地排查"),
    ("0104", "安全生产属地监管"),
]


def default_rules() -> list[dict[str, object]]:
    """The demo rules as ``create_rule`` values (category, region, unit, priority, note)."""
    rules: list[dict[str, object]] = []
    for region, (power, _government) in COUNTIES.items():
        if power:
            rules.append(_rule("0801", region, power, "供电：县（区）供电分公司属地抢修（95598 转办）"))
    rules.append(_rule("0801", SHENYANG, "GDGS", "供电：沈阳供电公司统一受理"))
    for region, (_power, government) in COUNTIES.items():
        for category, why in TERRITORIAL:
            rules.append(_rule(category, region, government, why))
    rules.append(_rule("0101", SHENYANG, "CGJ", "市政设施：无属地规则时由市城管执法局受理"))
    for category, unit, why in DEPARTMENTS:
        rules.append(_rule(category, "", unit, why))
    for region, (_power, government) in COUNTIES.items():
        rules.append(_rule("", region, government, "属地兜底：其他事项由所在区县政府办理", priority=-10))
    return rules


def _rule(category: str, region: str, unit: str, note: str, *, priority: int = 0) -> dict[str, object]:
    return {"category_code": category, "region_code": region, "unit_code": unit, "priority": priority, "note": note}


def seed_defaults(session: Session, now: datetime) -> int:
    """Add the demo rules to an empty routing table; returns how many were added."""
    if repository.count(session):
        return 0
    units = repository.unit_codes(session)
    added = 0
    for values in default_rules():
        category = str(values["category_code"])
        if values["unit_code"] not in units:
            continue
        if category and categories_repository.get_by_code(session, category) is None:
            continue
        service.create_rule(session, values, by=SEEDED_BY, now=now, why="默认派单规则（演示）", source="default")
        added += 1
    return added
