"""``/orders/<number>``: the whole order, and a form for each action this user may take now.

``POST /orders/<number>/actions/<action>`` stores uploaded photos/recordings and runs the
action in one unit of work: if the action is refused, the uploads' rows roll back with it and
the page comes back with the error next to the field (the blobs are content-addressed, so a
retry stores nothing twice).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from minxin.api.deps import State
from minxin.api.state import AppState
from minxin.attachments import service as attachments_service
from minxin.core.vocabulary import ACTION_ZH, STATUS_ZH, Action, Status
from minxin.errors import DomainError, Invalid, NotFound
from minxin.web import actions, auth, errors, order_view, render
from minxin.workorders import service

router = APIRouter(include_in_schema=False)

CHUNK = 256 * 1024
VIEWS = {"order": "order.html", "callback": "callback.html"}


def show(request: Request, state: AppState, user: auth.WebUser, number: str, *, view: str = "order",
         open_action: str = "", values: dict[str, str] | None = None, errs: dict[str, str] | None = None,
         status: int = 200) -> Response:
    with state.db.reading() as session:
        ctx = order_view.build(session, state, user, number)
    ctx |= {"open_action": open_action, "values": values or {}, "errors": errs or {}, "view": view}
    if view == "callback":
        name, attempts = user.principal.display_name, state.settings.callback_max_attempts
        ctx["script"] = order_view.callback_script(ctx["order"], name, attempts)
    title = f"{'回访' if view == 'callback' else '工单'} {number}"
    return render.page(request, VIEWS.get(view, "order.html"), ctx, status=status, user=user, title=title)


@router.get("/orders/{number}")
def order_page(number: str, request: Request, state: State) -> Response:
    user = auth.current_user(request, state)
    return show(request, state, user, number)


def _chunks(upload: UploadFile) -> Iterator[bytes]:
    upload.file.seek(0)
    while chunk := upload.file.read(CHUNK):
        yield chunk


def _files(form: FormData, name: str) -> list[UploadFile]:
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename and (f.size or 0) != 0]


def store_uploads(session: Session, state: AppState, user: auth.WebUser, spec: actions.ActionForm,
                  form: FormData) -> dict[str, list[str]]:
    """Store the action's files; photos must be images and recordings audio (by content)."""
    out: dict[str, list[str]] = {}
    for field in spec.fields:
        if field.kind not in ("photos", "recording"):
            continue
        ids = []
        for upload in _files(form, field.name)[:20]:
            stored = attachments_service.store(
                session,
                chunks=_chunks(upload),
                original_name=upload.filename,
                actor=user.principal,
                now=state.clock.now(),
                root=state.settings.attachments_dir,
                max_bytes=state.settings.max_upload_bytes,
            )
            wanted = "image" if field.kind == "photos" else "audio"
            if stored.kind != wanted:
                what = "照片（JPEG/PNG/WebP）" if wanted == "image" else "录音（MP3/WAV/AMR/M4A）"
                raise Invalid(f"「{upload.filename}」不是{what}", f"{upload.filename} is not {wanted}",
                              code=f"web.not_{wanted}", details={"field": field.name})
            ids.append(stored.id)
        out[field.name] = ids
    return out


def _field_map(spec: actions.ActionForm) -> dict[str, str]:
    file_field = next((f.name for f in spec.fields if f.kind in ("photos", "recording")), "__form__")
    codes = ("attachment.not_found", "attachment.unsupported_type", "attachment.too_large", "attachment.empty",
             "web.not_image", "web.not_audio", "order.photo_required")
    return dict.fromkeys(codes, file_field)


@router.post("/orders/{number}/actions/{action}")
def order_action(number: str, action: str, request: Request, state: State, form: auth.PostedForm) -> Response:
    user = auth.current_user(request, state)
    spec = actions.FORMS.get(action)
    if spec is None:
        raise NotFound(f"未知操作：{action}", f"Unknown action '{action}'", code="order.unknown_action")
    view = str(form.get("view") or "order")
    view = view if view in VIEWS else "order"
    values = {k: str(v) for k, v in form.multi_items() if isinstance(v, str) and k not in ("csrf",)}
    try:
        with state.db.unit_of_work() as session:
            uploads = store_uploads(session, state, user, spec, form)
            body = actions.body_from_form(action, form, uploads)
            order = service.act(session, number, action, body, actor=user.principal, now=state.clock.now(),
                                settings=state.order_settings)
            status = order.status
    except DomainError as exc:
        if exc.status_code == 404 and exc.code in ("order.not_found",):
            raise
        errs = errors.from_domain(exc, actions.ALIASES, _field_map(spec))
        return show(request, state, user, number, view=view, open_action=action, values=values, errs=errs,
                    status=exc.status_code)
    label = actions.label_for(action, str(form.get("from_status") or ""), user.role)
    message = _done_message(action, label, status, body)
    default = "/callbacks" if view == "callback" and action == "callback" else f"/orders/{number}"
    target = auth.safe_next(str(form.get("next") or ""), default)
    return render.redirect(target, message, href=f"/orders/{number}" if target != f"/orders/{number}" else "")


def _done_message(action: str, label: str, status: str, body: dict[str, Any]) -> str:
    if label == action:
        label = ACTION_ZH[Action(action)]
    text = "已记录未接通" if action == "callback" and body.get("reachable") is False else f"已{label}"
    return f"{text}，工单状态：{STATUS_ZH[Status(status)]}"
