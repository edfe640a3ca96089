"""Reading SLA deadlines out of presenter output, tolerant of the shapes the SLA engine uses.

Two places carry deadlines:

* list rows (``presenters.summary_fields``): a badge under one of ``BADGE_FIELDS``, shaped
  ``{"kind": "handle", "due_at": ISO, "warn_at": ISO?, "state": "ok|warning|overdue|paused"}``;
* the order detail (``presenters.detail_sections``) under ``deadlines``: a list of clocks
  (``minxin.sla.presenter.clock_dict``: kind, label_zh, unit, current, due_at, warn_at, state
  incl. met/missed/cancelled, rule_zh, explanation), or ``core.sla.OrderDeadlines.to_dict()``.

Both become badge dicts for the templates; the browser counts running ones down (static/js).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

BADGE_FIELDS = ("deadline", "sla", "badge")

KIND_ZH = {"dispatch": "派单", "sign": "签收", "handle": "办理", "callback": "回访", "reply": "答复"}
STATE_ZH = {
    "ok": "正常",
    "warning": "预警",
    "overdue": "超期",
    "paused": "已暂停",
    "met": "按时完成",
    "missed": "超时完成",
    "cancelled": "已终止",
}
RUNNING = frozenset({"ok", "warning", "overdue", "paused"})
CJK = re.compile(r"[\u4e00-\u9fff]")


def _parse(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def state_at(due_at: str | None, warn_at: str | None, now: datetime, given: str | None = None) -> str:
    """The badge colour: the engine's word if it gave one, else from the times."""
    if given in STATE_ZH:
        return str(given)
    due, warn = _parse(due_at), _parse(warn_at)
    if due is None:
        return "paused"
    if now > due:
        return "overdue"
    if warn is not None and now >= warn:
        return "warning"
    return "ok"


def _lines(raw: dict[str, Any]) -> list[str]:
    """What explains the due time, in Chinese: pauses, extensions, a missing official schedule."""
    explanation = raw.get("explanation") if isinstance(raw.get("explanation"), dict) else raw
    lines = [str(x) for x in (explanation.get("notes") or []) if CJK.search(str(x))]
    for pause in explanation.get("pauses") or []:
        if isinstance(pause, dict) and pause.get("applied", True):
            end = str(pause.get("end") or "")[:16].replace("T", " ") or "至今"
            lines.append(f"挂起暂停计时：{str(pause.get('start', ''))[:16].replace('T', ' ')} — {end}")
    for ext in explanation.get("extensions") or []:
        if isinstance(ext, dict):
            what = ext.get("add") or f"至 {str(ext.get('new_due', ''))[:16].replace('T', ' ')}"
            lines.append(f"批准延期 {what}（{str(ext.get('approved_at', ''))[:16].replace('T', ' ')}）")
    years = explanation.get("unofficial_years") or raw.get("unofficial_years") or []
    if years:
        text = "、".join(str(y) for y in years)
        lines.append(f"缺少 {text} 年官方节假日安排，本时限仅按周末计算；请在「系统管理 › 工作日历」导入。")
    return lines


def badge(raw: Any, now: datetime, label: str | None = None, units: dict[str, str] | None = None) -> dict[str, Any] | None:
    """One clock → ``{kind, label, due_at, warn_at, state, state_zh, running, rule_zh, lines, unit}``."""
    if not isinstance(raw, dict):
        return None
    kind = str(raw.get("kind") or raw.get("clock") or "handle")
    due_at, warn_at = raw.get("due_at"), raw.get("warn_at")
    given = raw.get("state")
    if due_at is None and not raw.get("paused_since") and given not in STATE_ZH:
        return None
    state = state_at(due_at, warn_at, now, given)
    unit = raw.get("unit")
    return {
        "kind": kind,
        "label": label or raw.get("label_zh") or f"{KIND_ZH.get(kind, kind)}时限",
        "due_at": due_at,
        "warn_at": warn_at,
        "state": state,
        "state_zh": raw.get("state_zh") or STATE_ZH.get(state, state),
        "running": state in RUNNING,
        "done_at": raw.get("met_at") or raw.get("ended_at"),
        "rule_zh": raw.get("rule_zh") or "",
        "lines": _lines(raw),
        "unit": (units or {}).get(str(unit), unit) if unit else None,
    }


def row_badge(row: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    for name in BADGE_FIELDS:
        if row.get(name):
            return badge(row[name], now)
    return None


def order_deadlines(detail: dict[str, Any], now: datetime, units: dict[str, str] | None = None) -> list[dict[str, Any]] | None:
    """The detail's clocks as badges, running ones first; None when no SLA section is wired."""
    raw = detail.get("deadlines")
    if raw is None:
        return None
    items: list[tuple[Any, str | None]] = []
    if isinstance(raw, list):
        items = [(x, None) for x in raw]
    elif isinstance(raw, dict) and isinstance(raw.get("items"), list):
        items = [(x, None) for x in raw["items"]]
    elif isinstance(raw, dict):
        if raw.get("dispatch"):
            items.append((raw["dispatch"] | {"kind": "dispatch"}, "派单时限"))
        for unit in raw.get("units") or []:
            if isinstance(unit, dict) and unit.get("current"):
                for kind in ("sign", "handle"):
                    if unit.get(kind):
                        items.append((unit[kind] | {"kind": kind, "unit": unit.get("unit")}, f"{KIND_ZH[kind]}时限"))
        if raw.get("callback"):
            items.append((raw["callback"] | {"kind": "callback"}, "回访时限"))
    out = [b for b in (badge(x, now, label, units) for x, label in items) if b is not None]
    return sorted(out, key=lambda b: not b["running"])
