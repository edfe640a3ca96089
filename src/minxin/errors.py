"""Domain errors: a stable code, an HTTP status and a message in Chinese and English.

Every error a client can cause is one of these, so the API never answers bad input with a
500. The JSON shape is ``{"error": {"code", "message", "message_zh", "message_en", "details"}}``.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of all expected errors. ``code`` is stable: clients and tests rely on it."""

    status_code: int = 400
    code: str = "error"
    message_zh: str = "请求有误"
    message_en: str = "Bad request"

    def __init__(
        self,
        message_zh: str | None = None,
        message_en: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        status_code: int | None = None,
    ) -> None:
        if message_zh is not None:
            self.message_zh = message_zh
        if message_en is not None:
            self.message_en = message_en
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details or {}
        super().__init__(f"{self.code}: {self.message_en}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": f"{self.message_zh} / {self.message_en}",
                "message_zh": self.message_zh,
                "message_en": self.message_en,
                "details": self.details,
            }
        }


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    message_zh = "对象不存在或无权查看"
    message_en = "Not found"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"
    message_zh = "当前角色无权执行此操作"
    message_en = "Your role may not do this"


class Unauthorized(DomainError):
    status_code = 401
    code = "auth.unauthorized"
    message_zh = "未登录或登录已过期"
    message_en = "Not authenticated or the session has expired"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    message_zh = "操作与当前状态冲突"
    message_en = "Conflicts with the current state"


class Invalid(DomainError):
    status_code = 422
    code = "invalid"
    message_zh = "提交的内容不合法"
    message_en = "Invalid input"


class TooLarge(DomainError):
    status_code = 413
    code = "too_large"
    message_zh = "文件过大"
    message_en = "File too large"


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"
    message_zh = "请求过于频繁，请稍后再试"
    message_en = "Too many requests, slow down"
