"""Routing decisions (which unit gets an order) and edits of the routing table.

Precedence — the most specific rule wins, deterministically:

1. the longest category match: a rule on the order's own category beats one on its level-2
   parent, which beats one on its level-1 ancestor, which beats an any-category rule;
2. then the longest region prefix: a township beats its county, a county beats its city, a
   city beats its province, which beats an anywhere rule;
3. then the higher ``priority``;
4. then the older rule (lower id).

Only active rules whose validity dates include the day, and whose unit is active, take part.
The winner's unit is the decision; the best rule of every *other* unit that also matched is a
runner-up (at most three, in the same order), so a dispatcher sees the alternatives and why
they lost. Category matching uses the category tree's ancestors, so it also works for trees
whose codes are not prefixes of each other; for an unknown code the string prefixes stand in.

Services never commit: the caller's unit of work does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from minxin.categories import repository as categories_repository
from minxin.errors import Invalid, NotFound
from minxin.routing import repository
from minxin.routing.models import RoutingRule, RoutingRuleChange
from minxin.routing.regions import prefixes, region_name
from minxin.units.models import Unit

MAX_RUNNERS_UP = 3
REGION_WIDTHS = frozenset({2, 4, 6, 9, 12})
EDITABLE = ("category_code", "region_code", "unit_code", "priority", "valid_from", "valid_to", "active", "note")


@dataclass(frozen=True)
class RuleRef:
    """A rule as a decision cites it (names resolved for display)."""

    id: int
    category_code: str
    category_name: str
    region_code: str
    region_name: str
    unit_code: str
    unit_name: str
    priority: int
    note: str
    valid_from: date | None = None
    valid_to: date | None = None

    @property
    def label_zh(self) -> str:
        category = f"类别「{self.category_name or self.category_code}」" if self.category_code else "任意类别"
        region = f"区域「{self.region_name or self.region_code}」" if self.region_code else "任意区域"
        return f"规则#{self.id}：{category} × {region}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category_code": self.category_code,
            "category_name": self.category_name,
            "region_code": self.region_code,
            "region_name": self.region_name,
            "unit_code": self.unit_code,
            "unit_name": self.unit_name,
            "priority": self.priority,
            "note": self.note,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "label_zh": self.label_zh,
        }


@dataclass(frozen=True)
class RoutingDecision:
    """``unit``/``rule`` are None when no rule matched; ``runners_up`` are (unit code, rule)."""

    unit: str | None
    unit_name: str | None
    rule: RuleRef | None
    runners_up: list[RuleRef] = field(default_factory=list)
    explanation_zh: str = ""
    category_code: str = ""
    region_code: str = ""
    #: the winning rule, its unit and the runners-up in one line (what the intake panel shows)
    rule_zh: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.unit,
            "name": self.unit_name,
            "rule": self.rule.to_dict() if self.rule else None,
            "rule_zh": self.rule_zh or None,
            "runners_up": [{"code": r.unit_code, "name": r.unit_name, "rule": r.to_dict()} for r in self.runners_up],
            "explanation": self.explanation_zh,
            "category_code": self.category_code,
            "region_code": self.region_code,
        }


def category_chain(session: Session, code: str | None) -> list[str]:
    """Ancestor-or-self codes of a category, root first (``[]`` for no category)."""
    if not code:
        return []
    category = categories_repository.get_by_code(session, code)
    if category is not None and category.path:
        return [part for part in category.path.strip("/").split("/") if part]
    return [code[:i] for i in range(2, len(code) + 1, 2)] or [code]


def _names(session: Session, codes: set[str]) -> dict[str, str]:
    """Category names for ``codes`` (``""`` for unknown ones): one query per code for a few,
    the whole (small) tree at once for more."""
    codes = {c for c in codes if c}
    if len(codes) > 3:
        return {c.code: c.name for c in categories_repository.list_all(session)}
    out: dict[str, str] = {}
    for code in codes:
        category = categories_repository.get_by_code(session, code)
        out[code] = category.name if category else ""
    return out


def ref(rule: RoutingRule, unit: Unit | None, category_names: dict[str, str]) -> RuleRef:
    return RuleRef(
        id=rule.id,
        category_code=rule.category_code,
        category_name=category_names.get(rule.category_code, ""),
        region_code=rule.region_code,
        region_name=region_name(rule.region_code),
        unit_code=rule.unit_code,
        unit_name=unit.name if unit else "",
        priority=rule.priority,
        note=rule.note,
        valid_from=rule.valid_from,
        valid_to=rule.valid_to,
    )


def route(
    session: Session,
    category_code: str | None,
    region_code: str | None,
    on: date,
    *,
    chain: list[str] | None = None,
    category_names: dict[str, str] | None = None,
) -> RoutingDecision:
    """The unit for an order of ``category_code`` in ``region_code`` on day ``on``.

    ``chain`` (ancestor-or-self category codes, root first) and ``category_names`` may be
    passed by callers that hold the category tree in memory (intake analysis) to save queries.
    """
    chain = category_chain(session, category_code) if chain is None else chain
    depth = {code: i + 1 for i, code in enumerate(chain)} | {"": 0}
    rows = repository.candidates(session, ["", *chain], prefixes(region_code), on)
    rows.sort(key=lambda ru: (-depth[ru[0].category_code], -len(ru[0].region_code), -ru[0].priority, ru[0].id))
    if category_names is None:
        category_names = _names(session, {r.category_code for r, _ in rows} | set(chain[-1:]))
    best: list[RuleRef] = []
    seen: set[str] = set()
    for rule, unit in rows:
        if rule.unit_code in seen:
            continue
        seen.add(rule.unit_code)
        best.append(ref(rule, unit, category_names))
        if len(best) > MAX_RUNNERS_UP:
            break
    what = _what_zh(category_code, category_names.get(category_code or "", ""), region_code)
    if not best:
        return RoutingDecision(
            None, None, None, [], f"没有匹配的派单规则（{what}），请人工派单", category_code or "", region_code or ""
        )
    winner, runners = best[0], best[1:]
    text = f"{winner.label_zh} → {winner.unit_name}（{winner.unit_code}）"
    if winner.priority:
        text += f"，优先级 {winner.priority}"
    if winner.note:
        text += f"；依据：{winner.note}"
    if runners:
        text += "；备选：" + "、".join(f"{r.unit_name}（{r.label_zh}）" for r in runners)
    return RoutingDecision(
        winner.unit_code,
        winner.unit_name,
        winner,
        runners,
        f"{what}：{text}",
        category_code or "",
        region_code or "",
        rule_zh=text,
    )


def _what_zh(category_code: str | None, category_name: str, region_code: str | None) -> str:
    category = f"类别 {category_name or category_code}" if category_code else "未分类"
    region = f"区域 {region_name(region_code)}" if region_code else "区域未识别"
    return f"{category}，{region}"


# ----------------------------------------------------------------------------- editing
def _validate(session: Session, values: dict[str, Any]) -> None:
    category = values.get("category_code") or ""
    if category and categories_repository.get_by_code(session, category) is None:
        raise Invalid(f"类别不存在：{category}", f"Unknown category '{category}'", code="category.not_found")
    region = values.get("region_code") or ""
    if region and (not region.isdigit() or len(region) not in REGION_WIDTHS):
        raise Invalid(
            f"区域编码应为 2/4/6/9/12 位数字（国家统计局区划代码）：{region}",
            f"Region code must be an NBS division code of 2, 4, 6, 9 or 12 digits, got '{region}'",
            code="routing.bad_region",
        )
    code = values.get("unit_code") or ""
    unit = repository.unit_by_code(session, code)
    if unit is None or not unit.active:
        raise Invalid(f"单位不存在或已停用：{code}", f"Unknown or inactive unit '{code}'", code="unit.not_found")
    if unit.parent_id is None:
        raise Invalid(
            "不能把工单派给热线中心本身", "A rule cannot route to the centre itself", code="routing.bad_unit"
        )
    start, end = values.get("valid_from"), values.get("valid_to")
    if start and end and start > end:
        raise Invalid("生效日期不能晚于失效日期", "valid_from must not be after valid_to", code="routing.bad_dates")


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _record(session: Session, rule: RoutingRule, action: str, changes: dict[str, Any], by: str, why: str, now: datetime) -> None:
    repository.add_change(
        session, RoutingRuleChange(rule_id=rule.id, action=action, changes=changes, why=why, by=by, at=now)
    )


def create_rule(session: Session, values: dict[str, Any], *, by: str, now: datetime, why: str = "", source: str = "admin") -> RoutingRule:
    """Add a rule (validated) and its ``create`` history row."""
    values = {k: values.get(k) for k in EDITABLE if k in values}
    values["category_code"] = (values.get("category_code") or "").strip()
    values["region_code"] = (values.get("region_code") or "").strip()
    values["unit_code"] = (values.get("unit_code") or "").strip()
    _validate(session, values)
    rule = RoutingRule(
        category_code=values["category_code"],
        region_code=values["region_code"],
        unit_code=values["unit_code"],
        priority=int(values.get("priority") or 0),
        valid_from=values.get("valid_from"),
        valid_to=values.get("valid_to"),
        active=True if values.get("active") is None else bool(values["active"]),
        note=values.get("note") or "",
        source=source,
        created_at=now,
        edited_by=by,
        edited_at=now,
    )
    repository.add(session, rule)
    snapshot = {k: {"from": None, "to": _jsonable(getattr(rule, k))} for k in EDITABLE}
    _record(session, rule, "create", snapshot, by, why, now)
    return rule


def require(session: Session, rule_id: int, *, for_update: bool = False) -> RoutingRule:
    rule = repository.get(session, rule_id, for_update=for_update)
    if rule is None:
        raise NotFound(f"派单规则不存在：{rule_id}", f"No routing rule {rule_id}", code="routing.rule_not_found")
    return rule


def update_rule(
    session: Session, rule_id: int, changes: dict[str, Any], *, by: str, now: datetime, why: str = ""
) -> RoutingRule:
    """Apply the given fields; records only what really changed (no row when nothing did)."""
    rule = require(session, rule_id, for_update=True)
    wanted = {k: v for k, v in changes.items() if k in EDITABLE}
    for key in ("category_code", "region_code", "unit_code"):
        if key in wanted:
            wanted[key] = (wanted[key] or "").strip()
    merged = {k: getattr(rule, k) for k in EDITABLE} | wanted
    _validate(session, merged)
    diff = {k: {"from": _jsonable(getattr(rule, k)), "to": _jsonable(v)} for k, v in wanted.items() if getattr(rule, k) != v}
    if not diff:
        return rule
    for key, value in wanted.items():
        setattr(rule, key, value)
    rule.edited_by, rule.edited_at = by, now
    action = "update"
    if set(diff) == {"active"}:
        action = "reactivate" if rule.active else "deactivate"
    _record(session, rule, action, diff, by, why, now)
    session.flush()
    return rule


def deactivate_rule(session: Session, rule_id: int, *, by: str, now: datetime, why: str = "") -> RoutingRule:
    """"Delete": the rule stops matching but stays, with its history (idempotent)."""
    return update_rule(session, rule_id, {"active": False}, by=by, now=now, why=why)


def rule_dict(session: Session, rule: RoutingRule, unit: Unit | None, *, with_history: bool = False) -> dict[str, Any]:
    names = _names(session, {rule.category_code})
    data = ref(rule, unit, names).to_dict() | {
        "active": rule.active,
        "source": rule.source,
        "created_at": rule.created_at.isoformat(),
        "edited_by": rule.edited_by,
        "edited_at": rule.edited_at.isoformat(),
    }
    if with_history:
        data["history"] = [
            {"action": c.action, "changes": c.changes, "why": c.why, "by": c.by, "at": c.at.isoformat()}
            for c in repository.history(session, rule.id)
        ]
    return data


def list_rules(session: Session, **filters: Any) -> dict[str, Any]:
    rows, total = repository.search(session, **filters)
    names = _names(session, {rule.category_code for rule, _ in rows})
    items = []
    for rule, unit in rows:
        items.append(
            ref(rule, unit, names).to_dict()
            | {"active": rule.active, "source": rule.source, "edited_by": rule.edited_by, "edited_at": rule.edited_at.isoformat()}
        )
    return {"items": items, "total": total}


def get_rule(session: Session, rule_id: int) -> dict[str, Any]:
    rule = require(session, rule_id)
    return rule_dict(session, rule, repository.unit_by_code(session, rule.unit_code), with_history=True)
