"""One place that turns exceptions into JSON errors with a stable code and two languages."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from minxin.errors import Conflict, DomainError

log = logging.getLogger("minxin.api")

#: HTML pages register a renderer so the web console shows errors as pages, not JSON
html_renderers: list[Any] = []


def _body(code: str, zh: str, en: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": f"{zh} / {en}", "message_zh": zh, "message_en": en, "details": details or {}}}


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/open311/")) and "text/html" in request.headers.get("accept", "")


def render(request: Request, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    if html_renderers and _wants_html(request):
        return html_renderers[0](request, status, body)
    return JSONResponse(status_code=status, content=jsonable_encoder(body), headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Any:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return render(request, exc.status_code, exc.to_dict(), headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Any:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()
        ]
        return render(request, 422, _body("invalid", "提交的内容不完整或格式错误", "Invalid request", {"errors": errors}))

    @app.exception_handler(StaleDataError)
    async def stale(request: Request, exc: StaleDataError) -> Any:
        err = Conflict("工单已被他人修改，请刷新后重试", "Changed by someone else; reload and retry", code="order.version_conflict")
        return render(request, 409, err.to_dict())

    @app.exception_handler(IntegrityError)
    async def integrity(request: Request, exc: IntegrityError) -> Any:
        log.info("integrity conflict: %s", exc.orig)
        return render(request, 409, _body("conflict", "与已有数据冲突，请刷新后重试", "Conflicts with existing data; retry"))

    @app.exception_handler(OperationalError)
    async def operational(request: Request, exc: OperationalError) -> Any:
        log.warning("database unavailable: %s", exc.orig)
        return render(request, 503, _body("db.unavailable", "数据库繁忙，请稍后重试", "Database busy, retry shortly"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        codes = {
            400: ("invalid_body", "请求内容无法解析（需要合法的 JSON 或表单）", "The request body could not be parsed"),
            404: ("not_found", "页面或接口不存在", "Not found"),
            405: ("method_not_allowed", "不支持的请求方法", "Method not allowed"),
        }
        code, zh, en = codes.get(exc.status_code, ("http_error", "请求错误", str(exc.detail)))
        return render(request, exc.status_code, _body(code, zh, en))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Any:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return render(request, 500, _body("internal", "系统内部错误，已记录", "Internal error (logged)"))
