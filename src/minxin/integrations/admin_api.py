"""Admin routes: API keys, webhook subscriptions, deliveries (dead letters and replay), Open311
settings. Every change is audited by the services."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from minxin.api.deps import AdminPrincipal, State
from minxin.audit import service as audit
from minxin.errors import NotFound
from minxin.integrations import keys, repository, subscriptions, webhooks
from minxin.integrations.schemas import (
    KeyCreate,
    KeyRotate,
    KeyUpdate,
    ReplayIn,
    WebhookCreate,
    WebhookUpdate,
)
from minxin.open311 import catalog
from minxin.units import repository as units_repository

router = APIRouter(prefix="/api/v1/integrations", tags=["integrations (admin)"])


def _key_out(session: Any, key: Any, state: Any) -> dict[str, Any]:
    return keys.to_dict(key, units_repository.get(session, key.unit_id), state.tz)


@router.post("/keys", status_code=201, summary="Create an API key (the secret is shown once)")
def create_key(data: KeyCreate, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    with state.db.unit_of_work() as session:
        key, raw = keys.create(session, name=data.name, unit_code=data.unit, role=data.role, scopes=data.scopes,
                               system=data.system, rate_per_minute=data.rate_per_minute, burst=data.burst,
                               open311_deferred=data.open311_deferred, now=state.clock.now(), by=admin.username)
        return _key_out(session, key, state) | {"api_key": raw}


@router.get("/keys", summary="List API keys")
def list_keys(_admin: AdminPrincipal, state: State) -> list[dict[str, Any]]:
    with state.db.reading() as session:
        return [_key_out(session, k, state) for k in repository.keys(session)]


@router.get("/keys/{key_id}", summary="One API key")
def get_key(key_id: int, _admin: AdminPrincipal, state: State) -> dict[str, Any]:
    with state.db.reading() as session:
        return _key_out(session, keys.require(session, key_id), state)


@router.patch("/keys/{key_id}", summary="Change a key's name, unit, role, scopes, system or rate limit")
def update_key(key_id: int, data: KeyUpdate, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    with state.db.unit_of_work() as session:
        key = keys.update(session, key_id, data.model_dump(exclude_unset=True), now=state.clock.now(), by=admin.username)
        return _key_out(session, key, state)


@router.post("/keys/{key_id}/rotate", summary="Rotate a key's secret (optionally keeping the old one for a while)")
def rotate_key(key_id: int, admin: AdminPrincipal, state: State, data: KeyRotate | None = None) -> dict[str, Any]:
    grace = data.grace_minutes if data else 0
    with state.db.unit_of_work() as session:
        key, raw = keys.rotate(session, key_id, grace_minutes=grace, now=state.clock.now(), by=admin.username)
        return _key_out(session, key, state) | {"api_key": raw}


@router.post("/keys/{key_id}/revoke", summary="Revoke a key (refused from then on)")
def revoke_key(key_id: int, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    with state.db.unit_of_work() as session:
        return _key_out(session, keys.revoke(session, key_id, now=state.clock.now(), by=admin.username), state)


# --- webhooks --------------------------------------------------------------------------------------


@router.get("/event-types", summary="Event types a subscription may ask for")
def event_types(_admin: AdminPrincipal) -> dict[str, Any]:
    return {
        "event_types": list(webhooks.EVENT_TYPES),
        "retry": {"base_seconds": webhooks.BASE_DELAY_SECONDS, "max_delay_seconds": webhooks.MAX_DELAY_SECONDS,
                  "max_attempts": webhooks.MAX_ATTEMPTS,
                  "window_seconds": int(webhooks.total_retry_window().total_seconds())},
    }


@router.post("/webhooks", status_code=201, summary="Subscribe a URL to events (the secret is shown here)")
def create_webhook(data: WebhookCreate, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    with state.db.unit_of_work() as session:
        sub = subscriptions.create(session, name=data.name, url=data.url, event_types=data.event_types, unit=data.unit,
                                   api_key_id=data.api_key_id, secret=data.secret, now=state.clock.now(),
                                   by=admin.username)
        return subscriptions.to_dict(session, sub, tz=state.tz, with_secret=True)


@router.get("/webhooks", summary="List webhook subscriptions")
def list_webhooks(_admin: AdminPrincipal, state: State) -> list[dict[str, Any]]:
    with state.db.reading() as session:
        return [subscriptions.to_dict(session, s, tz=state.tz) for s in repository.subscriptions(session)]


@router.get("/webhooks/{sub_id}", summary="One subscription, with its secret")
def get_webhook(sub_id: int, _admin: AdminPrincipal, state: State) -> dict[str, Any]:
    with state.db.reading() as session:
        return subscriptions.to_dict(session, subscriptions.require(session, sub_id), tz=state.tz, with_secret=True)


@router.patch("/webhooks/{sub_id}", summary="Change, pause (active=false) or re-key a subscription")
def update_webhook(sub_id: int, data: WebhookUpdate, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    with state.db.unit_of_work() as session:
        sub = subscriptions.update(session, sub_id, data.model_dump(exclude_unset=True), now=state.clock.now(),
                                   by=admin.username)
        return subscriptions.to_dict(session, sub, tz=state.tz, with_secret=data.rotate_secret)


@router.delete("/webhooks/{sub_id}", status_code=204, summary="Delete a subscription and its deliveries")
def delete_webhook(sub_id: int, admin: AdminPrincipal, state: State) -> Response:
    with state.db.unit_of_work() as session:
        subscriptions.remove(session, sub_id, now=state.clock.now(), by=admin.username)
    return Response(status_code=204)


@router.post("/webhooks/{sub_id}/ping", status_code=202, summary="Queue a test event for one subscription")
def ping_webhook(sub_id: int, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    with state.db.unit_of_work() as session:
        delivery = webhooks.ping(session, subscriptions.require(session, sub_id), now=state.clock.now())
        audit.record(session, at=state.clock.now(), actor=admin.username, action="webhook.ping", target_type="webhook",
                     target_id=sub_id)
        return subscriptions.delivery_dict(delivery, tz=state.tz)


@router.get("/deliveries", summary="Webhook deliveries; state=dead lists the dead letters")
def list_deliveries(
    _admin: AdminPrincipal,
    state: State,
    delivery_state: Annotated[str | None, Query(alias="state", pattern="^(pending|delivered|dead)$")] = None,
    subscription_id: int | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    with state.db.reading() as session:
        rows = repository.deliveries(session, state=delivery_state, subscription_id=subscription_id, offset=offset,
                                     limit=limit)
        return {"items": [subscriptions.delivery_dict(d, tz=state.tz) for d in rows]}


@router.get("/deliveries/dead", summary="The dead-letter list")
def dead_letters(_admin: AdminPrincipal, state: State, subscription_id: int | None = None) -> dict[str, Any]:
    return list_deliveries(_admin, state, "dead", subscription_id, 0, 500)


@router.post("/deliveries/replay", summary="Replay every dead delivery (of one subscription)")
def replay_all(admin: AdminPrincipal, state: State, data: ReplayIn | None = None) -> dict[str, Any]:
    sub_id = data.subscription_id if data else None
    with state.db.unit_of_work() as session:
        count = webhooks.replay_dead(session, subscription_id=sub_id, now=state.clock.now())
        audit.record(session, at=state.clock.now(), actor=admin.username, action="webhook.replay_dead",
                     target_type="webhook", target_id=sub_id or "*", detail={"count": count})
    return {"replayed": count}


@router.post("/deliveries/{delivery_id}/replay", summary="Send one delivery again")
def replay_one(delivery_id: int, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    with state.db.unit_of_work() as session:
        delivery = webhooks.replay(session, delivery_id, now=state.clock.now())
        if delivery is None:
            raise NotFound(f"投递记录不存在：{delivery_id}", f"No delivery {delivery_id}", code="webhook.delivery_not_found")
        audit.record(session, at=state.clock.now(), actor=admin.username, action="webhook.replay",
                     target_type="webhook_delivery", target_id=delivery_id)
        return subscriptions.delivery_dict(delivery, tz=state.tz)


# --- Open311 settings ----------------------------------------------------------------------------


class Open311Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    jurisdictions: list[str] | None = Field(default=None, description="accepted jurisdiction_id values; [] = any")
    contact: str | None = Field(default=None, max_length=500)
    key_service: str | None = Field(default=None, max_length=500)
    public_url: str | None = Field(default=None, max_length=500, description="base URL announced by discovery")
    appeal_type: str | None = Field(default=None, description="appeal type of orders created through Open311")


@router.get("/open311", summary="Open311 endpoint settings")
def get_open311(_admin: AdminPrincipal, state: State) -> dict[str, Any]:
    with state.db.reading() as session:
        return catalog.config_dict(catalog.config(session))


@router.put("/open311", summary="Change Open311 endpoint settings")
def put_open311(data: Open311Settings, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    changes = data.model_dump(exclude_none=True)
    if "jurisdictions" in changes:
        changes["jurisdictions"] = ",".join(j.strip() for j in changes["jurisdictions"] if j.strip())
    with state.db.unit_of_work() as session:
        cfg = catalog.set_config(session, changes)
        audit.record(session, at=state.clock.now(), actor=admin.username, action="open311.settings",
                     target_type="settings", target_id="open311", detail={"changed": sorted(changes)})
        return catalog.config_dict(cfg)
