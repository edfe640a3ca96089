"""Webhook subscriptions: who gets which events, scoped to a unit subtree, an integration's own
orders (by API key), or everything (neither set)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy.orm import Session

from minxin.audit import service as audit
from minxin.errors import Invalid, NotFound
from minxin.integrations import repository, webhooks
from minxin.integrations.models import WebhookDelivery, WebhookSubscription
from minxin.units import repository as units_repository


def _check_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise Invalid("回调地址必须是 http(s) URL", "The webhook URL must be an http(s) URL", code="webhook.bad_url")
    return url


def _check_events(events: list[str]) -> list[str]:
    unknown = [e for e in events if e != "*" and e not in webhooks.EVENT_TYPES]
    if unknown or not events:
        raise Invalid(
            f"未知事件类型：{unknown}",
            f"Event types must be '*' or some of {', '.join(webhooks.EVENT_TYPES)}",
            code="webhook.bad_event",
        )
    return list(dict.fromkeys(events))


def require(session: Session, sub_id: int) -> WebhookSubscription:
    sub = repository.subscription(session, sub_id)
    if sub is None:
        raise NotFound(f"订阅不存在：{sub_id}", f"No webhook subscription {sub_id}", code="webhook.not_found")
    return sub


def _scope(session: Session, unit: str | None, api_key_id: int | None) -> tuple[int | None, int | None]:
    unit_id = None
    if unit:
        row = units_repository.get_by_code(session, unit)
        if row is None:
            raise Invalid(f"单位不存在：{unit}", f"Unknown unit '{unit}'", code="unit.not_found")
        unit_id = row.id
    if api_key_id is not None and repository.key(session, api_key_id) is None:
        raise Invalid(f"接口密钥不存在：{api_key_id}", f"No API key {api_key_id}", code="api_key.not_found")
    if unit_id and api_key_id:
        raise Invalid("订阅范围只能是单位或接口之一", "Scope a subscription to a unit or a key, not both", code="webhook.bad_scope")
    return unit_id, api_key_id


def create(
    session: Session,
    *,
    name: str,
    url: str,
    event_types: list[str],
    unit: str | None,
    api_key_id: int | None,
    secret: str | None,
    now: datetime,
    by: str,
) -> WebhookSubscription:
    unit_id, key_id = _scope(session, unit, api_key_id)
    sub = WebhookSubscription(
        name=name,
        url=_check_url(url),
        secret=secret or webhooks.new_secret(),
        event_types=_check_events(event_types),
        unit_id=unit_id,
        api_key_id=key_id,
        active=True,
        created_at=now,
        updated_at=now,
        created_by=by,
    )
    session.add(sub)
    session.flush()
    audit.record(session, at=now, actor=by, action="webhook.create", target_type="webhook", target_id=sub.id,
                 detail={"url": url, "events": sub.event_types})
    return sub


def update(session: Session, sub_id: int, changes: dict[str, Any], *, now: datetime, by: str) -> WebhookSubscription:
    sub = require(session, sub_id)
    if changes.get("url") is not None:
        sub.url = _check_url(changes["url"])
    if changes.get("event_types") is not None:
        sub.event_types = _check_events(changes["event_types"])
    if changes.get("name") is not None:
        sub.name = changes["name"]
    if changes.get("active") is not None:
        sub.active = bool(changes["active"])
    if changes.get("rotate_secret"):
        sub.secret = webhooks.new_secret()
    sub.updated_at = now
    audit.record(session, at=now, actor=by, action="webhook.update", target_type="webhook", target_id=sub.id,
                 detail={"changed": sorted(k for k, v in changes.items() if v is not None)})
    return sub


def remove(session: Session, sub_id: int, *, now: datetime, by: str) -> None:
    sub = require(session, sub_id)
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id))
    session.delete(sub)
    audit.record(session, at=now, actor=by, action="webhook.delete", target_type="webhook", target_id=sub_id)


def to_dict(session: Session, sub: WebhookSubscription, *, tz: ZoneInfo, with_secret: bool = False) -> dict[str, Any]:
    unit = units_repository.get(session, sub.unit_id) if sub.unit_id else None
    data = {
        "id": sub.id,
        "name": sub.name,
        "url": sub.url,
        "event_types": list(sub.event_types),
        "unit": unit.code if unit else None,
        "api_key_id": sub.api_key_id,
        "active": sub.active,
        "created_at": sub.created_at.astimezone(tz).isoformat(),
        "updated_at": sub.updated_at.astimezone(tz).isoformat(),
    }
    if with_secret:
        data["secret"] = sub.secret
    return data


def delivery_dict(delivery: WebhookDelivery, *, tz: ZoneInfo) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.astimezone(tz).isoformat() if value else None

    return {
        "id": delivery.id,
        "subscription_id": delivery.subscription_id,
        "event": delivery.event,
        "event_id": delivery.event_id,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "next_attempt_at": iso(delivery.next_attempt_at) if delivery.state == "pending" else None,
        "created_at": iso(delivery.created_at),
        "delivered_at": iso(delivery.delivered_at),
        "last_attempt_at": iso(delivery.last_attempt_at),
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "payload": delivery.payload,
    }
