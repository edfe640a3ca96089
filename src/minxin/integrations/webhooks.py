"""Outbound webhooks: subscriptions, fan-out from the outbox, signing, retries, dead letters.

Delivery is **at least once**: an outbox message, written in the same transaction as the change
it announces, becomes one ``WebhookDelivery`` per matching subscription (fan-out, idempotent
thanks to the unique ``(subscription_id, outbox_id)``); each delivery is retried with
exponential backoff until the receiver answers 2xx, and only then marked delivered. A crash
between sending and recording means the event is sent again, never lost, so receivers
deduplicate on the event ``id`` (stable across retries and subscriptions).

Schedule: after failed attempt n the next one waits ``min(10 s · 2^(n-1), 1 h)``; after
``MAX_ATTEMPTS`` (15) failures — about 6.4 hours of trying — the delivery is *dead*: listed for
admins and replayable. A receiver that is down for an hour therefore loses nothing.

Signature: header ``X-Minxin-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
"<t>.<body>")>`` over the exact bytes of the body (see ``verify``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from minxin.integrations import repository
from minxin.integrations.models import ApiKey, WebhookDelivery, WebhookSubscription
from minxin.outbox.models import OutboxMessage
from minxin.units import repository as units_repository
from minxin.workorders import repository as orders_repository

VERSION = 1
BASE_DELAY_SECONDS = 10
MAX_DELAY_SECONDS = 3600
MAX_ATTEMPTS = 15
#: a claimed delivery is invisible to other workers for this long (covers the HTTP call)
LEASE_SECONDS = 120
SIGNATURE_HEADER = "X-Minxin-Signature"

EVENT_TYPES: tuple[str, ...] = (
    "order.created",
    "order.dispatched",
    "order.signed",
    "order.replied",
    "order.closed",
    "order.reopened",
    "order.warning",
    "order.overdue",
    "order.updated",
    "order.handoff",
    "risk.alert",
    "transfer.outbound",
    "ping",
)
_ACTION_EVENTS = {
    "dispatch": "order.dispatched",
    "sign": "order.signed",
    "reply": "order.replied",
    "reopen": "order.reopened",
    "handoff": "order.handoff",
}
_TOPIC_EVENTS = {"sla.warning": "order.warning", "sla.overdue": "order.overdue", "risk.alert": "risk.alert"}


def backoff(attempts: int) -> timedelta:
    """Wait after ``attempts`` failures: 10 s, 20 s, 40 s … capped at one hour."""
    return timedelta(seconds=min(BASE_DELAY_SECONDS * 2 ** max(0, attempts - 1), MAX_DELAY_SECONDS))


def total_retry_window(max_attempts: int = MAX_ATTEMPTS) -> timedelta:
    """Time from the first to the last attempt of a delivery that always fails."""
    return sum((backoff(n) for n in range(1, max_attempts)), timedelta())


def event_for(topic: str, payload: dict[str, Any]) -> str:
    """The public event name of an outbox topic (``order.callback`` that closes → ``order.closed``)."""
    if topic == "order.created":
        return topic
    if topic in _TOPIC_EVENTS:
        return _TOPIC_EVENTS[topic]
    if topic.startswith("order."):
        action = topic.split(".", 1)[1]
        if payload.get("status") == "closed" and action in ("answer", "callback", "close"):
            return "order.closed"
        return _ACTION_EVENTS.get(action, "order.updated")
    return topic


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, *, now: datetime | None = None, tolerance: int = 300) -> bool:
    """What a receiver does: recompute the HMAC over ``t.body`` and compare in constant time;
    with ``now``, also refuse signatures older than ``tolerance`` seconds (replay protection)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if now is not None and abs(now.timestamp() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), parts.get("v1", ""))


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


# --- fan-out -------------------------------------------------------------------------------------


@dataclass
class _OrderFacts:
    paths: list[str]
    key_ids: set[int]
    systems: set[str]
    data: dict[str, Any]


def _order_facts(session: Session, number: str) -> _OrderFacts | None:
    order = orders_repository.get_by_number(session, number)
    if order is None:
        return None
    links = repository.transfers_of(session, [order.id])
    ref = (order.extra or {}).get("ref") or {}
    key_ids = {link.api_key_id for link in links if link.api_key_id} | ({int(ref["api_key_id"])} if ref.get("api_key_id") else set())
    data: dict[str, Any] = {"channel": order.channel, "category": order.category.code if order.category else None}
    if links:
        data["transfers"] = [{"direction": x.direction, "system": x.system, "external_id": x.external_id} for x in links]
    if order.channel == "open311":
        data["open311"] = {"service_request_id": order.number}
    return _OrderFacts(repository.order_unit_paths(session, order.id), key_ids, {x.system for x in links}, data)


def _matches(
    sub: WebhookSubscription, event: str, payload: dict[str, Any], facts: _OrderFacts | None,
    unit_paths: dict[int, str], keys: dict[int, ApiKey], session: Session,
) -> bool:
    if "*" not in sub.event_types and event not in sub.event_types:
        return False
    if event == "transfer.outbound" and not sub.api_key_id:
        return False  # it carries the caller's personal data: only for the receiving system's own key
    if sub.api_key_id:
        key = keys.get(sub.api_key_id)
        if key is None or key.revoked_at is not None:
            return False
        if event == "transfer.outbound":
            return bool(key.system) and payload.get("target") == key.system
        return facts is not None and (sub.api_key_id in facts.key_ids or (bool(key.system) and key.system in facts.systems))
    if sub.unit_id:
        scope = unit_paths.get(sub.unit_id)
        if scope is None:
            return False
        if facts is not None:
            return any(p.startswith(scope) for p in facts.paths)
        unit = units_repository.get_by_code(session, str(payload.get("unit") or "")) if payload.get("unit") else None
        return unit is not None and unit.path.startswith(scope)
    return True


def _envelope(message: OutboxMessage, event: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": VERSION,
        "event": event,
        "id": f"evt_{message.id}",
        "occurred_at": message.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": dict(message.payload) | extra,
    }


def fan_out(session: Session, *, now: datetime, limit: int = 500) -> int:
    """Turn pending outbox messages into deliveries (one per matching active subscription) and
    mark the messages done. Runs in the caller's transaction; rows are claimed with SKIP LOCKED."""
    messages = repository.claim_outbox(session, limit=limit)
    if not messages:
        return 0
    subs = repository.subscriptions(session, active_only=True)
    unit_paths = {u.id: u.path for u in (units_repository.get(session, s.unit_id) for s in subs if s.unit_id) if u}
    keys = {k.id: k for k in (repository.key(session, s.api_key_id) for s in subs if s.api_key_id) if k}
    created = 0
    for message in messages:
        payload = message.payload or {}
        event = event_for(message.topic, payload)
        facts = _order_facts(session, str(payload["number"])) if subs and payload.get("number") else None
        for sub in subs:
            if not _matches(sub, event, payload, facts, unit_paths, keys, session):
                continue
            if repository.delivery_exists(session, sub.id, message.id):
                continue
            session.add(
                WebhookDelivery(
                    subscription_id=sub.id,
                    outbox_id=message.id,
                    event=event,
                    event_id=f"evt_{message.id}",
                    payload=_envelope(message, event, facts.data if facts else {}),
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            created += 1
        message.state = "done"
        message.attempts += 1
    session.flush()
    return created


# --- attempts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """Everything needed to send one delivery outside any transaction."""

    delivery_id: int
    url: str
    body: bytes
    headers: dict[str, str]


def claim(session: Session, *, now: datetime, limit: int = 20) -> list[Attempt]:
    """Due deliveries, leased for ``LEASE_SECONDS`` so no other worker sends them meanwhile."""
    attempts = []
    for delivery in repository.claim_due_deliveries(session, now=now, limit=limit):
        sub = repository.subscription(session, delivery.subscription_id)
        assert sub is not None
        body = body_of(delivery)
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "minxin-webhooks/1",
            SIGNATURE_HEADER: signature_header(sub.secret, timestamp, body),
            "X-Minxin-Event": delivery.event,
            "X-Minxin-Event-Id": delivery.event_id,
            "X-Minxin-Delivery": str(delivery.id),
            "X-Minxin-Attempt": str(delivery.attempts + 1),
        }
        delivery.next_attempt_at = now + timedelta(seconds=LEASE_SECONDS)
        attempts.append(Attempt(delivery.id, sub.url, body, headers))
    session.flush()
    return attempts


def record(session: Session, delivery_id: int, *, ok: bool, status: int | None, error: str | None, now: datetime) -> str:
    """Store the outcome of one attempt; returns the delivery's new state."""
    delivery = repository.delivery(session, delivery_id, for_update=True)
    if delivery is None or delivery.state != "pending":
        return delivery.state if delivery else "missing"
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status = status
    if ok:
        delivery.state = "delivered"
        delivery.delivered_at = now
        delivery.last_error = None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.state = "dead"
        delivery.last_error = (error or "")[:2000]
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
        delivery.last_error = (error or "")[:2000]
    return delivery.state


def replay(session: Session, delivery_id: int, *, now: datetime) -> WebhookDelivery | None:
    """Send a dead (or delivered) delivery again, with a fresh attempt budget."""
    delivery = repository.delivery(session, delivery_id, for_update=True)
    if delivery is None:
        return None
    if delivery.state != "pending":
        delivery.state = "pending"
        delivery.attempts = 0
        delivery.next_attempt_at = now
    return delivery


def replay_dead(session: Session, *, subscription_id: int | None, now: datetime) -> int:
    rows = repository.dead_deliveries(session, subscription_id)
    for delivery in rows:
        delivery.state, delivery.attempts, delivery.next_attempt_at = "pending", 0, now
    return len(rows)


def ping(session: Session, sub: WebhookSubscription, *, now: datetime) -> WebhookDelivery:
    """A test event for one subscription (not from the outbox)."""
    event_id = f"ping_{secrets.token_hex(6)}"
    delivery = WebhookDelivery(
        subscription_id=sub.id,
        outbox_id=None,
        event="ping",
        event_id=event_id,
        payload={"version": VERSION, "event": "ping", "id": event_id,
                 "occurred_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"), "data": {"subscription": sub.id}},
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    return delivery
