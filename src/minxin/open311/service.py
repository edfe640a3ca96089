"""Open311 service requests: create (realtime or deferred behind a token), read, resolve tokens.

A request posted through Open311 is an ordinary work order: ``workorders.service.register``
with channel ``open311`` and the key's principal (centre = the key's unit), so intake hooks,
SLA and webhooks see it like any other. Its Open311 details (attributes, e-mail, device,
media URLs, jurisdiction, token) are kept in ``extra["open311"]``; uploaded photos are stored
as attachments linked to the registration event.

Every POST gets a token. A key marked ``open311_deferred`` gets *only* the token: the validated
submission waits in ``open311_tokens`` and the job ``open311.tokens`` — or the client's first
poll of ``tokens/{token}`` — registers it. Input is validated before the token is issued, so
a deferred creation cannot fail on the client's data.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.attachments import service as attachments
from minxin.attachments.models import OrderAttachment
from minxin.categories.models import Category
from minxin.core.pii import mask_text
from minxin.core.vocabulary import Channel, Status
from minxin.errors import DomainError
from minxin.integrations import keys as keys_service
from minxin.integrations import repository as integrations_repository
from minxin.integrations.models import ApiKey, Open311Token
from minxin.open311 import catalog, mapping, repository
from minxin.open311.forms import Upload
from minxin.open311.schemas import Open311Error, Submission, bad, parse_time, w3c
from minxin.units import repository as units_repository
from minxin.workorders import service as orders
from minxin.workorders.models import WorkOrder
from minxin.workorders.schemas import PHONE_CHARS, OrderCreate

MAX_RANGE = timedelta(days=90)


def store_files(
    session: Session, files: list[Upload], sub: Submission, *, actor: Principal, now: datetime, root: Path, max_bytes: int
) -> None:
    """Keep the photos a client uploaded; files we do not accept are listed, not fatal."""
    for upload in files:
        try:
            stored = attachments.store(session, chunks=[upload.data], original_name=upload.filename, actor=actor, now=now,
                                       root=root, max_bytes=max_bytes)
        except DomainError as exc:
            sub.skipped_files.append(f"{upload.name}: {exc.code}")
            continue
        sub.attachment_ids.append(stored.id)


def _order_create(sub: Submission, category: Category, cfg: catalog.Config) -> OrderCreate:
    first_line = (sub.description or "").split("\n", 1)[0].strip()
    title = f"{category.name}：{first_line}" if first_line else category.name
    content = sub.description or f"{category.name}（Open311 报告，未填写描述 / no description）"
    attrs = catalog.attributes_of(category)
    labels = {a["code"]: a["description"] for a in attrs}
    shown = [f"{labels.get(k, k)}：{', '.join(v) if isinstance(v, list) else v}" for k, v in sub.attributes.items() if k in labels]
    if shown:
        content = f"{content}\n\n附加信息 / attributes:\n" + "\n".join(shown)
    name = " ".join(p for p in (sub.first_name, sub.last_name) if p) or None
    phone = sub.phone if sub.phone and PHONE_CHARS.match(sub.phone) else None
    return OrderCreate(
        channel=Channel.OPEN311,
        appeal_type=cfg.appeal_type,
        title=title[:200],
        content=content[:20000],
        citizen={"name": name, "phone": phone} if (name or phone) else None,
        address=sub.address_string,
        category=category.code,
        latitude=sub.lat,
        longitude=sub.long,
        extra={"open311": {k: v for k, v in sub.to_json().items() if v not in (None, [], {})}},
    )


def register(
    session: Session, sub: Submission, token: Open311Token, *, actor: Principal, now: datetime, settings: orders.Settings
) -> WorkOrder:
    category = catalog.find_category(session, sub.service_code)
    if category is None:
        raise Open311Error(400, f"service_code {sub.service_code} is no longer offered")
    data = _order_create(sub, category, catalog.config(session))
    data.extra["open311"]["token"] = token.token  # type: ignore[index]
    ref = {"system": "open311", "api_key_id": actor.api_key_id, "token": token.token}
    order, _ = orders.register(session, data, actor=actor, now=now, settings=settings, channel_ref=ref)
    for attachment_id in dict.fromkeys(sub.attachment_ids):
        session.add(OrderAttachment(order_id=order.id, attachment_id=attachment_id, event_seq=1, purpose="intake"))
    token.state, token.order_id, token.processed_at, token.submission = "created", order.id, now, None
    session.flush()
    return order


def create(
    session: Session, sub: Submission, *, key: ApiKey, actor: Principal, now: datetime, settings: orders.Settings
) -> dict[str, Any]:
    """Register now (answer with the id and the token) or defer (answer with the token only)."""
    token = Open311Token(token=secrets.token_hex(12), api_key_id=key.id, jurisdiction_id=sub.jurisdiction_id,
                         state="pending", submission=sub.to_json(), created_at=now)
    session.add(token)
    session.flush()
    notice_files = f"；未接收的文件 / files not accepted: {', '.join(sub.skipped_files)}" if sub.skipped_files else ""
    if key.open311_deferred:
        return {"token": token.token, "service_notice": "已收到，稍后生成工单 / received, the order will be created shortly"
                + notice_files, "account_id": sub.account_id}
    order = register(session, sub, token, actor=actor, now=now, settings=settings)
    return {
        "service_request_id": order.number,
        "token": token.token,
        "service_notice": f"已受理，工单号 {order.number} / received as order {order.number}" + notice_files,
        "account_id": sub.account_id,
    }


def process(session: Session, token: Open311Token, *, now: datetime, settings: orders.Settings) -> WorkOrder | None:
    """Register a deferred submission (caller holds the token row locked)."""
    if token.state != "pending" or token.submission is None:
        return None
    key = integrations_repository.key(session, token.api_key_id)
    unit = units_repository.get(session, key.unit_id) if key else None
    if key is None or unit is None:
        token.state, token.error, token.processed_at = "failed", "the API key is gone", now
        return None
    try:
        with session.begin_nested():
            return register(session, Submission.from_json(token.submission), token, actor=keys_service.principal_of(key, unit),
                            now=now, settings=settings)
    except (DomainError, Open311Error) as exc:
        token.state, token.error, token.processed_at = "failed", str(exc)[:2000], now
        return None


def resolve_token(session: Session, value: str, *, now: datetime, settings: orders.Settings) -> dict[str, Any]:
    """The id behind a token, creating a deferred order on this first poll if the job has not."""
    token = integrations_repository.token(session, value, for_update=True)
    if token is None:
        raise Open311Error(404, f"token {value} not found")
    if token.state == "pending":
        process(session, token, now=now, settings=settings)
    if token.state == "failed":
        raise Open311Error(404, f"the request behind token {value} could not be created: {token.error}")
    if token.order_id is None:
        return {"token": token.token}
    order = session.get(WorkOrder, token.order_id)
    return {"service_request_id": order.number if order else None, "token": token.token}


# --- reading ---------------------------------------------------------------------------------------


def status_notes(order: WorkOrder) -> str | None:
    status = Status(order.status)
    if status is Status.CLOSED and order.direct_answer:
        text = order.direct_answer
    elif status in (Status.REPLIED, Status.CLOSED):
        text = order.reply_text
    elif status is Status.MERGED:
        text = "与其他工单合并办理 / merged with another request"
    elif status is Status.VOID:
        text = "已作废 / cancelled"
    else:
        text = None
    return mask_text(text) if text else None


def request_dict(order: WorkOrder, tz: ZoneInfo) -> dict[str, Any]:
    """One order as a GeoReport ``request`` (personal data masked; no caller name or phone)."""
    extra = (order.extra or {}).get("open311") or {}
    media = extra.get("media_urls") or []
    unit = order.current_unit
    return {
        "service_request_id": order.number,
        "status": mapping.base_status(order.status),
        "status_notes": status_notes(order),
        "service_name": order.category.name if order.category else None,
        "service_code": order.category.code if order.category else "",
        "description": mask_text(order.content)[:4000],
        "agency_responsible": unit.name if unit else None,
        "service_notice": None,
        "requested_datetime": w3c(order.created_at, tz),
        "updated_datetime": w3c(order.updated_at, tz),
        "expected_datetime": None,
        "address": order.address,
        "address_id": extra.get("address_id"),
        "zipcode": None,
        "lat": order.latitude,
        "long": order.longitude,
        "media_url": media[0] if media else None,
    }


def window(start: str | None, end: str | None, *, now: datetime, tz: ZoneInfo, default: timedelta) -> tuple[datetime, datetime]:
    """A date range of at most 90 days; missing ends default around the given one (or now)."""
    start_at = parse_time(start, "start_date", tz) if start else None
    end_at = parse_time(end, "end_date", tz) if end else None
    if start_at is None and end_at is None:
        return now - default, now
    if start_at is None:
        assert end_at is not None
        start_at = end_at - min(default, MAX_RANGE)
    if end_at is None:
        end_at = min(now, start_at + MAX_RANGE) if start_at < now else start_at + MAX_RANGE
    if end_at < start_at:
        raise bad("end_date is before start_date")
    if end_at - start_at > MAX_RANGE:
        raise bad("the date range may not span more than 90 days")
    return start_at, end_at


def find(
    session: Session,
    *,
    ids: str | None,
    service_code: str | None,
    status: str | None,
    start: str | None,
    end: str | None,
    principal: Principal | None,
    now: datetime,
    tz: ZoneInfo,
) -> list[dict[str, Any]]:
    """GET /requests: by ids (overriding the rest), else by date range, status and service code;
    by default the last 90 days, at most 1000, newest first."""
    if ids:
        numbers = [i.strip() for i in ids.split(",") if i.strip()]
        return [request_dict(o, tz) for o in repository.by_numbers(session, numbers, principal)]
    try:
        statuses = mapping.base_statuses_to_ours(status.split(",")) if status else set()
    except ValueError as exc:
        raise bad(f"status must be open or closed, not {exc}") from exc
    start_at, end_at = window(start, end, now=now, tz=tz, default=MAX_RANGE)
    codes = tuple(c.strip() for c in (service_code or "").split(",") if c.strip())
    query = repository.RequestQuery(start=start_at, end=end_at, statuses=frozenset(statuses), service_codes=codes)
    return [request_dict(o, tz) for o in repository.search(session, query, principal)]


def find_one(session: Session, number: str, principal: Principal | None, tz: ZoneInfo) -> dict[str, Any]:
    found = repository.by_numbers(session, [number], principal)
    if not found:
        raise Open311Error(404, f"service request {number} not found")
    return request_dict(found[0], tz)
