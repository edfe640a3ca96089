"""Bearer access tokens (JWT, HS256) carrying the user id and the user's token version."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import jwt

from minxin.errors import Unauthorized

ALGORITHM = "HS256"


def issue(*, secret: str, user_id: int, token_version: int, now: datetime, ttl_minutes: int) -> str:
    claims = {"sub": str(user_id), "ver": token_version, "iat": now, "exp": now + timedelta(minutes=ttl_minutes)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode(token: str, *, secret: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(token, secret, algorithms=[ALGORITHM])
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("登录已过期，请重新登录", "Token expired", code="auth.token_expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("无效的访问令牌", "Invalid token", code="auth.invalid_token") from exc
    return claims
