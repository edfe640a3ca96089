"""``/admin/categories`` and the configuration owned by other domains: ``/admin/routing``
(派单规则), ``/admin/sla`` (时限策略) and ``/admin/calendar`` (工作日历, with the import of
next year's schedule). The last three read ``web.extensions`` and say "尚未启用" until the
routing and SLA domains wire their slots.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from minxin.api.deps import State
from minxin.api.state import AppState
from minxin.audit import service as audit
from minxin.categories import repository as categories_repository
from minxin.categories import service as categories_service
from minxin.errors import DomainError, Invalid, NotFound
from minxin.web import auth, errors, extensions, options, render
from minxin.web.routes.admin import admin_user, checked, text

router = APIRouter(include_in_schema=False)

MAX_IMPORT_BYTES = 5 * 1024 * 1024


def _categories_page(request: Request, state: AppState, user: auth.WebUser, *, edit: str = "",
                     values: dict[str, str] | None = None, errs: dict[str, str] | None = None, status: int = 200) -> Response:
    with state.db.reading() as session:
        rows = [categories_service.to_dict(c) | {"path": c.path} for c in categories_repository.list_all(session)]
        parents = [o for o in options.categories(session) if o["level"] < categories_service.MAX_LEVEL]
    ctx = {"rows": rows, "parents": parents, "edit": edit, "values": values or {}, "errors": errs or {},
           "section": "categories"}
    return render.page(request, "admin/categories.html", ctx, status=status, user=user, title="诉求分类")


@router.get("/admin/categories")
def categories_page(request: Request, state: State) -> Response:
    return _categories_page(request, state, admin_user(request, state))


@router.post("/admin/categories")
def create_category(request: Request, state: State, form: auth.PostedForm) -> Response:
    user = admin_user(request, state)
    values = {k: text(form, k) for k in ("code", "name", "parent")}
    errs = {k: "必填" for k in ("code", "name") if not values[k]}
    if errs:
        return _categories_page(request, state, user, edit="new", values=values, errs=errs, status=422)
    try:
        with state.db.unit_of_work() as session:
            categories_service.create_category(session, code=values["code"], name=values["name"],
                                               parent_code=values["parent"] or None,
                                               requires_photo=checked(form, "requires_photo"))
            audit.record(session, at=state.clock.now(), actor=user.principal.username, action="category.create",
                         target_type="category", target_id=values["code"], detail={"via": "web"})
    except DomainError as exc:
        errs = errors.from_domain(exc, field_map={"category.not_found": "parent"})
        return _categories_page(request, state, user, edit="new", values=values, errs=errs, status=exc.status_code)
    return render.redirect("/admin/categories", f"已新增类别 {values['name']}")


@router.post("/admin/categories/import")
def import_categories(request: Request, state: State, form: auth.PostedForm) -> Response:
    user = admin_user(request, state)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _categories_page(request, state, user, edit="import", errs={"file": "请选择 YAML 或 CSV 文件"}, status=422)
    try:
        data = upload.file.read(MAX_IMPORT_BYTES + 1)
        if len(data) > MAX_IMPORT_BYTES:
            raise Invalid("文件超过 5 MB", "File over 5 MB", code="category.bad_file")
        with tempfile.NamedTemporaryFile(suffix=Path(upload.filename).suffix.lower()) as tmp:
            tmp.write(data)
            tmp.flush()
            nodes = categories_service.parse_tree_file(Path(tmp.name))
        with state.db.unit_of_work() as session:
            created = categories_service.import_tree(session, nodes)
            audit.record(session, at=state.clock.now(), actor=user.principal.username, action="category.import",
                         target_type="category", target_id=upload.filename, detail={"created": created, "via": "web"})
    except DomainError as exc:
        return _categories_page(request, state, user, edit="import", errs=errors.from_domain(exc, field_map={}),
                                status=exc.status_code)
    except (UnicodeDecodeError, ValueError) as exc:
        msg = f"文件无法解析：{type(exc).__name__}"
        return _categories_page(request, state, user, edit="import", errs={"file": msg}, status=422)
    return render.redirect("/admin/categories", f"已导入 {created} 个新类别")


@router.post("/admin/categories/{code}")
def update_category(code: str, request: Request, state: State, form: auth.PostedForm) -> Response:
    user = admin_user(request, state)
    values = {"name": text(form, "name")}
    if not values["name"]:
        return _categories_page(request, state, user, edit=code, values=values, errs={"name": "必填"}, status=422)
    changes = {"name": values["name"], "requires_photo": checked(form, "requires_photo"), "active": checked(form, "active")}
    try:
        with state.db.unit_of_work() as session:
            categories_service.update_category(session, code, changes)
            audit.record(session, at=state.clock.now(), actor=user.principal.username, action="category.update",
                         target_type="category", target_id=code, detail={"changed": sorted(changes), "via": "web"})
    except DomainError as exc:
        return _categories_page(request, state, user, edit=code, values=values, errs=errors.from_domain(exc),
                                status=exc.status_code)
    return render.redirect("/admin/categories", f"已保存类别 {code}")


# ------------------------------------------------ sections owned by other domains

SECTIONS = {
    "routing": ("派单规则", "routing_rules", "按「类别 × 区域 → 单位」自动建议承办单位，并说明是哪条规则选中的。"),
    "sla": ("时限策略", "sla_policies", "按类别、诉求类型、紧急程度设定派单、签收、办理、回访时限（自然时间或工作日）。"),
    "calendar": ("工作日历", "calendar_years", "法定节假日与调休上班日；每年11月公布次年安排后在此导入。"),
}


def _section_page(request: Request, state: AppState, user: auth.WebUser, key: str, *, errs: dict[str, str] | None = None,
                  status: int = 200) -> Response:
    title, slot, about = SECTIONS[key]
    provider = getattr(extensions, slot)
    table = None
    if provider is not None:
        with state.db.reading() as session:
            table = provider(session)
    ctx = {"section": key, "heading": title, "about": about, "table": table, "errors": errs or {},
           "can_import": key == "calendar" and extensions.calendar_import is not None,
           "year": state.clock.now().astimezone(state.tz).year + 1}
    return render.page(request, "admin/section.html", ctx, status=status, user=user, title=title)


@router.get("/admin/{key}")
def section_page(key: str, request: Request, state: State) -> Response:
    user = admin_user(request, state)
    if key not in SECTIONS:
        raise NotFound("页面不存在", f"No admin section '{key}'", code="web.not_found")
    return _section_page(request, state, user, key)


@router.post("/admin/calendar/import")
def import_calendar(request: Request, state: State, form: auth.PostedForm) -> Response:
    user = admin_user(request, state)
    importer = extensions.calendar_import
    if importer is None:
        return _section_page(request, state, user, "calendar", errs={"file": "工作日历尚未启用"}, status=409)
    year_text, upload = text(form, "year"), form.get("file")
    errs = {}
    if not year_text.isdigit() or not 2000 <= int(year_text) <= 2100:
        errs["year"] = "请输入年份，如 2027"
    if not isinstance(upload, UploadFile) or not upload.filename:
        errs["file"] = "请选择日历文件"
    if errs:
        return _section_page(request, state, user, "calendar", errs=errs, status=422)
    assert isinstance(upload, UploadFile)
    try:
        with state.db.unit_of_work() as session:
            message = importer(session, int(year_text), upload.filename or "", upload.file.read(MAX_IMPORT_BYTES),
                               user.principal, state.clock.now())
    except DomainError as exc:
        return _section_page(request, state, user, "calendar", errs=errors.from_domain(exc, field_map={exc.code: "file"}),
                             status=exc.status_code)
    return render.redirect("/admin/calendar", message or f"已导入 {year_text} 年工作日历")
