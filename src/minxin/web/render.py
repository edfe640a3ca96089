"""Rendering pages: one Jinja2 environment, the layout's context, security headers, flashes.

Every page goes through ``page()`` so every page gets the same Content-Security-Policy, which
allows only this origin: a template that referenced a CDN would simply fail to load, in tests
and in an intranet alike.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from minxin import __version__
from minxin.core.vocabulary import (
    ACTION_ZH,
    APPEAL_TYPE_ZH,
    CHANNEL_ZH,
    ROLE_ZH,
    SATISFACTION_ZH,
    STATUS_ZH,
    UNIT_KIND_ZH,
    URGENCY_ZH,
)
from minxin.web import STATIC_DIR, TEMPLATES_DIR
from minxin.web.auth import WebUser
from minxin.web.nav import nav_for

FLASH_COOKIE = "minxin_flash"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob:; media-src 'self' blob:; script-src 'self'; "
        "style-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@lru_cache(maxsize=256)
def asset(path: str) -> str:
    """``/static/<path>?v=<content hash>``: cacheable forever, refreshed when the file changes."""
    file = STATIC_DIR / path
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:10] if file.is_file() else __version__
    return f"/static/{path}?v={digest}"


def _parse(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def fmt_dt(value: str | datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    parsed = _parse(value)
    return parsed.strftime(fmt) if parsed else ""


def fmt_size(size: int | None) -> str:
    if not size:
        return "0 B"
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}"
        size = size / 1024  # type: ignore[assignment]
    return f"{size:.1f} GB"


def _label(table: dict[Any, str]) -> Any:
    lookup = {str(k): v for k, v in table.items()}
    return lambda value: lookup.get(str(value), str(value) if value is not None else "")


env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=StrictUndefined,
)
env.filters.update(
    dt=fmt_dt,
    size=fmt_size,
    status_zh=_label(STATUS_ZH),
    action_zh=_label(ACTION_ZH),
    role_zh=_label(ROLE_ZH),
    channel_zh=_label(CHANNEL_ZH),
    appeal_zh=_label(APPEAL_TYPE_ZH),
    urgency_zh=_label(URGENCY_ZH),
    satisfaction_zh=_label(SATISFACTION_ZH),
    unit_kind_zh=_label(UNIT_KIND_ZH),
    urlq=lambda v: quote(str(v), safe=""),
)
env.globals.update(asset=asset, version=__version__)


def _pop_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()).decode())
        href = str(data.get("href") or "")
        return {
            "kind": str(data.get("kind", "ok")),
            "text": str(data.get("text", ""))[:2000],
            "href": href if href.startswith("/") and not href.startswith("//") else "",
        }
    except (ValueError, UnicodeDecodeError):
        return None


def render_html(template: str, ctx: dict[str, Any]) -> str:
    return env.get_template(template).render(ctx)


def page(
    request: Request,
    template: str,
    ctx: dict[str, Any] | None = None,
    *,
    status: int = 200,
    user: WebUser | None = None,
    title: str = "",
) -> HTMLResponse:
    """Render ``template`` inside the layout with the user's navigation and any flash message."""
    user = user or getattr(request.state, "web_user", None)
    flash = _pop_flash(request)
    context: dict[str, Any] = {
        "request": request,
        "path": request.url.path,
        "user": user,
        "nav": nav_for(user, request.url.path) if user else [],
        "flash": flash,
        "title": title,
        "csrf": user.csrf if user else "",
    }
    context.update(ctx or {})
    response = HTMLResponse(render_html(template, context), status_code=status, headers=SECURITY_HEADERS)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(url: str, flash: str | None = None, kind: str = "ok", href: str = "") -> RedirectResponse:
    """303 to ``url`` (POST → redirect → GET), optionally carrying a one-time message."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        text = flash if len(flash) <= 600 else flash[:600] + "…"
        payload = json.dumps({"kind": kind, "text": text, "href": href}, ensure_ascii=False)
        value = base64.urlsafe_b64encode(payload.encode()).decode()
        response.set_cookie(FLASH_COOKIE, value, max_age=60, httponly=True, samesite="lax", path="/")
    return response
