"""Use cases for the unit tree."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from minxin.core.vocabulary import UnitKind
from minxin.errors import Conflict, Invalid, NotFound
from minxin.units import repository
from minxin.units.models import Unit

CODE_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
TIME_PATTERN = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def require(session: Session, code: str) -> Unit:
    unit = repository.get_by_code(session, code)
    if unit is None:
        raise NotFound(f"单位不存在：{code}", f"Unknown unit '{code}'", code="unit.not_found")
    return unit


def _check_hours(hours: list[list[str]] | None) -> None:
    if hours is None:
        return
    for pair in hours:
        if len(pair) != 2 or not all(TIME_PATTERN.match(t) for t in pair) or pair[0] >= pair[1]:
            raise Invalid(
                "办公时间格式应为 [[\"08:30\",\"12:00\"], ...]，且开始早于结束",
                'Business hours must look like [["08:30","12:00"], ...] with start before end',
                code="unit.bad_hours",
            )


def create_unit(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    parent_code: str | None = None,
    region_code: str | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    business_hours: list[list[str]] | None = None,
    always_open: bool = False,
) -> Unit:
    if not CODE_PATTERN.match(code):
        raise Invalid("单位编码只能包含字母、数字、_ . -", "Unit code may use letters, digits, _ . -", code="unit.bad_code")
    try:
        UnitKind(kind)
    except ValueError as exc:
        raise Invalid(f"未知单位类型：{kind}", f"Unknown unit kind '{kind}'", code="unit.bad_kind") from exc
    if repository.get_by_code(session, code) is not None:
        raise Conflict(f"单位编码已存在：{code}", f"Unit code '{code}' exists", code="unit.exists")
    _check_hours(business_hours)
    parent = require(session, parent_code) if parent_code else None
    unit = Unit(
        code=code,
        name=name,
        kind=kind,
        parent_id=parent.id if parent else None,
        region_code=region_code,
        contact_name=contact_name,
        contact_phone=contact_phone,
        business_hours=business_hours,
        always_open=always_open,
        active=True,
        depth=(parent.depth + 1) if parent else 0,
        path="",
    )
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    session.flush()
    return unit


UPDATABLE = ("name", "region_code", "contact_name", "contact_phone", "business_hours", "always_open", "active")


def update_unit(session: Session, code: str, changes: dict[str, Any]) -> Unit:
    unit = require(session, code)
    if "business_hours" in changes:
        _check_hours(changes["business_hours"])
    for field in UPDATABLE:
        if field in changes:
            setattr(unit, field, changes[field])
    return unit


def tree(session: Session, root_path: str | None = None) -> list[dict[str, Any]]:
    """Nested dicts for the API: each unit with its ``children``."""
    units = repository.subtree(session, root_path) if root_path else repository.list_all(session)
    by_id: dict[int, dict[str, Any]] = {}
    top: list[dict[str, Any]] = []
    for unit in units:  # ordered by path, so parents come first
        node = to_dict(unit) | {"children": []}
        by_id[unit.id] = node
        parent = by_id.get(unit.parent_id) if unit.parent_id else None
        (parent["children"] if parent else top).append(node)
    return top


def to_dict(unit: Unit) -> dict[str, Any]:
    return {
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind,
        "region_code": unit.region_code,
        "contact_name": unit.contact_name,
        "contact_phone": unit.contact_phone,
        "business_hours": unit.business_hours,
        "always_open": unit.always_open,
        "active": unit.active,
        "depth": unit.depth,
    }
