"""``/admin/units`` and ``/admin/users``: the organisation (admin only).

Changes go through the domains' services and are audited like the API's; a refused change
comes back with the Chinese message next to the field of the form that sent it (the create
form, or the row being edited).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from minxin.accounts import repository as accounts_repository
from minxin.accounts import service as accounts_service
from minxin.api.deps import State
from minxin.api.state import AppState
from minxin.audit import service as audit
from minxin.core.vocabulary import ROLE_ZH, UNIT_KIND_ZH, Role
from minxin.errors import DomainError, Invalid
from minxin.units import service as units_service
from minxin.web import auth, errors, options, render

router = APIRouter(include_in_schema=False)


def admin_user(request: Request, state: AppState) -> auth.WebUser:
    user = auth.current_user(request, state)
    auth.require(Role.ADMIN)(user)
    return user


def text(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()


def checked(form: FormData, name: str) -> bool:
    return form.get(name) in ("1", "on", "true")


def parse_hours(value: str) -> list[list[str]] | None:
    """"08:30-12:00, 13:30-17:30" → [["08:30","12:00"], ["13:30","17:30"]]; empty → default."""
    if not value.strip():
        return None
    spans = []
    for part in value.replace("，", ",").split(","):
        start, sep, end = part.strip().partition("-")
        if not sep:
            raise Invalid("办公时间格式如 08:30-12:00, 13:30-17:30", "Hours like 08:30-12:00, 13:30-17:30",
                          code="unit.bad_hours")
        spans.append([start.strip(), end.strip()])
    return spans


def hours_text(hours: list[list[str]] | None) -> str:
    return ", ".join(f"{a}-{b}" for a, b in hours or [])


def _units_page(request: Request, state: AppState, user: auth.WebUser, *, edit: str = "", values: dict[str, str] | None = None,
                errs: dict[str, str] | None = None, status: int = 200) -> Response:
    with state.db.reading() as session:
        units = [units_service.to_dict(u) | {"hours": hours_text(u.business_hours), "parent_id": u.parent_id}
                 for u in options.all_units(session)]
    ctx = {"units": units, "kinds": UNIT_KIND_ZH, "edit": edit, "values": values or {}, "errors": errs or {},
           "section": "units"}
    return render.page(request, "admin/units.html", ctx, status=status, user=user, title="单位管理")


@router.get("/admin")
def admin_index(request: Request, state: State) -> Response:
    admin_user(request, state)
    return render.redirect("/admin/units")


@router.get("/admin/units")
def units_page(request: Request, state: State) -> Response:
    return _units_page(request, state, admin_user(request, state))


@router.post("/admin/units")
def create_unit(request: Request, state: State, form: auth.PostedForm) -> Response:
    user = admin_user(request, state)
    values = {k: text(form, k) for k in ("code", "name", "kind", "parent", "region_code", "contact_name",
                                         "contact_phone", "hours")}
    errs = {k: "必填" for k in ("code", "name", "kind", "parent") if not values[k]}
    if errs:
        return _units_page(request, state, user, edit="new", values=values, errs=errs, status=422)
    try:
        with state.db.unit_of_work() as session:
            unit = units_service.create_unit(
                session, code=values["code"], name=values["name"], kind=values["kind"], parent_code=values["parent"],
                region_code=values["region_code"] or None, contact_name=values["contact_name"] or None,
                contact_phone=values["contact_phone"] or None, business_hours=parse_hours(values["hours"]),
                always_open=checked(form, "always_open"),
            )
            audit.record(session, at=state.clock.now(), actor=user.principal.username, action="unit.create",
                         target_type="unit", target_id=unit.code, detail={"via": "web"})
    except DomainError as exc:
        errs = errors.from_domain(exc, field_map={"unit.bad_hours": "hours", "unit.not_found": "parent"})
        return _units_page(request, state, user, edit="new", values=values, errs=errs, status=exc.status_code)
    return render.redirect("/admin/units", f"已新增单位 {values['name']}（{values['code']}）")


@router.post("/admin/units/{code}")
def update_unit(code: str, request: Request, state: State, form: auth.PostedForm) -> Response:
    user = admin_user(request, state)
    values = {k: text(form, k) for k in ("name", "region_code", "contact_name", "contact_phone", "hours")}
    if not values["name"]:
        return _units_page(request, state, user, edit=code, values=values, errs={"name": "必填"}, status=422)
    try:
        changes: dict[str, Any] = {
            "name": values["name"],
            "region_code": values["region_code"] or None,
            "contact_name": values["contact_name"] or None,
            "contact_phone": values["contact_phone"] or None,
            "business_hours": parse_hours(values["hours"]),
            "always_open": checked(form, "always_open"),
            "active": checked(form, "active"),
        }
        with state.db.unit_of_work() as session:
            units_service.update_unit(session, code, changes)
            audit.record(session, at=state.clock.now(), actor=user.principal.username, action="unit.update",
                         target_type="unit", target_id=code, detail={"changed": sorted(changes), "via": "web"})
    except DomainError as exc:
        errs = errors.from_domain(exc, field_map={"unit.bad_hours": "hours"})
        return _units_page(request, state, user, edit=code, values=values, errs=errs, status=exc.status_code)
    return render.redirect("/admin/units", f"已保存单位 {code}")


# ---------------------------------------------------------------- users

def _users_page(request: Request, state: AppState, user: auth.WebUser, *, edit: str = "", values: dict[str, str] | None = None,
                errs: dict[str, str] | None = None, status: int = 200) -> Response:
    with state.db.reading() as session:
        users = [
            {"username": u.username, "display_name": u.display_name, "role": u.role, "unit": u.unit.code,
             "unit_name": u.unit.name, "active": u.active}
            for u in accounts_repository.list_all(session)
        ]
        units = [{"value": u.code, "label": f"{'　' * u.depth}{u.name}（{u.code}）"} for u in options.all_units(session)]
    ctx = {"users": users, "roles": ROLE_ZH, "units": units, "edit": edit, "values": values or {}, "errors": errs or {},
           "section": "users"}
    return render.page(request, "admin/users.html", ctx, status=status, user=user, title="用户管理")


@router.get("/admin/users")
def users_page(request: Request, state: State) -> Response:
    return _users_page(request, state, admin_user(request, state))


@router.post("/admin/users")
def create_user(request: Request, state: State, form: auth.PostedForm) -> Response:
    user = admin_user(request, state)
    values = {k: text(form, k) for k in ("username", "display_name", "role", "unit")}
    password = str(form.get("password") or "")
    errs = {k: "必填" for k in ("username", "role", "unit") if not values[k]}
    if not password:
        errs["password"] = "必填"
    if errs:
        return _users_page(request, state, user, edit="new", values=values, errs=errs, status=422)
    try:
        with state.db.unit_of_work() as session:
            created = accounts_service.create_user(
                session, username=values["username"], password=password, role=values["role"], unit_code=values["unit"],
                display_name=values["display_name"] or None, now=state.clock.now(),
            )
            audit.record(session, at=state.clock.now(), actor=user.principal.username, action="user.create",
                         target_type="user", target_id=created.username,
                         detail={"role": created.role, "unit": values["unit"], "via": "web"})
    except DomainError as exc:
        errs = errors.from_domain(exc, field_map={"unit.not_found": "unit"})
        return _users_page(request, state, user, edit="new", values=values, errs=errs, status=exc.status_code)
    return render.redirect("/admin/users", f"已新增用户 {values['username']}")


@router.post("/admin/users/{username}")
def update_user(username: str, request: Request, state: State, form: auth.PostedForm) -> Response:
    """Same rules as ``PATCH /api/v1/users/{username}`` (``accounts.service.update_user``)."""
    admin = admin_user(request, state)
    values = {k: text(form, k) for k in ("display_name", "role", "unit")}
    password = str(form.get("password") or "")
    active = checked(form, "active")
    try:
        with state.db.unit_of_work() as session:
            target, changed = accounts_service.update_user(
                session,
                username,
                role=values["role"] or None,
                unit_code=values["unit"] or None,
                display_name=values["display_name"] or None,
                active=active,
                password=password or None,
            )
            state.forget_principal(target.id)
            audit.record(session, at=state.clock.now(), actor=admin.principal.username, action="user.update",
                         target_type="user", target_id=username, detail={"changed": changed, "via": "web"})
    except DomainError as exc:
        errs = errors.from_domain(exc, field_map={"unit.not_found": "unit"})
        return _users_page(request, state, admin, edit=username, values=values, errs=errs, status=exc.status_code)
    return render.redirect("/admin/users", f"已保存用户 {username}")
