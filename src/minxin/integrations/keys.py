"""API keys for machines: create, rotate, revoke, and check a presented key.

A key looks like ``mxk_<prefix>_<secret>``. Only ``sha256`` of the whole key is stored, so a
database leak does not leak usable keys; the prefix finds the row in one indexed lookup.

Every check of a presented key — accepted, refused or rate-limited — writes one audit entry in
the same transaction that updates the key's ``last_used_at`` and its token bucket, so "every
machine call is audited" holds across processes. The rate limit is a token bucket kept on the
key row (``burst`` tokens, refilled at ``rate_per_minute``), shared by every process because it
lives in the database; the row lock serialises concurrent calls of one key.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.audit import service as audit
from minxin.core.vocabulary import Role
from minxin.errors import DomainError, Forbidden, Invalid, NotFound, RateLimited, Unauthorized
from minxin.integrations import repository
from minxin.integrations.models import ApiKey
from minxin.units import repository as units_repository
from minxin.units.models import Unit

KEY_PREFIX = "mxk_"
#: what a key may be used for; "*" is everything
SCOPES = ("open311", "orders", "transfers", "*")
KEY_ROLES = frozenset({Role.AGENT, Role.DISPATCHER, Role.HANDLER, Role.SUPERVISOR, Role.LEADER})


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _new_secret(prefix: str) -> str:
    return f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def split(raw: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    if not raw.startswith(KEY_PREFIX):
        return None
    prefix, sep, secret = raw[len(KEY_PREFIX) :].partition("_")
    if not sep or not secret or not prefix.isalnum() or len(prefix) > 16:
        return None
    return prefix


def _validate(role: str, scopes: list[str], rate_per_minute: int, burst: int) -> None:
    if role not in {r.value for r in KEY_ROLES}:
        raise Invalid(
            f"接口密钥的角色只能是：{'、'.join(sorted(r.value for r in KEY_ROLES))}",
            f"A key's role must be one of {', '.join(sorted(r.value for r in KEY_ROLES))}",
            code="api_key.bad_role",
        )
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise Invalid(
            f"未知或缺少权限范围：{unknown}", f"Scopes must be some of {', '.join(SCOPES)}", code="api_key.bad_scope"
        )
    if not (1 <= rate_per_minute <= 100_000 and 1 <= burst <= 100_000):
        raise Invalid("限流参数超出范围", "rate_per_minute and burst must be 1..100000", code="api_key.bad_rate")


def _unit(session: Session, code: str) -> Unit:
    unit = units_repository.get_by_code(session, code)
    if unit is None or not unit.active:
        raise Invalid(f"单位不存在或已停用：{code}", f"Unknown or inactive unit '{code}'", code="unit.not_found")
    return unit


def create(
    session: Session,
    *,
    name: str,
    unit_code: str,
    role: str = Role.AGENT.value,
    scopes: list[str],
    system: str | None = None,
    rate_per_minute: int = 120,
    burst: int = 60,
    open311_deferred: bool = False,
    now: datetime,
    by: str,
) -> tuple[ApiKey, str]:
    """A new key and its clear text, which is shown this once and never again."""
    _validate(role, scopes, rate_per_minute, burst)
    unit = _unit(session, unit_code)
    prefix = secrets.token_hex(4)
    while repository.key_by_prefix(session, prefix) is not None:  # pragma: no cover - 1 in 4 billion
        prefix = secrets.token_hex(4)
    raw = _new_secret(prefix)
    key = ApiKey(
        prefix=prefix,
        secret_hash=digest(raw),
        name=name,
        system=system or None,
        unit_id=unit.id,
        role=role,
        scopes=list(dict.fromkeys(scopes)),
        rate_per_minute=rate_per_minute,
        burst=burst,
        open311_deferred=open311_deferred,
        created_at=now,
        created_by=by,
        bucket_tokens=float(burst),
        bucket_at=now,
    )
    session.add(key)
    session.flush()
    audit.record(session, at=now, actor=by, action="api_key.create", target_type="api_key", target_id=key.id,
                 detail={"name": name, "prefix": prefix, "unit": unit.code, "role": role, "scopes": key.scopes})
    return key, raw


def require(session: Session, key_id: int) -> ApiKey:
    key = repository.key(session, key_id)
    if key is None:
        raise NotFound(f"接口密钥不存在：{key_id}", f"No API key {key_id}", code="api_key.not_found")
    return key


def update(session: Session, key_id: int, changes: dict[str, Any], *, now: datetime, by: str) -> ApiKey:
    key = require(session, key_id)
    merged = {
        "role": changes.get("role", key.role),
        "scopes": changes.get("scopes", key.scopes),
        "rate_per_minute": changes.get("rate_per_minute", key.rate_per_minute),
        "burst": changes.get("burst", key.burst),
    }
    _validate(merged["role"], list(merged["scopes"]), merged["rate_per_minute"], merged["burst"])
    for field in ("name", "role", "scopes", "system", "rate_per_minute", "burst", "open311_deferred"):
        if field in changes and changes[field] is not None:
            setattr(key, field, changes[field])
    if changes.get("unit"):
        key.unit_id = _unit(session, changes["unit"]).id
    audit.record(session, at=now, actor=by, action="api_key.update", target_type="api_key", target_id=key.id,
                 detail={"changed": sorted(changes)})
    return key


def rotate(session: Session, key_id: int, *, grace_minutes: int, now: datetime, by: str) -> tuple[ApiKey, str]:
    """A new secret for the same key (same prefix, scopes, subscriptions). The old secret keeps
    working for ``grace_minutes`` (0 = refused at once) so a client can switch without downtime."""
    key = require(session, key_id)
    if key.revoked_at is not None:
        raise DomainError("已吊销的密钥不能轮换", "A revoked key cannot be rotated", code="api_key.revoked", status_code=409)
    raw = _new_secret(key.prefix)
    key.previous_hash = key.secret_hash if grace_minutes > 0 else None
    key.previous_valid_until = now + timedelta(minutes=grace_minutes) if grace_minutes > 0 else None
    key.secret_hash = digest(raw)
    key.rotated_at = now
    audit.record(session, at=now, actor=by, action="api_key.rotate", target_type="api_key", target_id=key.id,
                 detail={"grace_minutes": grace_minutes})
    return key, raw


def revoke(session: Session, key_id: int, *, now: datetime, by: str) -> ApiKey:
    key = require(session, key_id)
    if key.revoked_at is None:
        key.revoked_at = now
        key.previous_hash = None
        audit.record(session, at=now, actor=by, action="api_key.revoke", target_type="api_key", target_id=key.id)
    return key


def to_dict(key: ApiKey, unit: Unit | None, tz: Any) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.astimezone(tz).isoformat() if value else None

    return {
        "id": key.id,
        "prefix": key.prefix,
        "name": key.name,
        "system": key.system,
        "unit": unit.code if unit else None,
        "role": key.role,
        "scopes": list(key.scopes or []),
        "rate_per_minute": key.rate_per_minute,
        "burst": key.burst,
        "open311_deferred": key.open311_deferred,
        "created_at": iso(key.created_at),
        "created_by": key.created_by,
        "rotated_at": iso(key.rotated_at),
        "revoked_at": iso(key.revoked_at),
        "last_used_at": iso(key.last_used_at),
        "active": key.revoked_at is None,
    }


# --- checking a presented key ------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """The outcome of presenting a key: a principal, or the error to raise *after* commit (so
    the audit entry and the bucket update of a refused call are kept)."""

    principal: Principal | None
    key: ApiKey | None
    error: DomainError | None
    retry_after: int | None = None


def principal_of(key: ApiKey, unit: Unit) -> Principal:
    return Principal(
        user_id=None,
        username=f"key:{key.prefix}",
        display_name=f"{key.name}（接口）",
        role=Role(key.role),
        unit_id=unit.id,
        unit_code=unit.code,
        unit_path=unit.path,
        api_key_id=key.id,
    )


def _matches(key: ApiKey, raw: str, now: datetime) -> bool:
    presented = digest(raw)
    if hmac.compare_digest(presented, key.secret_hash):
        return True
    return bool(
        key.previous_hash
        and key.previous_valid_until is not None
        and now < key.previous_valid_until
        and hmac.compare_digest(presented, key.previous_hash)
    )


def _take_token(key: ApiKey, now: datetime) -> int | None:
    """Spend one token; None when allowed, else the seconds to wait."""
    rate = key.rate_per_minute / 60.0
    last = key.bucket_at or now
    elapsed = max(0.0, (now - last).total_seconds())
    tokens = min(float(key.burst), (key.bucket_tokens if key.bucket_at else float(key.burst)) + elapsed * rate)
    key.bucket_at = now
    if tokens < 1.0:
        key.bucket_tokens = tokens
        return max(1, math.ceil((1.0 - tokens) / rate))
    key.bucket_tokens = tokens - 1.0
    return None


def check(
    session: Session, raw: str, *, scope: str, now: datetime, method: str, path: str, client: str | None = None
) -> Check:
    """Verify ``raw`` for ``scope``, spend a rate-limit token and audit the call. Never raises
    for a bad key: the caller commits, then raises ``Check.error``."""
    detail: dict[str, Any] = {"method": method, "path": path[:300], "scope": scope, "client": client}
    prefix = split(raw.strip())
    key = repository.key_by_prefix(session, prefix, for_update=True) if prefix else None
    if key is None or not _matches(key, raw.strip(), now):
        audit.record(session, at=now, actor=f"key:{(prefix or '?')[:16]}", action="api.denied", target_type="api_key",
                     target_id=key.id if key else (prefix or "?")[:100], detail=detail | {"reason": "invalid"})
        return Check(None, None, Unauthorized("接口密钥无效", "Invalid API key", code="api_key.invalid"))
    actor = f"key:{key.prefix}"
    if key.revoked_at is not None:
        audit.record(session, at=now, actor=actor, action="api.denied", target_type="api_key", target_id=key.id,
                     detail=detail | {"reason": "revoked"})
        return Check(None, key, Unauthorized("接口密钥已吊销", "This API key has been revoked", code="api_key.revoked"))
    if scope not in key.scopes and "*" not in key.scopes:
        audit.record(session, at=now, actor=actor, action="api.denied", target_type="api_key", target_id=key.id,
                     detail=detail | {"reason": "scope"})
        return Check(None, key, Forbidden(f"该密钥无「{scope}」权限", f"This key lacks the '{scope}' scope",
                                          code="api_key.scope_forbidden"))
    key.last_used_at = now
    wait = _take_token(key, now)
    if wait is not None:
        audit.record(session, at=now, actor=actor, action="api.rate_limited", target_type="api_key", target_id=key.id,
                     detail=detail | {"retry_after": wait})
        error = RateLimited("请求过于频繁，请稍后再试", f"Rate limit exceeded; retry in {wait}s",
                            code="api_key.rate_limited", details={"retry_after": wait})
        return Check(None, key, error, retry_after=wait)
    unit = units_repository.get(session, key.unit_id)
    assert unit is not None
    audit.record(session, at=now, actor=actor, action="api.call", target_type="api_key", target_id=key.id, detail=detail)
    return Check(principal_of(key, unit), key, None)
