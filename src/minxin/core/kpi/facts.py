"""One work order flattened into the facts every KPI is computed from.

``OrderFact`` is deliberately flat and immutable: the database layer builds one per order from its
current state, the history importer builds one per CSV/XLSX row with ``from_row``, and
``partials.partial_of`` turns it into counters. Nothing here reads the clock or a database.

Invariants (checked in ``__post_init__``):
- every datetime is timezone-aware (an instant; local dates are taken in the calendar's zone);
- ``reopen_count`` and ``returned_count`` are non-negative;
- enum-valued fields hold the enum (strings are coerced), so comparisons never depend on casing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Any, TypeVar

from minxin.core.vocabulary import (
    APPEAL_TYPE_ZH,
    CHANNEL_ZH,
    SATISFACTION_ZH,
    STATUS_ZH,
    URGENCY_ZH,
    AppealType,
    Channel,
    Satisfaction,
    Status,
    Urgency,
)

#: The fixed columns of a history import, in order. Their names are a public contract.
IMPORT_COLUMNS: tuple[str, ...] = (
    "number",
    "channel",
    "appeal_type",
    "category",
    "unit",
    "title",
    "content",
    "created_at",
    "dispatched_at",
    "signed_at",
    "replied_at",
    "closed_at",
    "dispatch_due_at",
    "handle_due_at",
    "callback_at",
    "satisfaction",
    "resolved",
    "reopen_count",
    "returned_count",
    "has_evidence",
)

#: Columns an import file may add; when absent the defaults of ``OrderFact`` apply.
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "region",
    "urgency",
    "status",
    "sign_due_at",
    "requires_evidence",
    "excluded_from_satisfaction",
    "callback_reachable",
    "merged",
    "void",
)

_TRUE = frozenset({"true", "1", "是", "yes", "y", "t", "对"})
_FALSE = frozenset({"false", "0", "否", "no", "n", "f", "不"})


class FactError(ValueError):
    """A row value that cannot become an ``OrderFact``; names the column so the importer can say
    exactly which cell is wrong (the importer maps it to a 422 with the line number)."""

    code = "kpi.bad_value"

    def __init__(self, column: str, value: object, reason_en: str, reason_zh: str, line: int | None = None):
        self.column = column
        self.value = value
        self.line = line
        self.reason_en = reason_en
        self.reason_zh = reason_zh
        where = f"line {line}, " if line is not None else ""
        super().__init__(f"{where}column {column!r}: {reason_en} (got {value!r}) / 列 {column}：{reason_zh}")


@dataclass(frozen=True, slots=True)
class OrderFact:
    """The KPI-relevant state of one work order.

    ``status`` is optional: when not given it is derived from the timestamps (``derived_status``).
    Only ``merged`` and ``void`` change what the KPIs count; see docs/kpis.md §1.
    ``unit`` is the unit that holds (or last held) the order: every unit KPI is charged to it.
    """

    number: str
    channel: Channel
    appeal_type: AppealType
    created_at: datetime
    category: str = ""
    unit: str = ""
    region: str = ""
    title: str = ""
    content: str = ""
    urgency: Urgency = Urgency.NORMAL
    status: Status | None = None
    dispatched_at: datetime | None = None
    signed_at: datetime | None = None
    replied_at: datetime | None = None
    closed_at: datetime | None = None
    dispatch_due_at: datetime | None = None
    sign_due_at: datetime | None = None
    handle_due_at: datetime | None = None
    callback_at: datetime | None = None
    satisfaction: Satisfaction | None = None
    resolved: bool | None = None
    reopen_count: int = 0
    returned_count: int = 0
    has_evidence: bool = False
    #: the reply must carry a photo (on-site handling); defaults to True for every replied order
    requires_evidence: bool = True
    #: set by a supervisor: the appeal is unreasonable or legally unsupportable (fairness rule)
    excluded_from_satisfaction: bool = False
    #: None = unknown / no callback attempted; False = attempted but the citizen was unreachable
    callback_reachable: bool | None = None

    def __post_init__(self) -> None:
        for name, enum in (
            ("channel", Channel),
            ("appeal_type", AppealType),
            ("urgency", Urgency),
            ("status", Status),
            ("satisfaction", Satisfaction),
        ):
            value = getattr(self, name)
            if value is not None and not isinstance(value, enum):
                object.__setattr__(self, name, _enum(enum, name, value, {}))
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, datetime) and value.utcoffset() is None:
                raise FactError(f.name, value, "datetime must be timezone-aware", "时间必须带时区")
        for name in ("reopen_count", "returned_count"):
            if getattr(self, name) < 0:
                raise FactError(name, getattr(self, name), "must be >= 0", "不能为负数")

    @property
    def merged(self) -> bool:
        return self.status is Status.MERGED

    @property
    def void(self) -> bool:
        return self.status is Status.VOID

    @property
    def effective(self) -> bool:
        """Counted by the KPIs: not merged into another order and not voided."""
        return self.status not in (Status.MERGED, Status.VOID)

    @property
    def derived_status(self) -> Status:
        """``status`` if given, else the furthest step the timestamps show."""
        if self.status is not None:
            return self.status
        if self.closed_at is not None:
            return Status.CLOSED
        if self.replied_at is not None:
            return Status.REPLIED
        if self.signed_at is not None:
            return Status.SIGNED
        if self.dispatched_at is not None:
            return Status.DISPATCHED
        return Status.REGISTERED

    @property
    def direct_answer(self) -> bool:
        """直办: closed at intake without dispatch (no dispatched_at, closed_at set)."""
        return self.dispatched_at is None and self.closed_at is not None

    def local_date(self, tz: tzinfo) -> date:
        """The calendar date of ``created_at`` in ``tz``: the date an order is reported under."""
        return self.created_at.astimezone(tz).date()


# ---------------------------------------------------------------------------------------------
# Parsing of import rows
# ---------------------------------------------------------------------------------------------

E = TypeVar("E", bound=StrEnum)

_CHANNEL_ALIASES = {zh: c for c, zh in CHANNEL_ZH.items()} | {"热线": Channel.PHONE, "网页": Channel.WEB}
_APPEAL_ALIASES = {zh: a for a, zh in APPEAL_TYPE_ZH.items()} | {
    "报修": AppealType.REPAIR,
    "感谢": AppealType.PRAISE,
}
_SATISFACTION_ALIASES = {zh: s for s, zh in SATISFACTION_ZH.items()} | {
    # spellings older systems export; only the unambiguous ones (一般 could be either side)
    "basic": Satisfaction.BASICALLY_SATISFIED, "basically": Satisfaction.BASICALLY_SATISFIED,
    "unsatisfied": Satisfaction.DISSATISFIED, "not_satisfied": Satisfaction.DISSATISFIED,
    "very_satisfied": Satisfaction.SATISFIED, "非常满意": Satisfaction.SATISFIED,
}
_STATUS_ALIASES = {zh: s for s, zh in STATUS_ZH.items()}
_URGENCY_ALIASES = {zh: u for u, zh in URGENCY_ZH.items()}


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _enum(enum: type[E], column: str, value: object, aliases: Mapping[str, E], line: int | None = None) -> E:
    text = str(value).strip()
    code = "_".join(text.lower().replace("-", " ").split())  # "Basically satisfied" → basically_satisfied
    try:
        return enum(code)
    except ValueError:
        for key in (text, code):
            if key in aliases:
                return aliases[key]
    allowed = ", ".join(m.value for m in enum)
    raise FactError(column, value, f"expected one of {allowed}", f"取值应为 {allowed} 之一", line)


def parse_datetime(
    column: str, value: object, naive_tz: tzinfo | None = None, line: int | None = None
) -> datetime | None:
    """ISO 8601 with a UTC offset (``2026-03-02T08:15:00+08:00`` or ``...Z``); blank → None.

    A value without an offset is refused unless ``naive_tz`` says which zone it was written in:
    guessing the zone would shift every deadline comparison by hours.
    """
    if _blank(value):
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        raise FactError(column, value, "a date without a time", "只有日期，缺少时间", line)
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise FactError(
                column, value, "not an ISO 8601 date-time", "不是 ISO 8601 日期时间", line
            ) from None
    if parsed.utcoffset() is None:
        if naive_tz is None:
            raise FactError(column, value, "date-time has no UTC offset", "日期时间缺少时区偏移", line)
        parsed = parsed.replace(tzinfo=naive_tz)
    return parsed


def parse_bool(column: str, value: object, line: int | None = None) -> bool | None:
    """true/false, 1/0, 是/否, yes/no (any case); blank → None."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FactError(column, value, "expected true/false, 1/0 or 是/否", "应为 true/false、1/0 或 是/否", line)


def parse_count(column: str, value: object, line: int | None = None) -> int:
    """A non-negative integer; blank → 0 (nothing happened)."""
    if _blank(value):
        return 0
    if isinstance(value, bool):
        raise FactError(column, value, "expected a whole number", "应为非负整数", line)
    try:
        number = float(value) if isinstance(value, float) else int(str(value).strip())
        whole = number == int(number)
    except (ValueError, OverflowError):
        raise FactError(column, value, "expected a whole number", "应为非负整数", line) from None
    if not whole or number < 0:
        raise FactError(column, value, "expected a whole number >= 0", "应为非负整数", line)
    return int(number)


def _text(row: Mapping[str, Any], column: str) -> str:
    value = row.get(column)
    return "" if value is None else str(value).strip()


def from_row(row: Mapping[str, Any], *, naive_tz: tzinfo | None = None, line: int | None = None) -> OrderFact:
    """Parse one import row (keys are the ``IMPORT_COLUMNS`` names, plus any ``OPTIONAL_COLUMNS``).

    Empty cells mean "did not happen / not recorded": timestamps → None, counts → 0,
    ``resolved`` → None, ``has_evidence`` → False. Enum columns accept the code values (any case)
    and the Chinese labels (电话, 咨询, 满意...). Every error is a ``FactError`` naming the column.
    """
    missing = [c for c in IMPORT_COLUMNS if c not in row]
    if missing:
        raise FactError(missing[0], None, "column missing from the file", "文件缺少该列", line)
    number = _text(row, "number")
    if not number:
        raise FactError("number", row.get("number"), "order number is empty", "工单编号为空", line)

    def ts(column: str) -> datetime | None:
        return parse_datetime(column, row.get(column), naive_tz, line)

    created_at = ts("created_at")
    if created_at is None:
        raise FactError("created_at", row.get("created_at"), "creation time is empty", "受理时间为空", line)
    satisfaction = row.get("satisfaction")
    status: Status | None = None
    if not _blank(row.get("status")):
        status = _enum(Status, "status", row["status"], _STATUS_ALIASES, line)
    if parse_bool("merged", row.get("merged"), line):
        status = Status.MERGED
    if parse_bool("void", row.get("void"), line):
        status = Status.VOID
    requires_evidence = parse_bool("requires_evidence", row.get("requires_evidence"), line)
    urgency = row.get("urgency")
    return OrderFact(
        number=number,
        channel=_enum(Channel, "channel", row.get("channel"), _CHANNEL_ALIASES, line),
        appeal_type=_enum(AppealType, "appeal_type", row.get("appeal_type"), _APPEAL_ALIASES, line),
        created_at=created_at,
        category=_text(row, "category"),
        unit=_text(row, "unit"),
        region=_text(row, "region"),
        title=_text(row, "title"),
        content=_text(row, "content"),
        urgency=Urgency.NORMAL
        if _blank(urgency)
        else _enum(Urgency, "urgency", urgency, _URGENCY_ALIASES, line),
        status=status,
        dispatched_at=ts("dispatched_at"),
        signed_at=ts("signed_at"),
        replied_at=ts("replied_at"),
        closed_at=ts("closed_at"),
        dispatch_due_at=ts("dispatch_due_at"),
        sign_due_at=ts("sign_due_at"),
        handle_due_at=ts("handle_due_at"),
        callback_at=ts("callback_at"),
        satisfaction=None
        if _blank(satisfaction)
        else _enum(Satisfaction, "satisfaction", satisfaction, _SATISFACTION_ALIASES, line),
        resolved=parse_bool("resolved", row.get("resolved"), line),
        reopen_count=parse_count("reopen_count", row.get("reopen_count"), line),
        returned_count=parse_count("returned_count", row.get("returned_count"), line),
        has_evidence=bool(parse_bool("has_evidence", row.get("has_evidence"), line)),
        requires_evidence=True if requires_evidence is None else requires_evidence,
        excluded_from_satisfaction=bool(
            parse_bool("excluded_from_satisfaction", row.get("excluded_from_satisfaction"), line)
        ),
        callback_reachable=parse_bool("callback_reachable", row.get("callback_reachable"), line),
    )
