"""``/intake``: the agent's form, built for speed on the phone.

One submit registers the appeal and, in the same unit of work, optionally dispatches it
(Alt+D), answers it directly (consultations, Alt+A) or merges it into an earlier order; if
the follow-up is refused, nothing is registered and the error is shown next to its field.
A per-form idempotency key makes a double submit land on the same order.
Live suggestions come from ``POST /api/v1/intake/analyze`` (static/js/intake.js) once it exists.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import Response

from minxin.api.deps import State
from minxin.core.lifecycle import Facts, possible_actions
from minxin.core.vocabulary import (
    APPEAL_TYPE_ZH,
    CHANNEL_ZH,
    DIRECT_ANSWER_TYPES,
    URGENCY_ZH,
    Action,
    AppealType,
    Channel,
    Role,
    Status,
)
from minxin.errors import DomainError
from minxin.web import auth, errors, options, render
from minxin.workorders import service
from minxin.workorders.schemas import OrderCreate

router = APIRouter(include_in_schema=False)

INTAKE_ROLES = (Role.AGENT, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
FIELDS = ("channel", "appeal_type", "title", "content", "citizen_name", "phone", "address", "category", "urgency",
          "unit", "answer", "merge_into", "confidential")
ALIASES = {"citizen.phone": "phone", "citizen.name": "citizen_name", "citizen": "phone"}
#: errors of the follow-up action → the field they are about
FOLLOW_UP_FIELDS = {
    "lifecycle.not_direct_answerable": "appeal_type",
    "order.invalid_payload": "__form__",
    "order.merge_target_not_found": "merge_into",
    "order.merge_self": "merge_into",
    "order.merge_target_final": "merge_into",
}
SUBMITS = {"register": "", "dispatch": "dispatch", "answer": "answer", "merge": "merge"}


def _abilities(role: Role) -> dict[str, bool]:
    """What this role may do right after registering, straight from the lifecycle table."""
    plain = possible_actions(Status.REGISTERED, Facts(role=role))
    consult = possible_actions(Status.REGISTERED, Facts(role=role, appeal_type=AppealType.CONSULT))
    return {
        "dispatch": Action.DISPATCH in plain,
        "answer": Action.ANSWER in consult,
        "merge": Action.MERGE in plain,
    }


def _page(request: Request, state: State, user: auth.WebUser, values: dict[str, str] | None = None,
          errs: dict[str, str] | None = None, status: int = 200) -> Response:
    values = values or {"channel": Channel.PHONE.value, "appeal_type": AppealType.COMPLAINT.value, "urgency": "normal"}
    with state.db.reading() as session:
        ctx: dict[str, Any] = {
            "values": values,
            "errors": errs or {},
            "idem": values.get("idem") or uuid.uuid4().hex,
            "channels": CHANNEL_ZH,
            "appeal_types": APPEAL_TYPE_ZH,
            "direct_types": sorted(t.value for t in DIRECT_ANSWER_TYPES),
            "urgencies": URGENCY_ZH,
            "categories": options.categories(session),
            "targets": options.dispatch_targets(session, user.principal),
            "can": _abilities(user.role),
        }
    return render.page(request, "intake.html", ctx, status=status, user=user, title="受理登记")


@router.get("/intake")
def intake_page(request: Request, state: State) -> Response:
    user = auth.current_user(request, state)
    auth.require(*INTAKE_ROLES)(user)
    return _page(request, state, user)


def _order_data(form: FormData) -> dict[str, Any]:
    name, phone = str(form.get("citizen_name") or "").strip(), str(form.get("phone") or "").strip()
    data: dict[str, Any] = {
        "channel": form.get("channel") or Channel.PHONE.value,
        "appeal_type": form.get("appeal_type") or "",
        "title": str(form.get("title") or "").strip(),
        "content": str(form.get("content") or "").strip(),
        "urgency": form.get("urgency") or "normal",
        "confidential": form.get("confidential") in ("1", "on"),
    }
    if name or phone:
        data["citizen"] = {"name": name or None, "phone": phone or None}
    for key in ("address", "category"):
        value = str(form.get(key) or "").strip()
        if value:
            data[key] = value
    return data


def _follow_up(submit: str, form: FormData) -> tuple[str | None, dict[str, Any], dict[str, str]]:
    """(action, body, errors) for the button pressed."""
    if submit == "dispatch":
        unit = str(form.get("unit") or "").strip()
        return "dispatch", {"unit": unit}, ({} if unit else {"unit": "请选择派往单位"})
    if submit == "answer":
        answer = str(form.get("answer") or "").strip()
        return "answer", {"answer": answer}, ({} if answer else {"answer": "请填写答复内容"})
    if submit == "merge":
        into = str(form.get("merge_into") or "").strip()
        return "merge", {"into": into, "note": "受理时并单"}, ({} if into else {"merge_into": "请填写要并入的工单号"})
    return None, {}, {}


@router.post("/intake")
def register(request: Request, state: State, form: auth.PostedForm) -> Response:
    user = auth.current_user(request, state)
    auth.require(*INTAKE_ROLES)(user)
    values = {k: str(form.get(k) or "") for k in FIELDS} | {"idem": str(form.get("idem") or "")}
    submit = str(form.get("submit") or "register")
    if submit not in SUBMITS:
        submit = "register"
    action, body, errs = _follow_up(submit, form)
    try:
        data = OrderCreate.model_validate(_order_data(form))
    except ValidationError as exc:
        errs = errors.from_pydantic(exc, ALIASES) | errs
    if errs:
        return _page(request, state, user, values, errs, status=422)
    idem = values["idem"][:100] or None
    try:
        with state.db.unit_of_work() as session:
            order, replayed = service.register(session, data, actor=user.principal, now=state.clock.now(),
                                               settings=state.order_settings, idempotency_key=idem)
            number = order.number
            if action and not replayed:
                service.act(session, number, action, body, actor=user.principal, now=state.clock.now(),
                            settings=state.order_settings)
    except DomainError as exc:
        field_map = FOLLOW_UP_FIELDS | {"order.invalid_payload": {"answer": "answer", "merge": "merge_into"}.get(submit, "__form__")}
        aliases = ALIASES | {"into": "merge_into"}
        return _page(request, state, user, values, errors.from_domain(exc, aliases, field_map), status=exc.status_code)
    if replayed:
        return render.redirect(f"/orders/{number}", f"该诉求已登记为工单 {number}，未重复登记", "warn")
    done = {"dispatch": "并已派单", "answer": "并已直接答复办结", "merge": f"并已并入 {body.get('into', '')}"}.get(submit, "")
    return render.redirect("/intake", f"已登记工单 {number}{done}", href=f"/orders/{number}")
