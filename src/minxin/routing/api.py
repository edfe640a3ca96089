"""HTTP routes of the routing table (派单规则).

Dispatchers, agents, supervisors and admins read the table and ask for explanations; only
admins change it. DELETE deactivates (the rule and its history stay). Every write is one unit
of work, recorded in the rule's history and in the audit trail.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from minxin.accounts.principal import Principal
from minxin.api.deps import AdminPrincipal, State, require_roles
from minxin.audit import service as audit
from minxin.core.vocabulary import Role
from minxin.routing import service
from minxin.routing.schemas import RuleCreate, RuleUpdate

router = APIRouter(prefix="/api/v1/routing", tags=["routing"])

Reader = Annotated[
    Principal, Depends(require_roles(Role.DISPATCHER, Role.AGENT, Role.SUPERVISOR, Role.ADMIN))
]
Code = Annotated[str | None, Query(max_length=64)]


@router.get("/rules", summary="The routing table (category × region → unit)")
def list_rules(
    _reader: Reader,
    state: State,
    active: bool | None = None,
    category: Code = None,
    region: Annotated[str | None, Query(max_length=12)] = None,
    unit: Code = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> dict[str, Any]:
    """Rules, most general first; ``category``/``region`` filter by code prefix."""
    with state.db.reading() as session:
        return service.list_rules(
            session, active=active, category=category, region=region, unit=unit, offset=offset, limit=limit
        )


@router.get("/rules/{rule_id}", summary="One rule with its change history")
def get_rule(rule_id: int, _reader: Reader, state: State) -> dict[str, Any]:
    with state.db.reading() as session:
        return service.get_rule(session, rule_id)


@router.post("/rules", status_code=201, summary="Add a rule (admin)")
def create_rule(data: RuleCreate, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    now = state.clock.now()
    values = data.model_dump(exclude={"why"})
    with state.db.unit_of_work() as session:
        rule = service.create_rule(session, values, by=admin.username, now=now, why=data.why)
        audit.record(session, at=now, actor=admin.username, action="routing.create", target_type="routing_rule",
                     target_id=rule.id, detail={"why": data.why} | {k: str(v) for k, v in values.items()})
        rule_id = rule.id
    with state.db.reading() as session:
        return service.get_rule(session, rule_id)


@router.patch("/rules/{rule_id}", summary="Change a rule (admin); `why` is kept in its history")
def update_rule(rule_id: int, data: RuleUpdate, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    now = state.clock.now()
    changes = {k: getattr(data, k) for k in data.model_fields_set if k != "why"}
    with state.db.unit_of_work() as session:
        service.update_rule(session, rule_id, changes, by=admin.username, now=now, why=data.why)
        audit.record(session, at=now, actor=admin.username, action="routing.update", target_type="routing_rule",
                     target_id=rule_id, detail={"why": data.why, "changed": sorted(changes)})
    with state.db.reading() as session:
        return service.get_rule(session, rule_id)


@router.delete("/rules/{rule_id}", summary="Deactivate a rule (admin); it stays with its history")
def delete_rule(
    rule_id: int, admin: AdminPrincipal, state: State, why: Annotated[str, Query(max_length=500)] = ""
) -> dict[str, Any]:
    now = state.clock.now()
    with state.db.unit_of_work() as session:
        service.deactivate_rule(session, rule_id, by=admin.username, now=now, why=why)
        audit.record(session, at=now, actor=admin.username, action="routing.deactivate", target_type="routing_rule",
                     target_id=rule_id, detail={"why": why})
    with state.db.reading() as session:
        return service.get_rule(session, rule_id)


@router.get("/route", summary="Which unit gets category × region, and why")
def explain_route(
    _reader: Reader,
    state: State,
    category: Code = None,
    region: Annotated[str | None, Query(max_length=12)] = None,
    on: Annotated[date | None, Query(description="the day to route on (default: today)")] = None,
) -> dict[str, Any]:
    day = on or state.clock.now().astimezone(state.tz).date()
    with state.db.reading() as session:
        decision = service.route(session, category or None, region or None, day)
    return decision.to_dict() | {"on": day.isoformat()}
