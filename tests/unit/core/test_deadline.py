"""One SLA clock: due and warning times, pauses (suspensions), extensions, evaluate and verdict."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minxin.core.calendar import SHANGHAI, CountingRule
from minxin.core.deadline import Extension, Pause, SlaState, Verdict, compute_deadline, evaluate, verdict
from minxin.core.duration import ClockKind, parse_duration
from minxin.core.official_calendar import official_calendar

CAL = official_calendar()


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=SHANGHAI)


def deadline(start: datetime, duration: str, **kw: object):  # type: ignore[no-untyped-def]
    return compute_deadline(start, parse_duration(duration), CAL, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("start", "duration", "due", "warn", "allowed_h", "kind"),
    [
        (
            at(2026, 2, 13, 10),
            "1wd",
            at(2026, 2, 14, 17, 30),
            at(2026, 2, 14, 14, 7, 30),
            13.5,
            ClockKind.WORKING,
        ),
        (
            at(2026, 3, 2, 10),
            "30m",
            at(2026, 3, 2, 10, 30),
            at(2026, 3, 2, 10, 22, 30),
            0.5,
            ClockKind.NATURAL,
        ),
        (at(2026, 3, 2, 9), "2wh", at(2026, 3, 2, 11), at(2026, 3, 2, 10, 30), 2, ClockKind.WORKING),
        (at(2026, 3, 2, 11), "2wh", at(2026, 3, 2, 14, 30), at(2026, 3, 2, 14), 2, ClockKind.WORKING),
        (at(2026, 9, 30, 16), "2wh", at(2026, 10, 8, 9), at(2026, 9, 30, 17, 30), 2, ClockKind.WORKING),
    ],
)
def test_plain_clock(
    start: datetime, duration: str, due: datetime, warn: datetime, allowed_h: float, kind: ClockKind
) -> None:
    d = deadline(start, duration)
    assert (d.due_at, d.warn_at, d.allowed, d.kind) == (due, warn, timedelta(hours=allowed_h), kind)
    assert d.official and d.paused_since is None
    assert d.explanation["nominal_due"] == due.isoformat()


@pytest.mark.parametrize(
    ("start", "duration", "pauses", "due"),
    [
        # 30 working minutes paused → pushed 30 minutes
        (at(2026, 3, 2, 9), "2wh", [(at(2026, 3, 2, 9, 30), at(2026, 3, 2, 10))], at(2026, 3, 2, 11, 30)),
        # a pause over the lunch break costs no working time
        (at(2026, 3, 2, 11), "2wh", [(at(2026, 3, 2, 12), at(2026, 3, 2, 13, 30))], at(2026, 3, 2, 14, 30)),
        # overlapping pauses are merged (09:30–10:15)
        (
            at(2026, 3, 2, 9),
            "2wh",
            [(at(2026, 3, 2, 9, 30), at(2026, 3, 2, 10)), (at(2026, 3, 2, 9, 45), at(2026, 3, 2, 10, 15))],
            at(2026, 3, 2, 11, 45),
        ),
        # a pause that starts at or after the due does not move it
        (at(2026, 3, 2, 9), "2wh", [(at(2026, 3, 2, 11), at(2026, 3, 2, 12))], at(2026, 3, 2, 11)),
        # a whole working day paused → one more working day
        (at(2026, 3, 2, 9), "5wd", [(at(2026, 3, 3, 8, 30), at(2026, 3, 4, 8, 30))], at(2026, 3, 10, 17, 30)),
        # a weekend paused costs a working clock nothing ...
        (at(2026, 3, 6, 10), "1wd", [(at(2026, 3, 7), at(2026, 3, 9))], at(2026, 3, 9, 17, 30)),
        # ... but a natural clock a whole day per day
        (at(2026, 3, 6, 10), "3d", [(at(2026, 3, 7), at(2026, 3, 8))], at(2026, 3, 10, 10)),
        # a pause that began before the clock only counts from the start
        (at(2026, 3, 2, 9), "2wh", [(at(2026, 3, 1), at(2026, 3, 2, 10))], at(2026, 3, 2, 12)),
        # a suspension across Spring Festival: only the working days inside it count
        (
            at(2026, 2, 12, 9),
            "5wd",
            [(at(2026, 2, 13, 8, 30), at(2026, 2, 25, 8, 30))],
            at(2026, 3, 2, 17, 30),
        ),
    ],
)
def test_pauses_push_the_due_by_the_paused_time_of_the_same_kind(
    start: datetime, duration: str, pauses: list[tuple[datetime, datetime]], due: datetime
) -> None:
    d = deadline(start, duration, pauses=[Pause(a, b) for a, b in pauses])
    assert d.due_at == due
    assert all(isinstance(p["paused_seconds"], int) for p in d.explanation["pauses"])


def test_open_pause_holds_the_clock() -> None:
    d = deadline(at(2026, 3, 2, 9), "5wd", pauses=[Pause(at(2026, 3, 3, 9))])
    assert (d.due_at, d.warn_at, d.paused_since) == (None, None, at(2026, 3, 3, 9))
    assert evaluate(d, at(2026, 3, 2, 10)) is SlaState.OK
    assert evaluate(d, at(2026, 4, 1)) is SlaState.PAUSED
    assert verdict(d, at(2026, 4, 1)) is Verdict.ON_TIME
    resumed = deadline(at(2026, 3, 2, 9), "5wd", pauses=[Pause(at(2026, 3, 3, 9), at(2026, 3, 4, 9))])
    assert resumed.due_at == at(2026, 3, 10, 17, 30)


def test_open_pause_after_the_warning_point() -> None:
    d = deadline(at(2026, 3, 2, 9), "2wh", pauses=[Pause(at(2026, 3, 2, 10, 45))])
    assert (d.due_at, d.warn_at) == (None, at(2026, 3, 2, 10, 30))
    assert evaluate(d, at(2026, 3, 2, 10, 40)) is SlaState.WARNING
    assert evaluate(d, at(2026, 3, 2, 10, 50)) is SlaState.PAUSED


def test_pause_after_the_due_leaves_an_overdue_clock_overdue() -> None:
    d = deadline(at(2026, 3, 2, 9), "2wh", pauses=[Pause(at(2026, 3, 2, 15))])
    assert d.due_at == at(2026, 3, 2, 11)
    assert evaluate(d, at(2026, 3, 3)) is SlaState.OVERDUE
    assert d.explanation["pauses"][0]["applied"] is False


# ----------------------------------------------------------------------------- extensions
START = at(2026, 3, 2, 9)  # Monday; 5wd 次日起算 → 2026-03-09 17:30


@pytest.mark.parametrize(
    ("pauses", "extensions", "due"),
    [
        ([], [Extension(at(2026, 3, 5), add=parse_duration("2wd"))], at(2026, 3, 11, 17, 30)),
        ([], [Extension(at(2026, 3, 5), add=parse_duration("4wh"))], at(2026, 3, 10, 14)),
        ([], [Extension(at(2026, 3, 5), new_due=at(2026, 3, 20, 17, 30))], at(2026, 3, 20, 17, 30)),
        (  # two extensions, applied in approval order
            [],
            [
                Extension(at(2026, 3, 9), add=parse_duration("1wd")),
                Extension(at(2026, 3, 5), add=parse_duration("2wd")),
            ],
            at(2026, 3, 12, 17, 30),
        ),
        (  # a new absolute due is final given the pauses known at approval ...
            [Pause(at(2026, 3, 3, 8, 30), at(2026, 3, 4, 8, 30))],
            [Extension(at(2026, 3, 5), new_due=at(2026, 3, 20, 17, 30))],
            at(2026, 3, 20, 17, 30),
        ),
        (  # ... and later suspensions still push it (one working day → Monday 3-23)
            [
                Pause(at(2026, 3, 3, 8, 30), at(2026, 3, 4, 8, 30)),
                Pause(at(2026, 3, 10, 8, 30), at(2026, 3, 11, 8, 30)),
            ],
            [Extension(at(2026, 3, 5), new_due=at(2026, 3, 20, 17, 30))],
            at(2026, 3, 23, 17, 30),
        ),
        (  # approved while suspended: +2wd from the due as it stood, then the rest of the pause
            [Pause(at(2026, 3, 3, 8, 30), at(2026, 3, 5, 8, 30))],
            [Extension(at(2026, 3, 4, 12), add=parse_duration("2wd"))],
            at(2026, 3, 16, 14),
        ),
        ([], [Extension(at(2026, 3, 5), add=parse_duration("2wd"), clock="sign")], at(2026, 3, 9, 17, 30)),
    ],
)
def test_extensions_move_the_due(pauses: list[Pause], extensions: list[Extension], due: datetime) -> None:
    d = deadline(START, "5wd", pauses=pauses, extensions=extensions)
    assert d.due_at == due
    assert len(d.explanation["extensions"]) == sum(e.clock == "handle" for e in extensions)


def test_extension_explanation() -> None:
    d = deadline(
        START, "5wd", extensions=[Extension(at(2026, 3, 5), add=parse_duration("2wd"), reason="需现场勘查")]
    )
    (entry,) = d.explanation["extensions"]
    assert entry["due_before"] == "2026-03-09T17:30:00+08:00"
    assert entry["due_after"] == "2026-03-11T17:30:00+08:00"
    assert entry["added_seconds"] == 15 * 3600
    assert entry["reason"] == "需现场勘查"
    assert d.allowed == timedelta(hours=7 + 5 * 7.5 + 15)


# ----------------------------------------------------------------------------- states, verdicts, warnings
@pytest.mark.parametrize(
    ("now", "state"),
    [
        (at(2026, 3, 2, 10, 29, 59), SlaState.OK),
        (at(2026, 3, 2, 10, 30), SlaState.WARNING),
        (at(2026, 3, 2, 11), SlaState.WARNING),
        (at(2026, 3, 2, 11, 0, 1), SlaState.OVERDUE),
    ],
)
def test_evaluate(now: datetime, state: SlaState) -> None:
    assert evaluate(deadline(at(2026, 3, 2, 9), "2wh"), now) is state


@pytest.mark.parametrize(
    ("done", "result"), [(at(2026, 3, 2, 11), Verdict.ON_TIME), (at(2026, 3, 2, 11, 0, 1), Verdict.OVERDUE)]
)
def test_verdict(done: datetime, result: Verdict) -> None:
    assert verdict(deadline(at(2026, 3, 2, 9), "2wh"), done) is result


def test_warn_ratio_one_warns_at_the_due() -> None:
    d = deadline(at(2026, 3, 2, 9), "2wh", warn_ratio=1.0)
    assert d.warn_at == d.due_at


def test_unofficial_year_is_flagged_and_explained() -> None:
    d = deadline(at(2026, 12, 28, 9), "5wd", rule=CountingRule.NEXT_DAY)
    assert d.due_at == at(2027, 1, 4, 17, 30)
    assert d.unofficial_years == (2027,) and not d.official
    assert any("no official schedule for 2027" in w for w in d.warnings)
    assert deadline(at(2026, 12, 31, 20), "30m").unofficial_years == ()


def test_explanation_is_json() -> None:
    d = deadline(
        at(2026, 2, 13, 10),
        "1wd",
        pauses=[Pause(at(2026, 2, 13, 11), at(2026, 2, 13, 14), "等待市民补充材料")],
        extensions=[Extension(at(2026, 2, 14, 9), add=parse_duration("1wd"), id="ext-1")],
        policy={"id": "root", "name": "默认"},
        notes=["n"],
    )
    data = json.loads(json.dumps(d.explanation, ensure_ascii=False))
    assert data["rule"] == "1 working day, counted from the next day (次日起算)"
    assert data["rule_zh"] == "1个工作日（次日起算）"
    assert data["policy"]["id"] == "root"
    assert data["pauses"][0]["paused_seconds"] == 3600 + 30 * 60
    assert data["calendar"] == {"tz": "Asia/Shanghai", "hours": "08:30-12:00,13:30-17:30"}


@pytest.mark.parametrize(
    "make",
    [
        lambda: deadline(datetime(2026, 3, 2, 9), "2wh"),
        lambda: deadline(at(2026, 3, 2, 9), "2wh", warn_ratio=0),
        lambda: deadline(at(2026, 3, 2, 9), "2wh", warn_ratio=1.5),
        lambda: Pause(at(2026, 3, 2, 9), at(2026, 3, 2, 8)),
        lambda: Pause(datetime(2026, 3, 2, 9)),
        lambda: Extension(at(2026, 3, 2)),
        lambda: Extension(at(2026, 3, 2), add=parse_duration("1wd"), new_due=at(2026, 3, 3)),
        lambda: evaluate(deadline(at(2026, 3, 2, 9), "2wh"), datetime(2026, 3, 2)),
    ],
)
def test_bad_input_is_refused(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        make()


# ----------------------------------------------------------------------------- properties
_instants = st.integers(0, 2 * 365 * 86400).map(lambda s: at(2025, 1, 1) + timedelta(seconds=s))
_pauses = st.lists(st.tuples(st.integers(0, 30 * 86400), st.integers(1, 5 * 86400)), max_size=4)


@settings(max_examples=150, deadline=None)
@given(_instants, st.sampled_from(["2wh", "8wh", "1wd", "5wd", "45m", "3d"]), _pauses)
def test_clock_time_outside_pauses_equals_the_allowed_time(
    start: datetime, duration: str, raw: list[tuple[int, int]]
) -> None:
    pauses = [Pause(start + timedelta(seconds=a), start + timedelta(seconds=a + b)) for a, b in raw]
    plain, paused = deadline(start, duration), deadline(start, duration, pauses=pauses)
    assert paused.due_at is not None and plain.due_at is not None
    assert paused.due_at >= plain.due_at
    assert plain.warn_at is not None and paused.warn_at is not None and paused.warn_at <= paused.due_at

    def measure(a: datetime, b: datetime) -> timedelta:
        return CAL.working_time_between(a, b) if paused.kind is ClockKind.WORKING else b - a

    used = measure(start, paused.due_at)
    merged: list[list[datetime]] = []
    for p in sorted(pauses, key=lambda p: p.start):
        assert p.end is not None
        if merged and p.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], p.end)
        else:
            merged.append([p.start, p.end])
    for a, b in merged:
        lo, hi = max(a, start), min(b, paused.due_at)
        if hi > lo:
            used -= measure(lo, hi)
    assert used == paused.allowed == plain.allowed
