"""``/risk``: the risk board (live alerts with deadline badges and one-click acknowledge, the
map-free region breakdown, precision per detector, the riskiest subjects), the alert page (its
orders, its actions, the intervention form with attachments) and the subject page.

The pages call the same services as ``/api/v1/risk`` (:mod:`minxin.risk.alerts`), so scope,
roles and the alert lifecycle are enforced once. A refused action re-renders the alert page with
the error next to the form (status 409/403/422); an alert outside the user's subtree is a 404 page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from minxin.api.deps import State
from minxin.api.state import AppState
from minxin.attachments import service as attachments_service
from minxin.errors import DomainError
from minxin.risk import alert_repository as alert_repo
from minxin.risk import alerts, presenter
from minxin.risk import repository as risk_repo
from minxin.risk.board import region_breakdown
from minxin.web import auth, errors, nav, render

router = APIRouter(include_in_schema=False)

CHUNK = 256 * 1024
FILTERS = {"live": alert_repo.LIVE, "closed": ("closed",), "all": ()}
FORM_FIELDS = {"risk.invalid_payload": "text", "risk.attachment_not_found": "files", "attachment.unsupported_type": "files",
               "attachment.too_large": "files", "attachment.empty": "files"}

if all(item.href != "/risk" for item in nav.extra_items):
    nav.extra_items.append(nav.NavItem("风险预警", "/risk", nav.ALL, match="/risk", key="g r"))


def _badge(alert: dict[str, Any]) -> dict[str, Any] | None:
    """The deadline in the shape of the console's badge macro (``components/ui.html``)."""
    dl = alert["deadline"]
    if dl is None:
        return None
    return {"state": dl["state"], "due_at": dl["due_at"], "warn_at": "", "label": dl["label"], "state_zh": dl["state_zh"],
            "rule_zh": "", "running": True}


@router.get("/risk")
def board(request: Request, state: State, show: str = "live", detector: str = "") -> Response:
    user = auth.current_user(request, state)
    show = show if show in FILTERS else "live"
    now = state.clock.now()
    with state.db.reading() as session:
        flt = alert_repo.AlertFilter(states=FILTERS[show], detector=detector or None)
        rows, total = alert_repo.search(session, user.principal, flt, offset=0, limit=200)
        items = presenter.alert_dicts(session, rows, state.tz, now)
        regions = region_breakdown(session, user.principal, now)
        stats = presenter.stats(alert_repo.stats(session, user.principal, None))
        subjects = ([presenter.subject_dict(s, state.tz, now) for s in risk_repo.top_subjects(session, 15)]
                    if user.principal.sees_everything else [])
    for item in items:
        item["_badge"] = _badge(item)
        item["_can_ack"] = item["state"] == "pushed" and user.role in alerts.ACT_ROLES
    ctx = {"alerts": items, "total": total, "show": show, "detector": detector, "regions": regions, "stats": stats,
           "subjects": subjects, "detectors": alerts.DETECTOR_ZH}
    return render.page(request, "risk/board.html", ctx, user=user, title="风险预警")


def _alert_page(request: Request, state: AppState, user: auth.WebUser, alert_id: int, *, open_action: str = "",
                errs: dict[str, str] | None = None, values: dict[str, str] | None = None, status: int = 200) -> Response:
    with state.db.reading() as session:
        alert = alerts.get_visible(session, alert_id, user.principal)
        data = presenter.alert_detail(session, alert, user.principal, state.tz, state.clock.now())
    data["_badge"] = _badge(data)
    allowed = [a for a, (sources, _) in alerts.TRANSITIONS.items()
               if data["state"] in sources and user.role in (alerts.NOTE_ROLES if a == "note" else alerts.ACT_ROLES)]
    ctx = {"alert": data, "allowed": allowed, "open_action": open_action, "errors": errs or {}, "values": values or {},
           "action_zh": alerts.ACTION_ZH, "resolution_zh": alerts.RESOLUTION_ZH}
    return render.page(request, "risk/alert.html", ctx, status=status, user=user, title=f"预警 {alert_id}")


@router.get("/risk/alerts/{alert_id}")
def alert_page(alert_id: int, request: Request, state: State) -> Response:
    user = auth.current_user(request, state)
    return _alert_page(request, state, user, alert_id)


def _chunks(upload: UploadFile) -> Iterator[bytes]:
    upload.file.seek(0)
    while chunk := upload.file.read(CHUNK):
        yield chunk


def _store_files(session: Any, state: AppState, user: auth.WebUser, form: FormData) -> list[str]:
    ids = []
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename and (f.size or 0) != 0]
    for upload in files[:20]:
        stored = attachments_service.store(
            session, chunks=_chunks(upload), original_name=upload.filename, actor=user.principal,
            now=state.clock.now(), root=state.settings.attachments_dir, max_bytes=state.settings.max_upload_bytes,
        )
        ids.append(stored.id)
    return ids


@router.post("/risk/alerts/{alert_id}/actions/{action}")
def alert_action(alert_id: int, action: str, request: Request, state: State, form: auth.PostedForm) -> Response:
    user = auth.current_user(request, state)
    values = {k: str(v) for k, v in form.multi_items() if isinstance(v, str) and k != "csrf"}
    version = values.get("version", "")
    try:
        with state.db.unit_of_work() as session:
            files = _store_files(session, state, user, form) if action == "intervene" else []
            alert = alerts.act(
                session, alert_id, action, principal=user.principal, now=state.clock.now(),
                text=values.get("text", ""), attachments=files, resolution=values.get("resolution") or None,
                expected_version=int(version) if version.isdigit() else None,
            )
            new_state = alert.state
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        errs = errors.from_domain(exc, {"attachments": "files"}, FORM_FIELDS)
        return _alert_page(request, state, user, alert_id, open_action=action, errs=errs, values=values,
                           status=exc.status_code)
    message = f"已{alerts.ACTION_ZH.get(action, action)}，预警状态：{alerts.STATE_ZH[new_state]}"
    target = auth.safe_next(values.get("next"), f"/risk/alerts/{alert_id}")
    return render.redirect(target, message, href=f"/risk/alerts/{alert_id}" if target != f"/risk/alerts/{alert_id}" else "")


@router.get("/risk/subjects/{kind}/{ref}")
def subject_page(kind: str, ref: str, request: Request, state: State) -> Response:
    from minxin.risk.api import get_subject

    user = auth.current_user(request, state)
    data = get_subject(kind, ref, user.principal, state)
    return render.page(request, "risk/subject.html", {"subject": data}, user=user, title=f"风险主体 {data['display']}")
