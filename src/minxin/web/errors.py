"""Errors as pages: a browser gets a Chinese page (or the login redirect), never JSON or a
traceback. Registered in ``minxin.api.errors.html_renderers``; the API's handlers call it
only for non-API paths whose request accepts ``text/html``.

Also turns validation and domain errors into per-field Chinese messages for forms.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from minxin.api import errors as api_errors
from minxin.errors import DomainError
from minxin.web import render

TITLES = {
    400: "请求有误",
    401: "请先登录",
    403: "无权访问",
    404: "页面不存在",
    405: "不支持的请求",
    409: "操作冲突",
    413: "文件过大",
    422: "提交的内容有误",
    429: "请求过于频繁",
    500: "系统内部错误",
    503: "系统繁忙",
}


def html_error(request: Request, status: int, body: dict[str, Any]) -> Response:
    """The HTML renderer: 401 → the login page (coming back here after), else an error page."""
    error = body.get("error", {})
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        flash = None if error.get("code") == "web.login_required" else str(error.get("message_zh") or "请重新登录")
        next_part = f"?next={quote(target, safe='')}" if request.method == "GET" and target != "/" else ""
        return render.redirect(f"/login{next_part}", flash, "warn")
    message = str(error.get("message_zh") or TITLES.get(status, "请求有误"))
    return render.page(
        request,
        "error.html",
        {"status": status, "heading": TITLES.get(status, "出错了"), "message": message, "code": error.get("code", "")},
        status=status,
        title=TITLES.get(status, "出错了"),
    )


def register() -> None:
    if html_error not in api_errors.html_renderers:
        api_errors.html_renderers.insert(0, html_error)


# ---------------------------------------------------------------- form errors

#: pydantic error types → Chinese, with ``{limit}`` filled from the error's context
TYPE_ZH = {
    "missing": "必填",
    "string_too_short": "不能为空",
    "string_too_long": "内容过长（最多 {max_length} 字）",
    "too_long": "数量过多（最多 {max_length} 项）",
    "too_short": "至少需要 {min_length} 项",
    "enum": "请选择有效的选项",
    "literal_error": "请选择有效的选项",
    "bool_parsing": "请选择是或否",
    "bool_type": "请选择是或否",
    "int_parsing": "请输入整数",
    "float_parsing": "请输入数字",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "string_type": "格式不正确",
    "extra_forbidden": "不支持的字段",
}

#: domain error codes → the form field they are about (others show at the top of the form)
CODE_FIELDS = {
    "order.photo_required": "photos",
    "attachment.not_found": "photos",
    "attachment.unsupported_type": "photos",
    "attachment.too_large": "photos",
    "attachment.empty": "photos",
    "unit.not_found": "unit",
    "order.bad_dispatch_target": "unit",
    "order.same_unit": "unit",
    "order.bad_co_unit": "units",
    "order.merge_target_not_found": "into",
    "order.merge_self": "into",
    "order.merge_target_final": "into",
    "category.not_found": "category",
    "user.bad_username": "username",
    "user.exists": "username",
    "user.weak_password": "password",
    "user.unknown_role": "role",
    "unit.bad_code": "code",
    "unit.exists": "code",
    "category.bad_code": "code",
    "category.exists": "code",
    "category.bad_name": "name",
    "category.too_deep": "parent",
    "unit.bad_kind": "kind",
    "category.bad_file": "file",
}

FORM = "__form__"


def _zh(message: str) -> str:
    """Our validators write "中文 / English"; pydantic prefixes "Value error, "."""
    message = message.removeprefix("Value error, ")
    return message.split(" / ")[0].strip()


def from_validation(errors: list[dict[str, Any]], aliases: dict[str, str] | None = None) -> dict[str, str]:
    """Pydantic errors (``exc.errors()`` or the service's ``details.errors``) → {field: 中文}."""
    out: dict[str, str] = {}
    for err in errors:
        loc = [str(x) for x in err.get("loc", ()) if not str(x).isdigit()]
        field = ".".join(loc) if loc else FORM
        field = (aliases or {}).get(field, field)
        template = TYPE_ZH.get(str(err.get("type", "")))
        if template:
            try:
                text = template.format(**(err.get("ctx") or {}))
            except (KeyError, IndexError):
                text = template.split("（")[0]
        else:
            text = _zh(str(err.get("msg", "格式不正确")))
        out.setdefault(field, text)
    return out


def from_pydantic(exc: ValidationError, aliases: dict[str, str] | None = None) -> dict[str, str]:
    return from_validation(exc.errors(include_url=False), aliases)  # type: ignore[arg-type]


def from_domain(exc: DomainError, aliases: dict[str, str] | None = None, field_map: dict[str, str] | None = None) -> dict[str, str]:
    """A domain error → {field: 中文}: its validation details, else the field it names
    (``details["field"]``), else the field its code is about, else the whole form."""
    details = exc.details.get("errors") if isinstance(exc.details, dict) else None
    if details:
        fields = from_validation(details, aliases)
        if fields:
            return fields
    named = exc.details.get("field") if isinstance(exc.details, dict) else None
    if isinstance(named, str) and named:
        return {(aliases or {}).get(named, named): exc.message_zh}
    field = (field_map or {}).get(exc.code) or CODE_FIELDS.get(exc.code) or FORM
    return {field: exc.message_zh}
