"""SLA policies (most specific wins, field by field) and an order's clocks under the fair-clock rule."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from minxin.core.calendar import SHANGHAI, BusinessHours, CountingRule
from minxin.core.duration import parse_duration
from minxin.core.official_calendar import official_calendar
from minxin.core.sla import (
    Assignment,
    Clock,
    Extension,
    OrderTimeline,
    Pause,
    PolicySet,
    SlaPolicy,
    SlaState,
    Verdict,
    compute_order_deadlines,
    evaluate,
    verdict,
)

CAL = official_calendar()
D = parse_duration


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SHANGHAI)


ROOT = SlaPolicy(
    "root",
    "默认",
    dispatch=D("30m"),
    sign=D("2wh"),
    handle=D("5wd"),
    callback=D("1wd"),
    counting_rule=CountingRule.NEXT_DAY,
    warn_ratio=0.75,
)
POLICIES = PolicySet(
    [
        ROOT,
        SlaPolicy("roads", "道路", category="roads", handle=D("3wd")),
        SlaPolicy("potholes", "坑洼", category="potholes", handle=D("2wd"), sign=D("1wh")),
        SlaPolicy(
            "consult", "咨询", appeal_type="consult", handle=D("1wd"), counting_rule=CountingRule.INCLUSIVE
        ),
        SlaPolicy("roads-complaint", category="roads", appeal_type="complaint", handle=D("4wd")),
        SlaPolicy(
            "urgent", urgency="urgent", dispatch=D("15m"), sign=D("30m"), handle=D("1wd"), warn_ratio=0.5
        ),
        SlaPolicy("urgent-roads", category="roads", urgency="urgent", handle=D("8wh")),
    ]
)
ROADS = ("city", "roads")
POTHOLES = ("city", "roads", "potholes")


@pytest.mark.parametrize(
    ("path", "appeal", "urgency", "handle", "handle_from", "sign", "rule"),
    [
        ((), None, None, "5wd", "root", "2wh", CountingRule.NEXT_DAY),
        (("city", "water"), "help", "normal", "5wd", "root", "2wh", CountingRule.NEXT_DAY),
        (ROADS, "help", "normal", "3wd", "roads", "2wh", CountingRule.NEXT_DAY),
        (POTHOLES, "help", "normal", "2wd", "potholes", "1wh", CountingRule.NEXT_DAY),  # deeper category wins
        (("city",), "consult", "normal", "1wd", "consult", "2wh", CountingRule.INCLUSIVE),
        (ROADS, "consult", "normal", "3wd", "roads", "2wh", CountingRule.INCLUSIVE),  # category > appeal type
        (ROADS, "complaint", "normal", "4wd", "roads-complaint", "2wh", CountingRule.NEXT_DAY),  # cross key
        (POTHOLES, "complaint", "normal", "2wd", "potholes", "1wh", CountingRule.NEXT_DAY),  # depth 3 > 2
        (("city",), "help", "urgent", "1wd", "urgent", "30m", CountingRule.NEXT_DAY),
        (
            POTHOLES,
            "complaint",
            "urgent",
            "8wh",
            "urgent-roads",
            "30m",
            CountingRule.NEXT_DAY,
        ),  # urgency first
    ],
)
def test_resolution(
    path: tuple[str, ...],
    appeal: str | None,
    urgency: str | None,
    handle: str,
    handle_from: str,
    sign: str,
    rule: CountingRule,
) -> None:
    resolved = POLICIES.resolve(path, appeal, urgency)
    assert str(resolved.duration(Clock.HANDLE)) == handle
    assert resolved.sources["handle"] == handle_from
    assert str(resolved.duration("sign")) == sign
    assert resolved.counting_rule is rule
    assert resolved.chain[-1] == "root"


def test_resolution_details() -> None:
    resolved = POLICIES.resolve(POTHOLES, "complaint", "urgent")
    assert resolved.chain == ("urgent-roads", "urgent", "potholes", "roads-complaint", "roads", "root")
    assert resolved.sources == {
        "dispatch": "urgent",
        "sign": "urgent",
        "handle": "urgent-roads",
        "callback": "root",
        "counting_rule": "root",
        "warn_ratio": "urgent",
    }
    assert resolved.warn_ratio == 0.5
    assert resolved.describe(Clock.CALLBACK)["name"] == "默认"


@pytest.mark.parametrize(
    ("policies", "message"),
    [
        ([SlaPolicy("x", category="roads", handle=D("1wd"))], "root policy"),
        ([SlaPolicy("r", handle=D("1wd"))], "must set dispatch, sign, callback, counting_rule, warn_ratio"),
        ([ROOT, SlaPolicy("root", category="a")], "duplicate SLA policy id"),
        ([ROOT, SlaPolicy("a", category="x"), SlaPolicy("b", category="x")], "same keys"),
    ],
)
def test_policy_set_validation(policies: list[SlaPolicy], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PolicySet(policies)


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="warn_ratio"):
        SlaPolicy("x", warn_ratio=0)
    assert SlaPolicy("x", counting_rule="inclusive").counting_rule is CountingRule.INCLUSIVE  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- order clocks
UNIT_A, UNIT_B = CAL, CAL.with_hours(BusinessHours.parse("09:00-12:00,13:00-17:00"))


def redispatched_order(**kw: object) -> OrderTimeline:
    """Registered Mon 2026-03-02 09:00, wrongly dispatched to A at 09:10, A returns it Tue 10:00,
    re-dispatched to B at 10:20."""
    base: dict[str, object] = {
        "registered_at": at(2026, 3, 2, 9),
        "assignments": (
            Assignment(
                "A", at(2026, 3, 2, 9, 10), UNIT_A, ended_at=at(2026, 3, 3, 10), end_reason="wrong_dispatch"
            ),
            Assignment("B", at(2026, 3, 3, 10, 20), UNIT_B, signed_at=at(2026, 3, 3, 10, 40)),
        ),
    }
    base.update(kw)
    return OrderTimeline(**base)  # type: ignore[arg-type]


def test_fair_clock_on_redispatch() -> None:
    result = compute_order_deadlines(POLICIES.resolve(("city",)), redispatched_order(), CAL)
    # the centre's dispatch clock keeps counting from registration and is judged on the final dispatch
    assert result.dispatch.due_at == at(2026, 3, 2, 9, 30)
    assert verdict(result.dispatch, at(2026, 3, 3, 10, 20)) is Verdict.OVERDUE
    assert "does not restart" in result.dispatch.explanation["notes"][0]
    a, b = result.units
    assert (a.unit, a.current, a.end_reason) == ("A", False, "wrong_dispatch")
    assert a.sign.due_at == at(2026, 3, 2, 11, 10)
    assert a.handle.due_at == at(2026, 3, 9, 17, 30)
    # the new unit gets full, fresh clocks from its own dispatch, on its own business hours
    assert result.current is b and b.current
    assert b.sign.due_at == at(2026, 3, 3, 13, 20)  # 10:20–12:00 + 13:00–13:20
    assert b.handle.due_at == at(2026, 3, 10, 17)
    assert b.handle.start == at(2026, 3, 3, 10, 20)
    assert any("fair clock" in n for n in b.handle.explanation["notes"])
    assert result.callback is None
    assert len(result.all()) == 5
    json.dumps(result.to_dict(), ensure_ascii=False)


def test_pauses_and_extensions_belong_to_the_assignment_they_happened_in() -> None:
    timeline = redispatched_order(
        pauses=(
            Pause(at(2026, 3, 2, 14), at(2026, 3, 2, 15)),  # while at A
            Pause(at(2026, 3, 4, 9), at(2026, 3, 5, 9)),  # while at B: one working day of B
        ),
        extensions=(
            Extension(at(2026, 3, 2, 15), add=D("3wd")),  # granted to A
            Extension(at(2026, 3, 6, 9), add=D("1wd"), reason="协调多部门"),  # granted to B
            Extension(at(2026, 3, 3, 9), add=D("1h"), clock="dispatch"),
        ),
    )
    result = compute_order_deadlines(POLICIES.resolve(("city",)), timeline, CAL)
    a, b = result.units
    # A: 3-09 17:30 pushed by the 1 h pause → 3-10 09:30, then +3wd from there → 3-13 17:30
    assert a.handle.due_at == at(2026, 3, 13, 17, 30)
    assert b.handle.due_at == at(2026, 3, 12, 17)  # 3-10 17:00, +1 working day paused, +1wd extension
    assert [e["reason"] for e in b.handle.explanation["extensions"]] == ["协调多部门"]
    assert result.dispatch.due_at == at(2026, 3, 2, 10, 30)


def test_suspended_order_holds_the_current_units_clock() -> None:
    timeline = redispatched_order(pauses=(Pause(at(2026, 3, 4, 9)),))
    result = compute_order_deadlines(POLICIES.resolve(("city",)), timeline, CAL)
    current = result.current
    assert current is not None
    assert current.handle.due_at is None
    assert evaluate(current.handle, at(2026, 3, 20)) is SlaState.PAUSED
    assert result.units[0].handle.due_at == at(2026, 3, 9, 17, 30)  # A's record is unaffected


def test_callback_clock_runs_from_the_reply() -> None:
    timeline = redispatched_order(replied_at=at(2026, 3, 6, 16))
    result = compute_order_deadlines(POLICIES.resolve(("city",)), timeline, CAL)
    assert result.callback is not None
    assert result.callback.due_at == at(2026, 3, 9, 17, 30)
    assert len(result.all()) == 6


def test_unofficial_years_are_collected_for_the_order() -> None:
    timeline = OrderTimeline(
        registered_at=at(2026, 12, 28, 9), assignments=(Assignment("A", at(2026, 12, 28, 9, 10), UNIT_A),)
    )
    result = compute_order_deadlines(POLICIES.resolve(()), timeline, CAL)
    assert result.unofficial_years == (2027,)
    assert result.to_dict()["unofficial_years"] == [2027]
    assert result.dispatch.unofficial_years == ()  # natural 30 minutes
