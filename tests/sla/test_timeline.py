"""Events → rounds (pure): how each action moves the SLA facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from minxin.core.duration import parse_duration
from minxin.sla.timeline import rounds_of

T0 = datetime.fromisoformat("2026-03-09T09:00+08:00")


@dataclass
class Ev:
    seq: int
    action: str
    to_status: str
    minutes: int
    payload: dict[str, Any] = field(default_factory=dict)
    actor_role: str = "dispatcher"
    outcome: str = ""

    @property
    def at(self) -> datetime:
        return T0 + timedelta(minutes=self.minutes)


def history(*rows: tuple[Any, ...]) -> list[Ev]:
    return [Ev(i + 1, *row) for i, row in enumerate(rows)]


def test_dispatch_sign_suspend_resume_extension_reply_callback() -> None:
    (r,) = rounds_of(
        history(
            ("register", "registered", 0),
            ("dispatch", "dispatched", 5, {"unit": "CGJ"}),
            ("sign", "signed", 10, {}, "handler"),
            ("suspend", "suspended", 20, {"reason": "x"}, "handler"),
            ("resume", "signed", 80, {}, "handler"),
            ("decide_extension", "signed", 90, {"approve": True, "duration": "2wd", "request_id": 7}, "supervisor"),
            ("decide_extension", "signed", 95, {"approve": False, "duration": "9wd"}, "supervisor"),
            ("reply", "replied", 120, {}, "handler"),
            ("callback", "replied", 130, {"reachable": False}, "agent"),
            ("callback", "closed", 140, {"reachable": True}, "agent"),
        )
    )
    (t,) = r.tenures
    assert t.unit == "CGJ" and t.signed_at == T0 + timedelta(minutes=10) and t.replied_at == T0 + timedelta(minutes=120)
    assert [(p.start, p.end) for p in r.pauses] == [(T0 + timedelta(minutes=20), T0 + timedelta(minutes=80))]
    assert [(e.add, e.id) for e in r.extensions] == [(parse_duration("2wd"), "7")]
    assert r.callback_at == T0 + timedelta(minutes=140) and r.end_action == "callback"


def test_suspended_then_voided_closes_the_pause_at_the_void() -> None:
    (r,) = rounds_of(
        history(
            ("register", "registered", 0),
            ("dispatch", "dispatched", 5, {"unit": "CGJ"}),
            ("sign", "signed", 10, {}, "handler"),
            ("suspend", "suspended", 20, {}, "handler"),
            ("void", "void", 60, {"reason": "x"}, "supervisor"),
        )
    )
    assert r.ended_at == T0 + timedelta(minutes=60) and r.end_action == "void"
    assert [(p.start, p.end) for p in r.pauses_now()] == [(T0 + timedelta(minutes=20), T0 + timedelta(minutes=60))]


def test_returns_transfers_and_second_level_dispatch() -> None:
    (r,) = rounds_of(
        history(
            ("register", "registered", 0),
            ("dispatch", "dispatched", 5, {"unit": "CGJ"}),
            ("return", "returned", 30, {"reason": "x"}, "handler"),
            ("review_return", "dispatched", 40, {"approve": False}),  # rejected: CGJ continues
            ("dispatch", "dispatched", 50, {"unit": "ZJJ"}),  # transfer (改派)
            ("sign", "signed", 55, {}, "handler"),
            ("dispatch", "dispatched", 60, {"unit": "ZJJ-1"}, "handler"),  # 二级派单
            ("sign", "signed", 65, {}, "handler"),
        )
    )
    first, second = r.tenures
    assert first.unit == "CGJ" and first.end_reason == "transferred" and first.ended_at == T0 + timedelta(minutes=50)
    assert first.responded_at == T0 + timedelta(minutes=30)  # the return answered the dispatch
    assert any("rejected" in n for n in first.notes)
    assert second.unit == "ZJJ" and second.open and second.sub_units == ["ZJJ-1"]
    assert second.signed_at == T0 + timedelta(minutes=55)


def test_reopen_starts_a_new_round_and_ends_the_old_one() -> None:
    r0, r1 = rounds_of(
        history(
            ("register", "registered", 0),
            ("dispatch", "dispatched", 5, {"unit": "CGJ"}),
            ("sign", "signed", 10, {}, "handler"),
            ("reply", "replied", 20, {}, "handler"),
            ("callback", "replied", 30, {"reachable": True}, "supervisor"),
            ("reopen", "dispatched", 40, {"unit": "CGJ", "round": 1}, "supervisor"),
        )
    )
    assert r0.end_action == "reopen" and r0.ended_at == T0 + timedelta(minutes=40)
    assert r1.number == 1 and r1.reopened and r1.start == T0 + timedelta(minutes=40)
    assert [t.unit for t in r1.tenures] == ["CGJ"] and r1.replied_at is None


def test_an_unparsable_extension_is_noted_not_applied() -> None:
    (r,) = rounds_of(
        history(
            ("register", "registered", 0),
            ("decide_extension", "registered", 5, {"approve": True, "duration": "1.5wd"}, "supervisor"),
        )
    )
    assert r.extensions == [] and "could not be applied" in r.notes[0]
