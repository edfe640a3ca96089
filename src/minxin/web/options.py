"""Choices for selects (units to dispatch to, categories), read through the domains' repositories."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.categories import repository as categories_repository
from minxin.core.vocabulary import Role
from minxin.units import repository as units_repository
from minxin.units.models import Unit


def _option(unit: Unit, base_depth: int = 0) -> dict[str, Any]:
    indent = "　" * max(unit.depth - base_depth, 0)
    return {"value": unit.code, "label": f"{indent}{unit.name}（{unit.code}）", "depth": unit.depth}


def all_units(session: Session) -> list[Unit]:
    return units_repository.list_all(session)


def unit_names(session: Session) -> dict[str, str]:
    return {u.code: u.name for u in units_repository.list_all(session)}


def dispatch_targets(session: Session, principal: Principal, current_unit_path: str | None = None) -> list[dict[str, Any]]:
    """Units this user may send an order to: below the current unit for a handler (二级派单),
    else every active unit in their scope except the hotline centre itself (a root)."""
    units = [u for u in units_repository.list_all(session) if u.active]
    if principal.role is Role.HANDLER:
        base = current_unit_path or principal.unit_path
        below = [u for u in units if u.path.startswith(base) and u.path != base]
        depth = min((u.depth for u in below), default=0)
        return [_option(u, depth) for u in below]
    return [_option(u, 1) for u in units if u.parent_id is not None and principal.covers(u.path)]


def co_handle_targets(session: Session, exclude_code: str | None) -> list[dict[str, Any]]:
    return [_option(u, 1) for u in units_repository.list_all(session) if u.active and u.parent_id and u.code != exclude_code]


def category_names(session: Session) -> dict[str, str]:
    return {c.code: c.name for c in categories_repository.list_all(session)}


def categories(session: Session) -> list[dict[str, Any]]:
    """The category tree as indented options (level 1 → level 3), active ones only."""
    out = []
    for c in categories_repository.list_all(session):
        if not c.active:
            continue
        out.append({"value": c.code, "label": f"{'　' * (c.level - 1)}{c.name}", "level": c.level, "path": c.path})
    return out
