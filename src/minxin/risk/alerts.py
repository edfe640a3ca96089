"""Alerts that close the loop: created from detector candidates, routed to a unit, acknowledged,
intervened on, closed as resolved or false alarm.

Lifecycle (one table, :data:`TRANSITIONS`)::

    pushed ─acknowledge→ acknowledged ─intervene→ intervening ─intervene→ intervening
    acknowledged | intervening ─close(false_alarm)→ closed      intervening ─close(resolved)→ closed
    note: any state, state unchanged

An illegal action is refused before anything is written (409 ``risk.illegal_action``; 403
``risk.role_forbidden``; 422 for a missing ``text``/``resolution``). Every accepted action appends
one immutable :class:`~minxin.risk.models.AlertAction` and one outbox message (``risk.alert``,
delivered by the webhook engine with its HMAC signature).

Routing (who must act), first that applies: the unit already holding most of the alert's orders
(not a root/centre unit); the routing table's unit for the alert's category × region
(:mod:`minxin.routing`); the unit that handled most orders of this category in this region in the
last 180 days; the shallowest unit whose ``region_code`` is the alert's region; the centre.
Deadlines: acknowledge within :data:`ACK_WITHIN` (30 minutes for severity 4), close within
:data:`CLOSE_WITHIN` working days on the unit's working calendar.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.attachments import service as attachments_service
from minxin.core.calendar_model import SHANGHAI
from minxin.core.duration import parse_duration
from minxin.core.pii import mask_phone
from minxin.core.risk.alerts import AlertCandidate, LiveAlert, MergeResult
from minxin.core.risk.taxonomy import Taxonomy
from minxin.core.vocabulary import Role
from minxin.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from minxin.outbox import service as outbox
from minxin.risk import alert_repository as repo
from minxin.risk.models import AlertAction, RiskAlert
from minxin.units.models import Unit

ACK_WITHIN = timedelta(hours=2)
ACK_WITHIN_CRITICAL = timedelta(minutes=30)
CLOSE_WITHIN = "3wd"
ROUTING_HISTORY = timedelta(days=180)
TOPIC = "risk.alert"

ACT_ROLES = frozenset({Role.HANDLER, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})
NOTE_ROLES = frozenset(Role)
#: action → (states it may start from, state it leads to; None keeps the state)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "acknowledge": (frozenset({"pushed"}), "acknowledged"),
    "intervene": (frozenset({"acknowledged", "intervening"}), "intervening"),
    "close": (frozenset({"acknowledged", "intervening"}), "closed"),
    "note": (frozenset({"pushed", "acknowledged", "intervening", "closed"}), None),
}
RESOLUTIONS = ("resolved", "false_alarm")
STATE_ZH = {"pushed": "待确认", "acknowledged": "已确认", "intervening": "处置中", "closed": "已关闭"}
ACTION_ZH = {"push": "推送", "attach": "追加工单", "acknowledge": "确认", "intervene": "处置", "close": "关闭", "note": "备注"}
RESOLUTION_ZH = {"resolved": "已化解", "false_alarm": "误报"}
DETECTOR_ZH = {"repeat": "重复诉求", "cluster": "聚集事件", "spike": "诉求量突增", "chain": "循环流转"}
_PHONE_IN_KEY = re.compile(r"caller:(\d{5,})")


# ------------------------------------------------------------------------- from candidates
def sanitise(value: Any) -> Any:
    """Evidence without phone numbers: ``caller:13812345678`` → ``caller:138****5678``."""
    if isinstance(value, str):
        return _PHONE_IN_KEY.sub(lambda m: f"caller:{mask_phone(m.group(1))}", value)
    if isinstance(value, Mapping):
        return {str(k): sanitise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [sanitise(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return None
    return value


def live_view(session: Session) -> tuple[list[LiveAlert], dict[int, RiskAlert]]:
    """The live alerts as :func:`minxin.core.risk.alerts.merge_into_live` needs them."""
    rows = repo.live_alerts(session)
    orders = repo.order_ids_of(session, [a.id for a in rows])
    live = [
        LiveAlert(str(a.id), a.dedup_key, a.region, frozenset(str(o) for o in orders.get(a.id, ())), a.last_seen_at,
                  frozenset({a.detector, *a.evidence.get("also_detected_by", [])}), a.category_code)
        for a in rows
    ]
    return live, {a.id: a for a in rows}


def route(session: Session, region: str, category: str, order_ids: Sequence[int], now: datetime) -> Unit:
    """The unit that must act on an alert (see the module doc for the order of the rules)."""
    holders = Counter(u for u, depth in repo.current_units_of(session, order_ids) if depth > 0)
    if holders:
        unit = repo.unit(session, holders.most_common(1)[0][0])
        if unit is not None:
            return unit
    table = _routing_table(session, region, category, now)
    if table is not None:
        return table
    usual = repo.usual_handler(session, region, category[:4], now - ROUTING_HISTORY)
    if usual is not None and (unit := repo.unit(session, usual)) is not None:
        return unit
    for candidate in (region, region[:4]):
        units = repo.units_of_region(session, candidate) if candidate else []
        if units:
            return units[0]
    root = repo.root_unit(session)
    if root is None:  # pragma: no cover - a database without units cannot have orders
        raise NotFound("没有可接收预警的单位", "No unit can receive the alert", code="risk.no_unit")
    return root


def _routing_table(session: Session, region: str, category: str, now: datetime) -> Unit | None:
    """The unit the routing table (category × region, :mod:`minxin.routing`) names, if any.

    Run in a SAVEPOINT: a database without the routing tables yet (or a routing error) must not
    abort the scan's transaction; the next rules then decide."""
    try:
        from minxin.routing import service as routing
    except ImportError:  # pragma: no cover - the routing domain is not installed
        return None
    try:
        with session.begin_nested():
            decision = routing.route(session, category or None, region or None, now.astimezone(SHANGHAI).date())
            return repo.unit_by_code(session, decision.unit) if decision.unit else None
    except (SQLAlchemyError, DomainError):
        return None


def due_dates(session: Session, unit: Unit, severity: int, now: datetime) -> tuple[datetime, datetime]:
    """(acknowledge by, close by) for an alert pushed to ``unit`` at ``now``."""
    ack = now + (ACK_WITHIN_CRITICAL if severity >= 4 else ACK_WITHIN)
    try:
        from minxin.sla import calendar_service

        cal = calendar_service.unit_calendar(session, unit)
    except ImportError:  # pragma: no cover - without the SLA domain: the packaged schedule
        from minxin.core.official_calendar import official_calendar

        cal = official_calendar()
    return ack, cal.add(now, parse_duration(CLOSE_WITHIN)).due


def payload(alert: RiskAlert, unit: Unit, change: str, now: datetime, numbers: Sequence[str] = ()) -> dict[str, Any]:
    """The outbox message: identifiers, codes and times; never a phone number or free text."""
    return {
        "alert_id": alert.id, "change": change, "detector": alert.detector, "label": alert.label_code,
        "risk_category": alert.risk_category, "category": alert.category_code, "region": alert.region,
        "severity": alert.severity, "unit": unit.code, "state": alert.state, "resolution": alert.resolution,
        "order_count": alert.order_count, "orders": list(numbers)[:100],
        "ack_due_at": alert.ack_due_at.isoformat(), "due_at": alert.due_at.isoformat(), "at": now.isoformat(),
    }


def _system_action(session: Session, alert: RiskAlert, action: str, text: str, now: datetime) -> None:
    session.add(AlertAction(alert_id=alert.id, action=action, from_state=alert.state, to_state=alert.state,
                            actor_name="系统", actor_role="system", at=now, text=text, attachments=[]))


def apply_merge(session: Session, result: MergeResult, taxonomy: Taxonomy, numbers: Mapping[int, str],
                now: datetime) -> dict[str, int]:
    """Persist a merge result in the caller's transaction: new alerts, and orders attached to live
    ones. ``numbers`` maps order ids to order numbers (for the outbox messages)."""
    live = {a.id: a for a in repo.live_alerts(session)}
    created = attached = 0
    fresh = list(result.new)
    for att in result.attach:
        alert = live.get(int(att.alert_id))
        if alert is None:  # closed since the merge was computed: the candidate becomes a new alert
            fresh.append(att.candidate)
            continue
        ids = [int(o) for o in att.new_order_ids]
        repo.attach_orders(session, alert.id, ids, now)
        alert.order_count += len(ids)
        alert.last_seen_at = now
        alert.severity = max(alert.severity, att.candidate.severity)
        detectors = sorted({*alert.evidence.get("also_detected_by", []), att.candidate.detector} - {alert.detector})
        alert.evidence = {**alert.evidence, **sanitise(dict(att.candidate.evidence)), "also_detected_by": detectors}
        _system_action(session, alert, "attach", f"追加 {len(ids)} 张工单", now)
        unit = repo.unit(session, alert.unit_id)
        assert unit is not None
        outbox.enqueue(session, topic=TOPIC, payload=payload(alert, unit, "orders_attached", now,
                                                             [numbers.get(i, str(i)) for i in ids]), now=now)
        attached += len(ids)
    for cand in fresh:
        _create(session, cand, taxonomy, numbers, now)
        created += 1
    return {"created": created, "attached_orders": attached}


def _create(session: Session, cand: AlertCandidate, taxonomy: Taxonomy, numbers: Mapping[int, str], now: datetime) -> RiskAlert:
    order_ids = [int(o) for o in cand.order_ids]
    label = taxonomy.label(cand.label_code) if taxonomy.has_label(cand.label_code) else None
    unit = route(session, cand.region, cand.category, order_ids, now)
    ack_due, due = due_dates(session, unit, cand.severity, now)
    evidence = sanitise(dict(cand.evidence))
    if label is not None:
        evidence["label_name"] = label.name
    alert = repo.add_alert(session, RiskAlert(
        detector=cand.detector, dedup_key=cand.dedup_key[:500], label_code=cand.label_code,
        risk_category=label.category_code if label else cand.label_code.split(".", 1)[0],
        category_code=cand.category, region=cand.region, severity=cand.severity, role=label.role if label else "",
        unit_id=unit.id, unit_path=unit.path, state="pushed", first_seen=cand.first_seen, detected_at=cand.detected_at,
        pushed_at=now, last_seen_at=now, ack_due_at=ack_due, due_at=due, order_count=len(order_ids), evidence=evidence,
    ))
    repo.attach_orders(session, alert.id, order_ids, now)
    _system_action(session, alert, "push", f"推送至 {unit.name}，关联 {len(order_ids)} 张工单", now)
    outbox.enqueue(session, topic=TOPIC, payload=payload(alert, unit, "created", now,
                                                         [numbers.get(i, str(i)) for i in order_ids]), now=now)
    return alert


# ------------------------------------------------------------------------------- actions
def get_visible(session: Session, alert_id: int, principal: Principal, *, for_update: bool = False) -> RiskAlert:
    """The alert, or 404 as if it did not exist when it lies outside the principal's subtree."""
    alert = repo.alert(session, alert_id, for_update=for_update)
    if alert is None or not repo.is_visible(alert, principal):
        raise NotFound(f"预警不存在：{alert_id}", f"No alert {alert_id}", code="risk.alert_not_found")
    return alert


def _check_attachments(session: Session, ids: Iterable[str], principal: Principal) -> list[str]:
    out = []
    for attachment_id in dict.fromkeys(ids):
        try:
            attachments_service.readable(session, attachment_id, principal)
        except NotFound as exc:
            raise Invalid(f"附件不存在：{attachment_id}", f"No attachment '{attachment_id}'",
                          code="risk.attachment_not_found", details={"field": "attachments"}) from exc
        out.append(attachment_id)
    return out


def act(session: Session, alert_id: int, action: str, *, principal: Principal, now: datetime, text: str = "",
        attachments: Sequence[str] = (), resolution: str | None = None,
        expected_version: int | None = None) -> RiskAlert:
    """Run one alert action (see :data:`TRANSITIONS`); refuses before writing anything."""
    if action not in TRANSITIONS:
        raise NotFound(f"未知操作：{action}", f"Unknown action '{action}'; use one of {', '.join(TRANSITIONS)}",
                       code="risk.unknown_action")
    alert = get_visible(session, alert_id, principal, for_update=True)
    if expected_version is not None and expected_version != alert.version:
        raise Conflict("预警已被他人处理，请刷新后重试", f"The alert changed (version {alert.version}); reload and retry",
                       code="risk.version_conflict")
    sources, target = TRANSITIONS[action]
    roles = NOTE_ROLES if action == "note" else ACT_ROLES
    if principal.role not in roles:
        raise Forbidden("当前角色不能执行此预警操作", f"Your role may not {action} an alert", code="risk.role_forbidden")
    if alert.state not in sources:
        raise Conflict(f"预警当前为「{STATE_ZH[alert.state]}」，不能{ACTION_ZH[action]}",
                       f"An alert in state '{alert.state}' cannot be {action}d", code="risk.illegal_action",
                       details={"state": alert.state, "action": action})
    text = text.strip()
    if action in ("intervene", "note") and not text:
        raise Invalid("请填写处置情况" if action == "intervene" else "请填写备注内容",
                      "'text' is required", code="risk.invalid_payload", details={"field": "text"})
    if action == "close":
        if resolution not in RESOLUTIONS:
            raise Invalid("关闭预警须选择结论：已化解（resolved）或误报（false_alarm）",
                          "'resolution' must be resolved or false_alarm", code="risk.invalid_payload",
                          details={"field": "resolution"})
        if resolution == "resolved" and alert.state != "intervening":
            raise Conflict("须先登记处置情况，才能以「已化解」关闭", "Record an intervention before closing as resolved",
                           code="risk.intervention_required")
    ids = _check_attachments(session, attachments, principal)
    before = alert.state
    if target is not None:
        alert.state = target
    if action == "acknowledge":
        alert.acknowledged_at = now
    if action == "close":
        alert.resolution, alert.closed_at = resolution, now
    session.add(AlertAction(
        alert_id=alert.id, action=action, from_state=before, to_state=alert.state,
        resolution=resolution if action == "close" else None, actor_id=principal.user_id,
        actor_name=principal.display_name, actor_role=principal.role.value, unit_code=principal.unit_code, at=now,
        text=text[:4000], attachments=ids,
    ))
    if action != "note":
        unit = repo.unit(session, alert.unit_id)
        assert unit is not None
        session.flush()
        outbox.enqueue(session, topic=TOPIC, payload=payload(alert, unit, action, now), now=now)
    return alert

