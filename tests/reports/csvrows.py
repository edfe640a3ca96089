"""Random history rows (as an older system would export them) and an independent KPI recipe.

``random_rows`` covers the awkward cases on purpose: empty steps, explicit and missing due
times, merged/void orders, Chinese labels, ``Z`` and ``.fff`` timestamps, space separators,
fairness flags. ``recompute`` is docs/kpis.md §8 written out directly from the CSV strings,
without ``minxin.core.kpi``, so a report can be checked against it.
"""

from __future__ import annotations

import csv
import io
import math
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone

from minxin.core.kpi import IMPORT_COLUMNS
from minxin.core.official_calendar import official_calendar

CST = timezone(timedelta(hours=8))
UNITS = ("GD-LZ", "GD-XM", "CGJ", "ZJJ", "QX-TX", "SWJT")
CATEGORIES = ("080101", "080102", "010102", "010302", "050101", "080201", "")
CHANNELS = ("phone", "web", "app", "电话", "PHONE", "transfer")
APPEALS = ("complaint", "repair", "consult", "help", "praise", "投诉", "suggest")
SATISFACTION = ("", "", "satisfied", "basically_satisfied", "dissatisfied", "满意", "不满意")
BOOLS = ("true", "false", "1", "0", "是", "否", "", "yes", "NO")
EXTRA = ("region", "status", "sign_due_at", "requires_evidence", "excluded_from_satisfaction", "callback_reachable")


def _ts(moment: datetime, rnd: random.Random) -> str:
    shape = rnd.random()
    if shape < 0.75:
        return moment.astimezone(CST).isoformat(timespec="seconds")
    if shape < 0.85:
        return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if shape < 0.92:
        return moment.astimezone(CST).isoformat(sep=" ", timespec="seconds")
    return moment.astimezone(CST).isoformat(timespec="milliseconds")


def random_rows(n: int, seed: int = 1, *, start: datetime | None = None, days: int = 60, extra: bool = True) -> list[dict[str, str]]:
    """``n`` valid rows (dicts keyed by column) spread over ``days`` days from ``start``."""
    rnd = random.Random(seed)
    start = start or datetime(2026, 9, 1, tzinfo=CST)
    rows = []
    for i in range(n):
        created = start + timedelta(seconds=rnd.randrange(days * 86400))
        row = dict.fromkeys(IMPORT_COLUMNS, "")
        row.update(
            number=f"HIS{seed:03d}{i:07d}",
            channel=rnd.choice(CHANNELS),
            appeal_type=rnd.choice(APPEALS),
            category=rnd.choice(CATEGORIES),
            unit=rnd.choice(UNITS),
            title=f"历史工单 {i}",
            content="来电人反映，“小区”停水,请处理\n第二行" if i % 17 == 0 else "来电人反映情况",
            created_at=_ts(created, rnd),
            reopen_count=rnd.choice(("", "0", "0", "1", "2")),
            returned_count=rnd.choice(("", "0", "0", "1")),
            has_evidence=rnd.choice(BOOLS),
        )
        step = rnd.random()
        t = created
        if step < 0.1:  # direct answer
            row["closed_at"] = _ts(t + timedelta(minutes=rnd.randrange(1, 30)), rnd)
        elif step > 0.12:
            t = t + timedelta(minutes=rnd.randrange(1, 90))
            row["dispatched_at"] = _ts(t, rnd)
            if rnd.random() < 0.9:
                t = t + timedelta(minutes=rnd.randrange(1, 600))
                row["signed_at"] = _ts(t, rnd)
            if rnd.random() < 0.85:
                t = t + timedelta(hours=rnd.randrange(1, 300), seconds=rnd.randrange(3600))
                row["replied_at"] = _ts(t, rnd)
                if rnd.random() < 0.8:
                    row["callback_at"] = _ts(t + timedelta(hours=rnd.randrange(1, 48)), rnd)
                    row["satisfaction"] = rnd.choice(SATISFACTION)
                    row["resolved"] = rnd.choice(BOOLS)
                if rnd.random() < 0.7:
                    row["closed_at"] = _ts(t + timedelta(days=rnd.randrange(1, 5)), rnd)
        if rnd.random() < 0.5:
            row["dispatch_due_at"] = _ts(created + timedelta(minutes=rnd.choice((15, 30, 60))), rnd)
        if row["dispatched_at"] and rnd.random() < 0.9:
            row["handle_due_at"] = _ts(created + timedelta(days=rnd.choice((1, 3, 5, 10))), rnd)
        if extra:
            row["region"] = rnd.choice(("210102", "210106", "210115", ""))
            row["status"] = rnd.choice(("",) * 18 + ("merged", "void"))
            row["sign_due_at"] = _ts(created + timedelta(hours=4), rnd) if rnd.random() < 0.3 else ""
            row["requires_evidence"] = rnd.choice(("", "", "true", "false"))
            row["excluded_from_satisfaction"] = rnd.choice(("",) * 8 + ("true", "是"))
            row["callback_reachable"] = rnd.choice(("", "", "true", "false"))
        rows.append(row)
    return rows


def line_of(rows: list[dict[str, str]], i: int) -> int:
    """The CSV file line where row ``i`` starts (header is line 1; some contents hold line breaks)."""
    return 2 + i + sum(r["content"].count("\n") for r in rows[:i])


def to_csv(rows: Iterable[dict[str, str]], columns: Iterable[str] | None = None) -> str:
    rows = list(rows)
    columns = list(columns or rows[0].keys())
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# An independent recomputation from the CSV strings (docs/kpis.md §8)
# ---------------------------------------------------------------------------------------------

_CAL = official_calendar()
_TRUE = {"true", "1", "是", "yes"}
_SAT = {"satisfied": "satisfied", "满意": "satisfied", "basically_satisfied": "basically_satisfied",
        "基本满意": "basically_satisfied", "dissatisfied": "dissatisfied", "不满意": "dissatisfied"}  # fmt: skip


def _t(v: str) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def _b(v: str) -> bool | None:
    return None if not v else v.strip().lower() in _TRUE


def recompute(rows: list[dict[str, str]], month: str, unit: str | None = None,
              as_of: datetime | None = None) -> dict[str, tuple[float | None, int]]:
    """(value, denominator) of the main KPIs for the rows created in ``month`` (Asia/Shanghai);
    with ``as_of``, orders still waiting past their dispatch / handling deadline count late."""
    sel = [r for r in rows if _t(r["created_at"]).astimezone(CST).strftime("%Y-%m") == month]  # type: ignore[union-attr]
    if unit is not None:
        sel = [r for r in sel if r["unit"] == unit]
    eff = [r for r in sel if r.get("status", "") not in ("merged", "void")]

    def rate(num: int, den: int) -> tuple[float | None, int]:
        return (num / den if den else None, den)

    answered = [r for r in eff if r["satisfaction"]]
    good = sum(_SAT[r["satisfaction"]] != "dissatisfied" for r in answered)
    fair = [r for r in answered if not _b(r.get("excluded_from_satisfaction", ""))]
    fair_good = sum(_SAT[r["satisfaction"]] != "dissatisfied" for r in fair)
    due = [r for r in eff if r["handle_due_at"] and r["replied_at"]]
    disp = [r for r in eff if r["dispatched_at"]]

    def dispatch_due(r: dict[str, str]) -> datetime:
        return _t(r["dispatch_due_at"]) or _t(r["created_at"]) + timedelta(minutes=30)  # type: ignore[operator]

    waiting = [r for r in eff if not r["replied_at"] and not r["closed_at"]] if as_of else []
    late_handling = [r for r in waiting if r["handle_due_at"] and _t(r["handle_due_at"]) < as_of]  # type: ignore[operator]
    late_dispatch = [r for r in waiting if not r["dispatched_at"] and dispatch_due(r) < as_of]  # type: ignore[operator]

    handled = [r for r in disp if r["replied_at"]]
    secs = sorted(
        max(0, round(_CAL.working_time_between(_t(r["dispatched_at"]), _t(r["replied_at"])).total_seconds()))  # type: ignore[arg-type]
        for r in handled
    )
    finished = [r for r in eff if r["replied_at"] or r["closed_at"]]
    resolved_known = [r for r in eff if _b(r["resolved"]) is not None]
    return {
        "volume": (len(eff), len(eff)),
        "volume_all": (len(sel), len(sel)),
        "satisfaction_rate": rate(good, len(answered)),
        "satisfaction_rate_fair": rate(fair_good, len(fair)),
        "on_time_completion_rate": rate(sum(_t(r["replied_at"]) <= _t(r["handle_due_at"]) for r in due),  # type: ignore[operator]
                                        len(due) + len(late_handling)),
        "dispatch_on_time_rate": rate(sum(_t(r["dispatched_at"]) <= dispatch_due(r) for r in disp),  # type: ignore[operator]
                                      len(disp) + len(late_dispatch)),
        "direct_answer_rate": rate(sum(not r["dispatched_at"] and bool(r["closed_at"]) for r in eff), len(eff)),
        "callback_rate": rate(sum(bool(r["callback_at"]) for r in finished), len(finished)),
        "resolution_rate": rate(sum(bool(_b(r["resolved"])) for r in resolved_known), len(resolved_known)),
        "reopen_rate": rate(sum(int(r["reopen_count"] or 0) > 0 for r in disp), len(disp)),
        "return_rate": rate(sum(int(r["returned_count"] or 0) > 0 for r in disp), len(disp)),
        "avg_handling_working_days": (sum(secs) / len(secs) / 27000 if secs else None, len(secs)),
        "p90_handling_working_hours": (secs[math.ceil(0.9 * len(secs)) - 1] / 3600 if secs else None, len(secs)),
    }
