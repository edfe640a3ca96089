"""Turning risk rows into API/console dicts: order sections, alerts with deadlines, subjects, stats.

Masking: subjects show ``display`` (a caller's phone is always masked there); an alert's orders
show the caller's phone as the order API would (:func:`minxin.workorders.presenters.phone_for`);
alert evidence was sanitised when stored. Times are in the display time zone.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.core.pii import mask_text
from minxin.core.risk.subjects import decayed, risk_level
from minxin.risk import alert_repository as alert_repo
from minxin.risk import queue_repository, repository, taxonomy_service
from minxin.risk.alerts import ACTION_ZH, DETECTOR_ZH, RESOLUTION_ZH, STATE_ZH
from minxin.risk.models import RiskAlert, RiskSubject
from minxin.risk.tagger import resolver
from minxin.units.models import Unit
from minxin.workorders import repository as orders_repository
from minxin.workorders.models import WorkOrder
from minxin.workorders.presenters import is_fresh, phone_for

KIND_ZH = {"caller": "来电人", "address": "地址", "enterprise": "企业"}
LEVEL_ZH = {"low": "低", "watch": "关注", "high": "较高", "critical": "高"}
SEVERITY_ZH = {1: "关注", 2: "一般", 3: "较大", 4: "重大"}
#: warn this long before a deadline (acknowledge / close)
WARN_BEFORE = {"acknowledge": timedelta(minutes=30), "close": timedelta(hours=8)}


def iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat() if value else None


_names: dict[str, dict[str, tuple[str, str]]] = {}


def label_names(session: Session) -> dict[str, tuple[str, str]]:
    """label code → (label name, risk category name) of the active taxonomy (cached per hash)."""
    compiled, _ = taxonomy_service.active(session)
    names = _names.get(compiled.taxonomy.content_hash)
    if names is None:
        if len(_names) >= 8:
            _names.clear()
        names = _names[compiled.taxonomy.content_hash] = taxonomy_service.label_names(compiled)
    return names


@lru_cache(maxsize=1024)
def region_name(code: str) -> str:
    """沈阳市辽中区 for 210115 (the bundled division table); the code itself when unknown."""
    if not code:
        return "（未知区域）"
    division = resolver().get(code)
    if division is None:
        return code
    parent = resolver().get(division.parent_code) if division.parent_code else None
    return f"{parent.name}{division.name}" if parent is not None and len(code) > 4 else division.name


def _now() -> datetime:
    """The application clock presenters use (``minxin.sla.live``: tests install a FixedClock)."""
    try:
        from minxin.sla import live
    except ImportError:  # pragma: no cover - without the SLA domain
        from minxin.core.clock import SystemClock

        return SystemClock().now()
    return live.now()


# -------------------------------------------------------------------------------- subjects
def subject_dict(subject: RiskSubject, tz: ZoneInfo, now: datetime) -> dict[str, Any]:
    score = decayed(subject.score, subject.score_at, now)
    return {
        "kind": subject.kind, "kind_zh": KIND_ZH.get(subject.kind, subject.kind), "ref": subject.ref,
        "display": subject.display, "score": round(score, 2), "level": risk_level(score),
        "level_zh": LEVEL_ZH[risk_level(score)], "order_count": subject.order_count,
        "first_at": iso(subject.first_at, tz), "last_at": iso(subject.last_at, tz),
        "url": f"/api/v1/risk/subjects/{subject.kind}/{subject.ref}", "page": f"/risk/subjects/{subject.kind}/{subject.ref}",
    }


def tag_dicts(tags: list[Any], names: dict[str, tuple[str, str]], tz: ZoneInfo) -> list[dict[str, Any]]:
    return [
        {"label": t.label_code, "name": names.get(t.label_code, (t.label_code, ""))[0],
         "category": t.category_code, "category_name": names.get(t.label_code, ("", t.category_code))[1],
         "severity": t.severity, "severity_zh": SEVERITY_ZH.get(t.severity, ""), "role": t.role,
         "evidence": t.evidence, "tagged_at": iso(t.tagged_at, tz)}
        for t in tags
    ]


def detail_section(session: Session, order: WorkOrder, principal: Principal, tz: ZoneInfo) -> dict[str, Any]:
    """``risk`` on the order detail: tags with evidence, subjects, alerts holding the order.

    ``state`` is ``tagged``, ``queued`` (registered moments ago: the drainer tags it right after
    the intake commits, :mod:`minxin.risk.queue`) or ``untagged`` (before risk was installed; the
    scan backfills it). Tags and subject links are written with the profile, so an order without
    one has neither and they are not queried."""
    now = _now()
    if is_fresh(session, order):  # just registered by this request: queued, no alerts
        return {"state": "queued", "region": None, "region_name": None, "max_severity": 0, "tagged_at": None,
                "tags": [], "subjects": [], "alerts": []}
    profile = repository.profile(session, order.id)
    alerts = alert_repo.alerts_of_order(session, order.id)
    units = alert_repo.units_by_ids(session, [a.unit_id for a in alerts])
    if profile is None and not queue_repository.in_queue(session, order.id):
        # the drainer may have committed between the two reads (each sees the latest commit on
        # PostgreSQL): look once more before calling the order untagged
        profile = repository.profile(session, order.id)
        queued = False
    else:
        queued = profile is None
    if profile is None:
        state, tags, subjects = ("queued" if queued else "untagged"), [], []
    else:
        state = "tagged"
        tags = tag_dicts(repository.active_tags(session, [order.id]), label_names(session), tz)
        subjects = [subject_dict(s, tz, now) for _, s in repository.subjects_of_orders(session, [order.id])]
    return {
        "state": state,
        "region": profile.region if profile else None,
        "region_name": region_name(profile.region) if profile else None,
        "max_severity": profile.max_severity if profile else 0,
        "tagged_at": iso(profile.tagged_at, tz) if profile else None,
        "tags": tags,
        "subjects": subjects,
        "alerts": [
            {"id": a.id, "detector": a.detector, "label": a.label_code, "state": a.state, "state_zh": STATE_ZH[a.state],
             "severity": a.severity, "unit": units[a.unit_id].code if a.unit_id in units else None,
             "visible": alert_repo.is_visible(a, principal), "url": f"/api/v1/risk/alerts/{a.id}"}
            for a in alerts
        ],
    }


def summary_field(session: Session, orders: list[WorkOrder], tz: ZoneInfo) -> dict[int, Any]:
    """``risk`` on list rows: highest severity and the top labels (one query for the page)."""
    del tz
    grouped: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for order_id, label, severity in repository.tag_summaries(session, [o.id for o in orders]):
        grouped[order_id].append((label, severity))
    return {
        order_id: {"max_severity": max(s for _, s in tags), "labels": [label for label, _ in tags[:3]], "count": len(tags)}
        for order_id, tags in grouped.items()
    }


# ---------------------------------------------------------------------------------- alerts
def deadline(alert: RiskAlert, now: datetime, tz: ZoneInfo) -> dict[str, Any] | None:
    """The deadline that matters now: acknowledge (while pushed), then close; None once closed."""
    if alert.state == "closed":
        return None
    kind, due = ("acknowledge", alert.ack_due_at) if alert.state == "pushed" else ("close", alert.due_at)
    state = "overdue" if now > due else "warning" if now >= due - WARN_BEFORE[kind] else "ok"
    label = "确认时限" if kind == "acknowledge" else "办结时限"
    state_zh = {"overdue": "已超时", "warning": "即将到期", "ok": "正常"}[state]
    return {"kind": kind, "label": label, "due_at": iso(due, tz), "state": state, "state_zh": state_zh}


def alert_dict(alert: RiskAlert, unit: Unit | None, names: dict[str, tuple[str, str]], tz: ZoneInfo,
               now: datetime) -> dict[str, Any]:
    label_name, category_name = names.get(alert.label_code, (alert.evidence.get("label_name", alert.label_code), ""))
    return {
        "id": alert.id, "detector": alert.detector, "detector_zh": DETECTOR_ZH.get(alert.detector, alert.detector),
        "label": alert.label_code, "label_name": label_name, "risk_category": alert.risk_category,
        "risk_category_name": category_name, "category": alert.category_code, "region": alert.region,
        "region_name": region_name(alert.region), "severity": alert.severity,
        "severity_zh": SEVERITY_ZH.get(alert.severity, ""), "role": alert.role,
        "unit": {"code": unit.code, "name": unit.name} if unit else None,
        "state": alert.state, "state_zh": STATE_ZH[alert.state], "resolution": alert.resolution,
        "resolution_zh": RESOLUTION_ZH.get(alert.resolution or "", ""),
        "first_seen": iso(alert.first_seen, tz), "detected_at": iso(alert.detected_at, tz),
        "pushed_at": iso(alert.pushed_at, tz), "last_seen_at": iso(alert.last_seen_at, tz),
        "acknowledged_at": iso(alert.acknowledged_at, tz), "closed_at": iso(alert.closed_at, tz),
        "ack_due_at": iso(alert.ack_due_at, tz), "due_at": iso(alert.due_at, tz),
        "deadline": deadline(alert, now, tz), "order_count": alert.order_count, "evidence": alert.evidence,
        "version": alert.version,
    }


def alert_dicts(session: Session, alerts: list[RiskAlert], tz: ZoneInfo, now: datetime) -> list[dict[str, Any]]:
    units = alert_repo.units_by_ids(session, [a.unit_id for a in alerts])
    names = label_names(session)
    return [alert_dict(a, units.get(a.unit_id), names, tz, now) for a in alerts]


def alert_detail(session: Session, alert: RiskAlert, principal: Principal, tz: ZoneInfo, now: datetime) -> dict[str, Any]:
    """One alert with all its orders (visible or not: the unit that must act needs the list) and
    its actions. Orders the principal may not open are listed without their text."""
    data = alert_dicts(session, [alert], tz, now)[0]
    pairs = alert_repo.alert_orders(session, alert.id)
    visible_ids = _visible(session, [o for _, o in pairs], principal)
    data["orders"] = [
        {"number": o.number, "title": mask_text(o.title) if o.id in visible_ids else "（无权查看）",
         "status": o.status, "created_at": iso(o.created_at, tz), "attached_at": iso(link.attached_at, tz),
         "citizen_phone": phone_for(o, principal) if o.id in visible_ids else None,
         "address": o.address if o.id in visible_ids else None, "visible": o.id in visible_ids}
        for link, o in pairs
    ]
    data["actions"] = [
        {"action": a.action, "action_zh": ACTION_ZH.get(a.action, a.action), "from_state": a.from_state,
         "to_state": a.to_state, "resolution": a.resolution, "by": a.actor_name, "role": a.actor_role,
         "unit": a.unit_code, "at": iso(a.at, tz), "text": a.text,
         "attachments": [{"id": x, "url": f"/api/v1/risk/alerts/{alert.id}/attachments/{x}"} for x in a.attachments]}
        for a in alert_repo.actions_of(session, alert.id)
    ]
    return data


def _visible(session: Session, orders: list[WorkOrder], principal: Principal) -> set[int]:
    if principal.sees_everything:
        return {o.id for o in orders}
    return {o.id for o in orders if orders_repository.is_visible(session, o, principal)}


def subject_detail(session: Session, subject: RiskSubject, principal: Principal, tz: ZoneInfo,
                   now: datetime) -> dict[str, Any] | None:
    """A subject with its history (orders the principal may see, their tags); None if none."""
    orders = repository.subject_orders(session, subject.id)
    visible = _visible(session, orders, principal)
    shown = [o for o in orders if o.id in visible]
    if not shown:
        return None
    names = label_names(session)
    tags: dict[int, list[Any]] = defaultdict(list)
    for t in repository.active_tags(session, [o.id for o in shown]):
        tags[t.order_id].append(t)
    data = subject_dict(subject, tz, now)
    data["orders"] = [
        {"number": o.number, "title": mask_text(o.title), "status": o.status, "created_at": iso(o.created_at, tz),
         "category": o.category.code if o.category else None, "tags": tag_dicts(tags.get(o.id, []), names, tz)}
        for o in shown
    ]
    data["hidden_orders"] = len(orders) - len(shown)
    return data


def stats(rows: list[tuple[str, str, str, str | None, int]]) -> dict[str, Any]:
    """Precision = 1 − false alarms / closed, per detector and per detector × region."""
    def empty() -> dict[str, int]:
        return {"total": 0, "live": 0, "closed": 0, "resolved": 0, "false_alarm": 0}

    by_detector: dict[str, dict[str, int]] = defaultdict(empty)
    by_region: dict[tuple[str, str], dict[str, int]] = defaultdict(empty)
    for detector, region, state, resolution, n in rows:
        for bucket in (by_detector[detector], by_region[(detector, region)]):
            bucket["total"] += n
            bucket["closed" if state == "closed" else "live"] += n
            if state == "closed" and resolution in ("resolved", "false_alarm"):
                bucket[resolution] += n

    def with_precision(b: dict[str, int]) -> dict[str, Any]:
        return {**b, "precision": round(1 - b["false_alarm"] / b["closed"], 4) if b["closed"] else None}

    return {
        "detectors": {d: with_precision(b) | {"detector_zh": DETECTOR_ZH.get(d, d)} for d, b in sorted(by_detector.items())},
        "regions": [
            with_precision(b) | {"detector": d, "region": r, "region_name": region_name(r)}
            for (d, r), b in sorted(by_region.items())
        ],
        "overall": with_precision({k: sum(b[k] for b in by_detector.values()) for k in empty()}),
    }


__all__ = ["alert_detail", "alert_dicts", "detail_section", "stats", "subject_detail", "summary_field"]
