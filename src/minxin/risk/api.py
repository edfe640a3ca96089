"""HTTP routes of risk early warning: alerts and their actions, subjects, stats, the taxonomy.

Scope: an alert is visible to principals whose unit subtree holds the alert's unit (root units and
admins see all); anything else answers 404 as if it did not exist. Writes run in one unit of work.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import FileResponse

from minxin.api.deps import AdminPrincipal, CurrentPrincipal, State
from minxin.attachments import repository as attachments_repository
from minxin.attachments import service as attachments_service
from minxin.audit import service as audit
from minxin.core.risk.subjects import address_key, caller_key, enterprise_key
from minxin.errors import Invalid, NotFound
from minxin.risk import alert_repository as alert_repo
from minxin.risk import alerts, presenter, taxonomy_service
from minxin.risk import repository as risk_repo
from minxin.risk.schemas import parse_action
from minxin.risk.tagger import KIND_PREFIX, subject_ref

router = APIRouter(prefix="/api/v1/risk", tags=["risk"])

MAX_PAGE = 200
STATES = ("pushed", "acknowledged", "intervening", "closed")


def parse_time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise Invalid(f"{name} 时间格式应为 ISO 8601", f"{name} must be ISO 8601", code="invalid_time") from exc
    if parsed.tzinfo is None:
        raise Invalid(f"{name} 需要带时区", f"{name} needs a UTC offset", code="invalid_time")
    return parsed


def parse_states(value: str | None) -> list[str]:
    states: list[str] = []
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        if item == "live":
            states.extend(alert_repo.LIVE)
        elif item in STATES:
            states.append(item)
        else:
            raise Invalid(f"未知预警状态：{item}", f"Unknown state '{item}'; use live or some of {', '.join(STATES)}",
                          code="risk.bad_state")
    return list(dict.fromkeys(states))


@router.get("/alerts", summary="Risk alerts in your unit subtree (filters: state, unit, detector, region, from, to)")
def list_alerts(
    principal: CurrentPrincipal,
    state: State,
    state_: Annotated[str | None, Query(alias="state", max_length=100, description="live, or a comma list")] = None,
    unit: Annotated[str | None, Query(max_length=64, description="unit code: its subtree")] = None,
    detector: Annotated[str | None, Query(max_length=20)] = None,
    region: Annotated[str | None, Query(max_length=12)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> dict[str, Any]:
    with state.db.reading() as session:
        unit_path = None
        if unit:
            row = alert_repo.unit_by_code(session, unit)
            if row is None:
                raise Invalid(f"单位不存在：{unit}", f"Unknown unit '{unit}'", code="unit.not_found")
            unit_path = row.path
        flt = alert_repo.AlertFilter(
            states=parse_states(state_), unit_path=unit_path, detector=detector, region=region,
            detected_from=parse_time(from_, "from"), detected_to=parse_time(to, "to"),
        )
        rows, total = alert_repo.search(session, principal, flt, offset=offset, limit=limit)
        items = presenter.alert_dicts(session, rows, state.tz, state.clock.now())
    return {"items": items, "total": total, "offset": offset, "limit": limit}


@router.get("/alerts/{alert_id}", summary="One alert with its orders and actions")
def get_alert(alert_id: int, principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.db.reading() as session:
        alert = alerts.get_visible(session, alert_id, principal)
        return presenter.alert_detail(session, alert, principal, state.tz, state.clock.now())


@router.post("/alerts/{alert_id}/actions/{action}",
             summary="acknowledge | intervene {text, attachments} | close {resolution} | note {text}")
def act(
    alert_id: int, action: str, principal: CurrentPrincipal, state: State,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> dict[str, Any]:
    data = parse_action(body)
    now = state.clock.now()
    with state.db.unit_of_work() as session:
        alerts.act(session, alert_id, action, principal=principal, now=now, text=data.text,
                   attachments=data.attachments, resolution=data.resolution, expected_version=data.expected_version)
    with state.db.reading() as session:
        alert = alerts.get_visible(session, alert_id, principal)
        return presenter.alert_detail(session, alert, principal, state.tz, state.clock.now())


@router.get("/alerts/{alert_id}/attachments/{attachment_id}", response_model=None,
            summary="Download a file attached to one of the alert's actions")
def alert_attachment(alert_id: int, attachment_id: str, principal: CurrentPrincipal, state: State) -> FileResponse:
    with state.db.reading() as session:
        alert = alerts.get_visible(session, alert_id, principal)
        used = {x for a in alert_repo.actions_of(session, alert.id) for x in a.attachments}
        attachment = attachments_repository.get(session, attachment_id) if attachment_id in used else None
    if attachment is None:
        raise NotFound("附件不存在", "No such attachment", code="attachment.not_found")
    path = attachments_service.blob_path(state.settings.attachments_dir, attachment.sha256)
    if not path.exists():
        raise NotFound("附件文件缺失", "Attachment file is missing", code="attachment.missing_file")
    ext = attachments_service.ACCEPTED[attachment.content_type][1]
    return FileResponse(path, media_type=attachment.content_type, filename=f"{attachment.id}.{ext}",
                        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
                        content_disposition_type="inline")


def subject_key(kind: str, key: str) -> str | None:
    """The stored key of ``kind``/``key`` where ``key`` is a ref or a raw phone/address/name."""
    if kind not in KIND_PREFIX:
        raise NotFound(f"未知主体类型：{kind}", f"Unknown subject kind '{kind}' (caller, address, enterprise)",
                       code="risk.subject_not_found")
    if kind == "caller":
        return caller_key(key)
    if kind == "address":
        return address_key(key)
    return enterprise_key(key)


@router.get("/subjects/{kind}/{key}", summary="A caller, address or enterprise with its risk and history")
def get_subject(kind: str, key: str, principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.db.reading() as session:
        subject = risk_repo.subject_by_ref(session, key) if len(key) == 16 else None
        if subject is None:
            stored = subject_key(kind, key)
            subject = risk_repo.subject_by_ref(session, subject_ref(stored)) if stored else None
        detail = None
        if subject is not None and subject.kind == kind:
            detail = presenter.subject_detail(session, subject, principal, state.tz, state.clock.now())
    if detail is None:
        raise NotFound("主体不存在或无权查看", f"No {kind} subject '{key}' visible to you", code="risk.subject_not_found")
    return detail


@router.get("/stats", summary="Alert counts and precision (1 − false alarms / closed) per detector and region")
def get_stats(
    principal: CurrentPrincipal, state: State,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    days: Annotated[int | None, Query(ge=1, le=3660)] = None,
) -> dict[str, Any]:
    since = parse_time(from_, "from")
    if since is None and days is not None:
        since = state.clock.now() - timedelta(days=days)
    with state.db.reading() as session:
        data = presenter.stats(alert_repo.stats(session, principal, since))
    return data | {"from": since.isoformat() if since else None}


@router.get("/regions", summary="Map-free region breakdown: live alerts and tagged orders per region")
def regions(principal: CurrentPrincipal, state: State,
            days: Annotated[int, Query(ge=1, le=366)] = 7) -> dict[str, Any]:
    from minxin.risk.board import region_breakdown

    with state.db.reading() as session:
        return {"days": days, "items": region_breakdown(session, principal, state.clock.now(), days)}


# ----------------------------------------------------------------------------------- taxonomy
@router.get("/taxonomy", summary="The active risk taxonomy (?format=yaml to export) and its history")
def get_taxonomy(principal: CurrentPrincipal, state: State,
                 format_: Annotated[str, Query(alias="format", pattern="^(json|yaml)$")] = "json",
                 version: Annotated[int | None, Query(ge=1)] = None) -> Any:
    del principal
    with state.db.reading() as session:
        if version is not None:
            mapping = taxonomy_service.version_mapping(session, version)
            data: dict[str, Any] = {"version_id": version, "mapping": mapping}
        else:
            data = taxonomy_service.to_dict(session)
            mapping = data["mapping"]
    if format_ == "yaml":
        return Response(taxonomy_service.export_yaml(mapping), media_type="application/yaml; charset=utf-8")
    return data


@router.put("/taxonomy", summary="Save a new taxonomy version (admin): JSON mapping, {mapping, note}, or YAML")
async def put_taxonomy(request: Request, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    data = await request.body()
    if len(data) > taxonomy_service.MAX_BYTES:
        raise Invalid("分类文件过大（上限 2 MB）", "The taxonomy is larger than 2 MB", code="risk.taxonomy_too_large")
    raw = data.decode("utf-8", errors="replace")
    note = ""
    if "yaml" in request.headers.get("content-type", ""):
        mapping = taxonomy_service.parse_text(raw)
    else:
        try:
            mapping = json.loads(raw)
        except ValueError as exc:
            raise Invalid("请求体不是合法的 JSON", "The body is not valid JSON", code="risk.taxonomy_invalid") from exc
        if isinstance(mapping, dict) and isinstance(mapping.get("mapping"), dict):
            note = str(mapping.get("note") or "")
            mapping = mapping["mapping"]
        if not isinstance(mapping, dict):
            raise Invalid("风险分类须为一个映射", "The taxonomy must be a JSON object", code="risk.taxonomy_invalid")
    now = state.clock.now()
    with state.db.unit_of_work() as session:
        row, created = taxonomy_service.save(session, mapping, by=admin.username, now=now, note=note)
        if created:
            audit.record(session, at=now, actor=admin.username, action="risk.taxonomy.save", target_type="risk_taxonomy",
                         target_id=row.id, detail={"version": row.version, "hash": row.content_hash, "labels": row.label_count})
        data = taxonomy_service.to_dict(session, include_mapping=False)
    return data | {"created": created}
