"""Sessions and CSRF for the console.

Design (why it is safe without server-side session storage):

* the session cookie ``minxin_session`` holds the same signed access token the API issues
  (JWT with the user's ``token_version``), so disabling a user or changing their role revokes
  console sessions exactly as it revokes API tokens. The cookie is HttpOnly, SameSite=Lax,
  Secure under HTTPS, and lives as long as the token;
* every POST carries a CSRF token: ``HMAC(secret, "csrf:" + session token)``. It is bound to the
  session, needs no storage, and a cross-site page can neither read nor compute it. Forms send
  it as the ``csrf`` field, scripts as the ``X-CSRF-Token`` header. A POST whose ``Origin``
  names another host is refused as well;
* the login form, which has no session yet, uses a double-submit token: a random value in a
  SameSite=Strict cookie that the form must repeat;
* the JSON API accepts the session cookie too (``cookie_authenticator``) so ``<img>`` tags and
  the console's ``fetch()`` calls work, but for anything but GET/HEAD only with the CSRF header.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from minxin.accounts import service as accounts_service
from minxin.accounts import tokens
from minxin.accounts.principal import Principal
from minxin.api import deps
from minxin.api.deps import State
from minxin.api.state import AppState
from minxin.core.vocabulary import ROLE_ZH, Role
from minxin.errors import DomainError, Forbidden, Unauthorized

SESSION_COOKIE = "minxin_session"
LOGIN_CSRF_COOKIE = "minxin_login_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class WebUser:
    """The logged-in person as pages see them."""

    principal: Principal
    csrf: str

    @property
    def role(self) -> Role:
        return self.principal.role

    @property
    def role_zh(self) -> str:
        return ROLE_ZH[self.principal.role]

    def has(self, *roles: Role) -> bool:
        return self.principal.role in roles


class LoginRequired(Unauthorized):
    """Raised by page dependencies; the HTML renderer turns it into a redirect to /login."""

    code = "web.login_required"
    message_zh = "请先登录"
    message_en = "Please log in"


def csrf_for(secret: str, session_token: str) -> str:
    return hmac.new(secret.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()[:40]


def _principal_from_token(state: AppState, token: str) -> Principal | None:
    try:
        claims = tokens.decode(token, secret=state.secret_key)
        user_id, version = int(claims["sub"]), int(claims.get("ver", 0))
        with state.db.reading() as session:
            return accounts_service.load_principal(session, user_id, version)
    except (DomainError, KeyError, ValueError, TypeError):
        return None


def session_user(request: Request, state: AppState) -> WebUser | None:
    """The user of this request's session cookie, or None (absent, expired, revoked)."""
    cached = getattr(request.state, "web_user", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    principal = _principal_from_token(state, token)
    if principal is None:
        return None
    user = WebUser(principal=principal, csrf=csrf_for(state.secret_key, token))
    request.state.web_user = user
    return user


def current_user(request: Request, state: State) -> WebUser:
    user = session_user(request, state)
    if user is None:
        raise LoginRequired()
    return user


CurrentUser = Annotated[WebUser, Depends(current_user)]


def require(*roles: Role) -> Callable[[WebUser], WebUser]:
    """A page dependency admitting only ``roles`` (403 page in Chinese otherwise)."""
    allowed = frozenset(roles)

    def check(user: CurrentUser) -> WebUser:
        if user.role not in allowed:
            raise Forbidden("当前角色无权访问此页面", "Your role may not open this page", code="web.role_forbidden")
        return user

    return check


def check_origin(request: Request) -> None:
    """Refuse a state-changing request whose Origin (or Referer) is another host."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return
    host = request.headers.get("host", "")
    if urlsplit(source).netloc != host:
        raise Forbidden("请求来源不被信任", "Cross-site request refused", code="web.bad_origin")


def _check_csrf(sent: str | None, expected: str) -> None:
    if not sent or not hmac.compare_digest(str(sent), expected):
        raise Forbidden("页面已过期，请刷新后重试", "Missing or stale form token; reload the page", code="web.csrf")


async def posted_form(request: Request, user: CurrentUser) -> AsyncIterator[FormData]:
    """The POSTed form of a logged-in user, after the Origin and CSRF checks; uploaded files'
    temporary storage is released once the route is done with them."""
    check_origin(request)
    form = await request.form()
    try:
        _check_csrf(form.get("csrf") or request.headers.get("x-csrf-token"), user.csrf)  # type: ignore[arg-type]
        yield form
    finally:
        await form.close()


PostedForm = Annotated[FormData, Depends(posted_form)]


async def login_form(request: Request) -> FormData:
    """The login POST, after the Origin check and the double-submit token."""
    check_origin(request)
    form = await request.form()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not expected:
        raise Forbidden("请启用浏览器 Cookie 后刷新登录页", "Enable cookies and reload", code="web.csrf")
    _check_csrf(form.get("csrf"), expected)  # type: ignore[arg-type]
    return form


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def set_session(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")


def set_login_token(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        value,
        max_age=8 * 3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def cookie_authenticator(request: Request, state: AppState) -> Principal | None:
    """Lets the JSON API accept the console's session cookie (see the module docstring)."""
    if request.headers.get("authorization"):
        return None
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(sent, csrf_for(state.secret_key, token)):
            return None
    return _principal_from_token(state, token)


def register() -> None:
    if cookie_authenticator not in deps.authenticators:
        deps.authenticators.append(cookie_authenticator)


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go to after login; never another site (``//host`` or ``http:``)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value
