"""Log in and log out through forms. The session cookie holds the API's own access token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from minxin.accounts import service as accounts_service
from minxin.accounts import tokens
from minxin.api.deps import State
from minxin.audit import service as audit
from minxin.errors import Forbidden, Unauthorized
from minxin.web import auth, render

router = APIRouter(include_in_schema=False)

LOGIN_EXPIRED = "登录页已过期（或浏览器未启用 Cookie），请重新输入后登录"


def _login_page(request: Request, *, next_url: str, username: str = "", errors: dict[str, str] | None = None,
                status: int = 200, fresh_token: bool = False) -> Response:
    token = (None if fresh_token else request.cookies.get(auth.LOGIN_CSRF_COOKIE)) or auth.new_login_token()
    response = render.page(
        request,
        "login.html",
        {"login_csrf": token, "next_url": next_url, "username": username, "errors": errors or {}},
        status=status,
        title="登录",
    )
    auth.set_login_token(response, request, token)
    return response


@router.get("/login")
def login_page(request: Request, state: State, next: str | None = None) -> Response:
    if auth.session_user(request, state) is not None:
        return render.redirect(auth.safe_next(next))
    return _login_page(request, next_url=auth.safe_next(next))


async def _login_form(request: Request) -> FormData | Forbidden:
    """The posted login form, or the refusal of its Origin / double-submit check."""
    try:
        return await auth.login_form(request)
    except Forbidden as exc:
        return exc


@router.post("/login")
def login(request: Request, state: State, form: Annotated[FormData | Forbidden, Depends(_login_form)]) -> Response:
    if isinstance(form, Forbidden):  # e.g. the page sat open past the token's hour: ask again, on the page
        return _login_page(request, next_url="/", errors={"__form__": LOGIN_EXPIRED if form.code == "web.csrf" else form.message_zh}, status=403,
                           fresh_token=True)
    username = str(form.get("username") or "").strip()[:64]
    password = str(form.get("password") or "")[:200]
    next_url = auth.safe_next(str(form.get("next") or ""))
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = "请输入用户名"
    if not password:
        errors["password"] = "请输入密码"
    if errors:
        return _login_page(request, next_url=next_url, username=username, errors=errors, status=422)
    now = state.clock.now()
    try:
        with state.db.unit_of_work() as session:
            user = accounts_service.authenticate(session, username, password)
            audit.record(session, at=now, actor=user.username, action="auth.login", target_type="user",
                         target_id=user.id, detail={"via": "web"})
            token = tokens.issue(secret=state.secret_key, user_id=user.id, token_version=user.token_version,
                                 now=now, ttl_minutes=state.settings.token_ttl_minutes)
    except Unauthorized as exc:
        with state.db.unit_of_work() as session:
            audit.record(session, at=now, actor=username, action="auth.login_failed", target_type="user",
                         target_id=username, detail={"via": "web"})
        return _login_page(request, next_url=next_url, username=username, errors={"password": exc.message_zh}, status=401)
    response = render.redirect(next_url)
    auth.set_session(response, request, token, state.settings.token_ttl_minutes * 60)
    return response


@router.post("/logout")
def logout(_form: auth.PostedForm) -> Response:
    response = render.redirect("/login", "已退出登录")
    auth.clear_session(response)
    return response
