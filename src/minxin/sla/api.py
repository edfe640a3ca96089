"""HTTP routes of the SLA engine: the working calendar and the SLA policies.

Everyone logged in may read (the console shows due times and calendars); only admins write.
Writes run in one unit of work each and are audited; after a calendar change, open orders whose
running clocks lacked an official schedule are recomputed in the same transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, UploadFile

from minxin.api.deps import AdminPrincipal, CurrentPrincipal, State
from minxin.audit import service as audit
from minxin.core.calendar_model import DayRecord, parse_instant
from minxin.core.duration import CountingRule, DurationParseError, parse_duration
from minxin.core.official_calendar import parse_kind, records_to_csv
from minxin.errors import Invalid
from minxin.sla import calendar_service, deadlines, policy_service
from minxin.sla.schemas import PolicyCreate, PolicyUpdate, YearDaysIn

router = APIRouter(prefix="/api/v1", tags=["sla"])

Year = Annotated[int, Query(ge=1900, le=9998, description="e.g. 2027")]


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError as exc:
        raise Invalid(f"日期格式应为 YYYY-MM-DD：{text}", f"date must be YYYY-MM-DD, got {text!r}", code="calendar.bad_date") from exc


# ----------------------------------------------------------------------------- calendar
@router.get("/calendar/days", summary="The official schedule of a year (package + admin days)")
def get_days(year: Year, _principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.db.reading() as session:
        return calendar_service.year_view(session, year)


@router.put("/calendar/days", summary="Replace the admin-entered days of a year (admin)")
def put_days(year: Year, data: YearDaysIn, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    records = []
    for i, d in enumerate(data.days):
        try:
            records.append(DayRecord(d.date, parse_kind(d.kind), d.name.strip()))
        except ValueError as exc:
            raise Invalid(
                f"第{i + 1}行：类型应为 holiday（休）或 workday（班）",
                f"day {i + 1}: {exc}",
                code="calendar.bad_kind",
            ) from exc
    now = state.clock.now()
    with state.db.unit_of_work() as session:
        written = calendar_service.replace_year(session, year, records, actor=admin.username, now=now)
        recomputed = deadlines.refresh_unofficial(session, now=now)
        audit.record(
            session, at=now, actor=admin.username, action="calendar.replace_year", target_type="calendar",
            target_id=str(year), detail={"days": written, "recomputed_orders": recomputed},
        )
        return calendar_service.year_view(session, year) | {"recomputed_orders": recomputed}


@router.post("/calendar/import", summary="Import holidays and make-up days from CSV or YAML (admin)")
def import_days(
    file: UploadFile,
    admin: AdminPrincipal,
    state: State,
    merge: Annotated[bool, Query(description="replace only the listed dates instead of whole years")] = False,
) -> dict[str, Any]:
    data = file.file.read(calendar_service.MAX_IMPORT_BYTES + 1)
    records = calendar_service.parse_file(data, file.filename or "calendar.csv")
    now = state.clock.now()
    with state.db.unit_of_work() as session:
        result = calendar_service.import_records(session, records, actor=admin.username, now=now, merge=merge)
        result["recomputed_orders"] = deadlines.refresh_unofficial(session, now=now)
        audit.record(
            session, at=now, actor=admin.username, action="calendar.import", target_type="calendar",
            target_id=file.filename or "-", detail=result,
        )
    return result


@router.get("/calendar/export", summary="The schedule of a year as CSV (date,kind,name)")
def export_days(year: Year, _principal: CurrentPrincipal, state: State) -> Response:
    with state.db.reading() as session:
        view = calendar_service.year_view(session, year)
    records = [DayRecord(date.fromisoformat(d["date"]), parse_kind(d["kind"]), d["name"]) for d in view["days"]]
    return Response(records_to_csv(records), media_type="text/csv; charset=utf-8")


@router.get("/calendar/check", summary="Is this date a working day, and why")
def check_day(
    principal: CurrentPrincipal, state: State, date_: Annotated[str, Query(alias="date", max_length=40)]
) -> dict[str, Any]:
    day = _date(date_)
    with state.db.reading() as session:
        return calendar_service.check(calendar_service.calendar(session), day)


@router.get("/calendar/due", summary="START + DURATION on the working calendar (of a unit)")
def due(
    principal: CurrentPrincipal,
    state: State,
    start: Annotated[str, Query(max_length=60, description="ISO 8601, e.g. 2026-02-13T16:00+08:00")],
    duration: Annotated[str, Query(max_length=20, description="30m, 2h, 3d, 8wh, 1wd, 5wd")],
    unit: Annotated[str | None, Query(max_length=64)] = None,
    rule: Annotated[str, Query(description="next_day (次日起算) | inclusive (含本数)")] = "next_day",
) -> dict[str, Any]:
    try:
        at = parse_instant(start, calendar_service.TZ)
    except ValueError as exc:
        raise Invalid("开始时间格式应为 ISO 8601", str(exc), code="calendar.bad_start") from exc
    try:
        span = parse_duration(duration)
    except DurationParseError as exc:
        raise Invalid("时长格式应如 30m、2h、3d、8wh、5wd", str(exc), code="calendar.bad_duration") from exc
    try:
        counting = CountingRule(rule)
    except ValueError as exc:
        raise Invalid("计数规则应为 next_day 或 inclusive", "rule must be next_day or inclusive", code="calendar.bad_rule") from exc
    with state.db.reading() as session:
        unit_row = calendar_service.require_unit(session, unit) if unit else None
        cal = calendar_service.unit_calendar(session, unit_row)
        try:
            answer = calendar_service.due(cal, at, span, counting, unit)
        except (OverflowError, ValueError) as exc:
            raise Invalid("时间超出日历范围", str(exc), code="calendar.out_of_range") from exc
    return answer.to_dict()


# ----------------------------------------------------------------------------- policies
@router.get("/sla/policies", summary="The SLA policies (the packaged defaults until an admin edits them)")
def list_policies(_principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.db.reading() as session:
        items = policy_service.list_policies(session)
    return {"items": items, "source": items[0]["source"] if items else "package"}


@router.get("/sla/policies/resolve", summary="Which settings apply to an order with these keys, and why")
def resolve_policy(
    _principal: CurrentPrincipal,
    state: State,
    category: Annotated[str | None, Query(max_length=64)] = None,
    appeal_type: Annotated[str | None, Query(max_length=20)] = None,
    urgency: Annotated[str | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    with state.db.reading() as session:
        path = policy_service.category_path_of(session, category)
        resolved = policy_service.resolve(session, path, appeal_type, urgency)
    return {
        "category_path": list(path),
        "durations": {k: str(v) for k, v in resolved.durations.items()},
        "counting_rule": resolved.counting_rule.value,
        "warn_ratio": resolved.warn_ratio,
        "sources": dict(resolved.sources),
        "matched": list(resolved.chain),
    }


@router.post("/sla/policies", status_code=201, summary="Create an SLA policy (admin)")
def create_policy(data: PolicyCreate, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    values = data.model_dump(exclude_unset=True, exclude={"id"}) | {"code": data.id}
    now = state.clock.now()
    with state.db.unit_of_work() as session:
        row = policy_service.create_policy(session, values, actor=admin.username, now=now)
        audit.record(
            session, at=now, actor=admin.username, action="sla.policy.create", target_type="sla_policy",
            target_id=data.id, detail={k: v for k, v in values.items() if k != "code"},
        )
        return policy_service.row_dict(row)


@router.patch("/sla/policies/{code}", summary="Change an SLA policy (admin); null un-sets a field")
def update_policy(code: str, data: PolicyUpdate, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    changes = data.model_dump(exclude_unset=True)
    now = state.clock.now()
    with state.db.unit_of_work() as session:
        row = policy_service.update_policy(session, code, changes, actor=admin.username, now=now)
        audit.record(
            session, at=now, actor=admin.username, action="sla.policy.update", target_type="sla_policy",
            target_id=code, detail=changes,
        )
        return policy_service.row_dict(row)
