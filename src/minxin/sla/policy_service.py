"""SLA policies: the packaged defaults, the ``sla_policies`` table, validation, resolution.

The effective policies are the *active* rows of the table, or — while the table is empty (a
database nobody seeded yet) — the packaged ``default_policies.yaml``, so deadlines never break
for want of seeding. ``seed_defaults`` copies the packaged file into the empty table; every admin
write seeds first, so editing one policy never leaves a table without its root policy.

Invariant: after every write the active rows form a valid ``PolicySet`` (unique keys, a complete
root policy); otherwise the write is refused with a 422 and the caller's unit of work rolls back.
The built ``PolicySet`` is cached per process under the configuration token (``sla.config_token``
in ``app_settings``), which every write changes.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy.orm import Session

from minxin.core.duration import CountingRule, DurationParseError, parse_duration
from minxin.core.sla import PolicySet, ResolvedPolicy, SlaPolicy
from minxin.core.vocabulary import AppealType, Urgency
from minxin.errors import Conflict, Invalid, NotFound
from minxin.sla import repository
from minxin.sla.models import SlaPolicyRow

log = logging.getLogger("minxin.sla")

CLOCKS = ("dispatch", "sign", "handle", "callback")
KEYS = ("category", "appeal_type", "urgency")
SETTINGS = (*CLOCKS, "counting_rule", "warn_ratio")
EDITABLE = ("name", *KEYS, *SETTINGS, "active")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")

_lock = threading.Lock()
_sets: dict[str, tuple[PolicySet, str]] = {}


# ----------------------------------------------------------------------------- packaged defaults
@cache
def packaged_entries() -> tuple[Mapping[str, Any], ...]:
    """The entries of ``default_policies.yaml`` (validated once by building a PolicySet)."""
    text = resources.files("minxin.sla").joinpath("default_policies.yaml").read_text(encoding="utf-8")
    entries = tuple(yaml.safe_load(text))
    PolicySet(_policy_from(e) for e in entries)  # fail loudly on a broken packaged file
    return entries


def packaged_policies() -> list[SlaPolicy]:
    return [_policy_from(e) for e in packaged_entries()]


def _policy_from(values: Mapping[str, Any]) -> SlaPolicy:
    """A core ``SlaPolicy`` from a YAML entry or a row's dict (``id``/``code``, keys, settings)."""
    durations = {c: parse_duration(str(values[c])) if values.get(c) else None for c in CLOCKS}
    rule = values.get("counting_rule")
    ratio = values.get("warn_ratio")
    return SlaPolicy(
        id=str(values.get("id") or values.get("code")),
        name=str(values.get("name") or ""),
        category=_none(values.get("category")),
        appeal_type=_none(values.get("appeal_type")),
        urgency=_none(values.get("urgency")),
        counting_rule=CountingRule(rule) if rule else None,
        warn_ratio=float(ratio) if ratio is not None else None,
        **durations,
    )


def _none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def key_of(category: str | None, appeal_type: str | None, urgency: str | None) -> str:
    return f"{category or '*'}|{appeal_type or '*'}|{urgency or '*'}"


# ----------------------------------------------------------------------------- the effective set
def row_dict(row: SlaPolicyRow) -> dict[str, Any]:
    return {
        "id": row.code,
        "name": row.name,
        "category": row.category_code,
        "appeal_type": row.appeal_type,
        "urgency": row.urgency,
        "dispatch": row.dispatch,
        "sign": row.sign,
        "handle": row.handle,
        "callback": row.callback,
        "counting_rule": row.counting_rule,
        "warn_ratio": row.warn_ratio,
        "active": row.active,
        "updated_by": row.updated_by,
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
        "source": "database",
    }


def policy_set(session: Session, token: str | None = None) -> tuple[PolicySet, str]:
    """The effective ``PolicySet`` and where it came from (``database`` or ``package``)."""
    token = token if token is not None else repository.config_token(session)
    with _lock:
        hit = _sets.get(token)
    if hit is not None:
        return hit
    rows = repository.policies(session, active_only=True)
    result: tuple[PolicySet, str]
    if not rows:
        result = (PolicySet(packaged_policies()), "package")
    else:
        try:
            result = (PolicySet(_policy_from(row_dict(r)) for r in rows), "database")
        except (ValueError, TypeError) as exc:  # only reachable by editing the table by hand
            log.error("SLA policies in the database are invalid (%s); using the packaged defaults", exc)
            result = (PolicySet(packaged_policies()), "package")
    with _lock:
        if len(_sets) > 16:
            _sets.clear()
        _sets[token] = result
    return result


def category_path(path: str | None) -> tuple[str, ...]:
    """``/08/0801/080101/`` → ``("08", "0801", "080101")`` (root first)."""
    return tuple(p for p in (path or "").split("/") if p)


def category_path_of(session: Session, code: str | None) -> tuple[str, ...]:
    """The category path of a category code (422 for an unknown one)."""
    if not code:
        return ()
    path = repository.category_path(session, code)
    if path is None:
        raise Invalid(f"分类不存在：{code}", f"Unknown category '{code}'", code="sla.bad_category")
    return category_path(path)


def resolve(
    session: Session, category_path_: tuple[str, ...], appeal_type: str | None, urgency: str | None, token: str | None = None
) -> ResolvedPolicy:
    policies, _source = policy_set(session, token)
    return policies.resolve(category_path_, appeal_type, urgency)


def list_policies(session: Session) -> list[dict[str, Any]]:
    """Every policy row (inactive ones too), or the packaged defaults while the table is empty."""
    rows = repository.policies(session)
    return [row_dict(r) for r in rows] if rows else list_policies_packaged()


def list_policies_packaged() -> list[dict[str, Any]]:
    """The packaged defaults in the shape of ``row_dict`` (``source: package``)."""
    out = []
    for e in packaged_entries():
        d = {k: e.get(k) for k in ("id", "name", *KEYS, *SETTINGS)}
        out.append(d | {"active": True, "updated_by": "", "updated_at": None, "source": "package"})
    return out


# ----------------------------------------------------------------------------- writes
def seed_defaults(session: Session, *, now: datetime, actor: str = "system") -> int:
    """Copy the packaged defaults into an empty ``sla_policies`` table; returns rows added (0 if any exist)."""
    if repository.has_policies(session):
        return 0
    for e in packaged_entries():
        session.add(_new_row({k: e.get(k) for k in ("name", *KEYS, *SETTINGS)} | {"code": e["id"]}, actor, now))
    session.flush()
    repository.bump_config_token(session)
    return len(packaged_entries())


def _new_row(values: Mapping[str, Any], actor: str, now: datetime) -> SlaPolicyRow:
    row = SlaPolicyRow(code=values["code"], updated_by=actor, updated_at=now, active=values.get("active", True))
    _apply(row, values)
    return row


def _apply(row: SlaPolicyRow, values: Mapping[str, Any]) -> None:
    for name in EDITABLE:
        if name not in values:
            continue
        value = values[name]
        if name == "category":
            row.category_code = _none(value)
        elif name in ("appeal_type", "urgency", "counting_rule", *CLOCKS):
            setattr(row, name, _none(value))
        elif name == "name":
            row.name = str(value or "")
        elif name == "active":
            row.active = bool(value)
        else:
            row.warn_ratio = None if value is None else float(value)
    row.key = key_of(row.category_code, row.appeal_type, row.urgency)


def _check_values(session: Session, values: Mapping[str, Any]) -> None:
    """Semantic checks of one create/update body (422 with both languages)."""
    for clock in CLOCKS:
        text = values.get(clock)
        if text in (None, ""):
            continue
        try:
            parse_duration(str(text))
        except DurationParseError as exc:
            raise Invalid(
                f"时限格式错误（{clock}）：{text}，应如 30m、2h、3d、8wh、5wd",
                f"Invalid {clock} duration: {exc}",
                code="sla.bad_duration",
                details={"field": clock},
            ) from exc
    rule = values.get("counting_rule")
    if rule not in (None, "") and rule not in {r.value for r in CountingRule}:
        raise Invalid(
            "计数规则应为 next_day（次日起算）或 inclusive（含本数）",
            "counting_rule must be next_day or inclusive",
            code="sla.bad_counting_rule",
        )
    ratio = values.get("warn_ratio")
    if ratio is not None and not 0 < float(ratio) <= 1:
        raise Invalid("预警比例应大于0且不超过1", "warn_ratio must be in (0, 1]", code="sla.bad_warn_ratio")
    for name, allowed in (("appeal_type", AppealType), ("urgency", Urgency)):
        value = values.get(name)
        if value not in (None, "") and value not in {a.value for a in allowed}:
            raise Invalid(
                f"未知的{'诉求类型' if name == 'appeal_type' else '紧急程度'}：{value}",
                f"Unknown {name} '{value}'; use one of {', '.join(a.value for a in allowed)}",
                code=f"sla.bad_{name}",
            )
    category = values.get("category")
    if category not in (None, "") and not repository.category_exists(session, str(category)):
        raise Invalid(f"分类不存在：{category}", f"Unknown category '{category}'", code="sla.bad_category")


def _check_set(session: Session) -> None:
    session.flush()
    rows = repository.policies(session, active_only=True)
    try:
        PolicySet(_policy_from(row_dict(r)) for r in rows)
    except ValueError as exc:
        raise Invalid(
            "修改后的时限策略不完整：必须保留一条启用的根策略（不限分类、类型、紧急程度）并设置全部时限",
            f"The policies would be invalid: {exc}",
            code="sla.invalid_policy_set",
        ) from exc


def create_policy(session: Session, values: Mapping[str, Any], *, actor: str, now: datetime) -> SlaPolicyRow:
    code = str(values.get("code") or "")
    if not CODE_PATTERN.match(code):
        raise Invalid("策略编码只能包含字母、数字、_ . -", "Policy id may use letters, digits, _ . -", code="sla.bad_policy_id")
    _check_values(session, values)
    seed_defaults(session, now=now, actor=actor)
    if repository.policy_by_code(session, code) is not None:
        raise Conflict(f"策略编码已存在：{code}", f"Policy '{code}' exists", code="sla.policy_exists")
    key = key_of(_none(values.get("category")), _none(values.get("appeal_type")), _none(values.get("urgency")))
    _refuse_duplicate_key(session, key, None)
    row = _new_row(values, actor, now)
    session.add(row)
    _check_set(session)
    repository.bump_config_token(session)
    return row


def update_policy(
    session: Session, code: str, changes: Mapping[str, Any], *, actor: str, now: datetime
) -> SlaPolicyRow:
    changes = {k: v for k, v in changes.items() if not (k == "active" and v is None)}
    _check_values(session, changes)
    seed_defaults(session, now=now, actor=actor)
    row = repository.policy_by_code(session, code)
    if row is None:
        raise NotFound(f"时限策略不存在：{code}", f"No SLA policy '{code}'", code="sla.policy_not_found")
    _apply(row, changes)
    _refuse_duplicate_key(session, row.key, row.id)
    row.updated_by, row.updated_at = actor, now
    _check_set(session)
    repository.bump_config_token(session)
    return row


def _refuse_duplicate_key(session: Session, key: str, own_id: int | None) -> None:
    with session.no_autoflush:
        other = repository.policy_by_key(session, key)
    if other is not None and other.id != own_id:
        raise Conflict(
            f"已有相同适用范围的策略：{other.code}",
            f"Policy '{other.code}' already has the same category/appeal type/urgency",
            code="sla.policy_exists",
        )
