"""Deadlines on real orders, through the HTTP API, on a fixed clock (times are Asia/Shanghai).

CGJ (城管局) keeps the default office hours 08:30–12:00, 13:30–17:30; the default policy for a
repair is dispatch 30m, sign 2wh, handle 1wd (次日起算), callback 1wd, yellow at 75 %.
"""

from __future__ import annotations

import logging

import pytest

from tests.helpers import error_code
from tests.sla.conftest import one
from tests.sla.flow import Flow


@pytest.fixture
def flow(as_user, clock) -> Flow:
    return Flow(as_user, clock)


def test_dispatch_clock_is_thirty_natural_minutes_and_turns_yellow_then_red(flow: Flow, as_user) -> None:
    number = flow.register("2026-03-04T10:00")
    order = flow.get(number)
    d = one(order, "dispatch")
    assert d["due_at"] == "2026-03-04T10:30:00+08:00"
    assert d["warn_at"] == "2026-03-04T10:22:30+08:00"
    assert d["state"] == "ok" and d["policy"] == "default" and d["duration"] == "30m"
    assert d["explanation"]["kind"] == "natural" and d["unit"] == "12345"
    assert one(flow.get(number, "2026-03-04T10:25"), "dispatch")["state"] == "warning"
    items = as_user("supervisor").get("/api/v1/orders", params={"q": number}).json()["items"]
    assert items[0]["deadline"] == {
        "kind": "dispatch", "due_at": "2026-03-04T10:30:00+08:00", "warn_at": "2026-03-04T10:22:30+08:00",
        "state": "warning", "unit": "12345",
    }
    assert one(flow.get(number, "2026-03-04T10:31"), "dispatch")["state"] == "overdue"
    order = flow.do("2026-03-04T10:40", "dispatcher", number, "dispatch", {"unit": "CGJ"})
    d = one(order, "dispatch")
    assert d["state"] == "met" and d["verdict"] == "overdue" and d["met_at"] == "2026-03-04T10:40:00+08:00"


def test_sign_clock_is_two_working_hours_across_the_lunch_break(flow: Flow) -> None:
    number = flow.dispatched("2026-03-04T11:00")
    order = flow.get(number)
    sign = one(order, "sign")
    assert sign["unit"] == "CGJ" and sign["duration"] == "2wh"
    assert sign["due_at"] == "2026-03-04T14:30:00+08:00"  # 11:00-12:00 + 13:30-14:30
    assert sign["warn_at"] == "2026-03-04T14:00:00+08:00"  # 1.5 working hours
    assert sign["explanation"]["calendar"]["hours"] == "08:30-12:00,13:30-17:30"
    assert one(order, "handle")["due_at"] == "2026-03-05T17:30:00+08:00"
    assert one(flow.get(number, "2026-03-04T13:00"), "sign")["state"] == "ok"  # lunch does not count
    order = flow.do("2026-03-04T14:10", "cgj_handler", number, "sign")
    sign = one(order, "sign")
    assert sign["state"] == "met" and sign["verdict"] == "on_time"


@pytest.mark.parametrize(
    ("dispatched", "due"),
    [
        ("2026-03-06T10:00", "2026-03-09T17:30:00+08:00"),  # Friday → Monday over a weekend
        ("2026-02-13T16:00", "2026-02-14T17:30:00+08:00"),  # Friday → the 调休 make-up Saturday
        ("2026-09-30T10:00", "2026-10-08T17:30:00+08:00"),  # over 国庆 (10-01..10-07 off)
    ],
)
def test_handle_clock_is_one_working_day_on_the_official_schedule(flow: Flow, dispatched: str, due: str) -> None:
    order = flow.get(flow.dispatched(dispatched))
    handle = one(order, "handle")
    assert handle["due_at"] == due
    assert handle["unofficial_schedule_warning"] is None
    assert handle["explanation"]["rule"] == "1 working day, counted from the next day (次日起算)"


def test_sign_clock_runs_over_the_weekend_to_monday_morning(flow: Flow) -> None:
    order = flow.get(flow.dispatched("2026-03-06T16:30"))
    assert one(order, "sign")["due_at"] == "2026-03-09T09:30:00+08:00"


def test_suspension_pauses_the_clock_and_moves_the_due_by_the_paused_working_time(flow: Flow) -> None:
    number = flow.dispatched("2026-03-09T09:00")
    flow.do("2026-03-09T09:10", "cgj_handler", number, "sign")
    assert one(flow.get(number), "handle")["due_at"] == "2026-03-10T17:30:00+08:00"
    order = flow.do("2026-03-09T10:00", "cgj_handler", number, "suspend", {"reason": "等待来电人补充材料"})
    handle = one(order, "handle")
    assert handle["state"] == "paused" and handle["due_at"] is None
    assert handle["paused_since"] == "2026-03-09T10:00:00+08:00"
    assert one(flow.get(number, "2026-03-12T10:00"), "handle")["state"] == "paused"  # never overdue while paused
    order = flow.do("2026-03-09T15:00", "cgj_handler", number, "resume")
    handle = one(order, "handle")
    # paused 10:00-12:00 and 13:30-15:00 = 3.5 working hours → Tue 17:30 + 3.5 wh = Wed 12:00
    assert handle["due_at"] == "2026-03-11T12:00:00+08:00"
    assert handle["state"] == "ok"
    pauses = handle["explanation"]["pauses"]
    assert len(pauses) == 1 and pauses[0]["paused_seconds"] == 3.5 * 3600 and pauses[0]["applied"] is True


def test_approved_extension_moves_the_due_and_a_denied_one_does_not(flow: Flow) -> None:
    number = flow.dispatched("2026-03-09T09:00")
    flow.do("2026-03-09T09:10", "cgj_handler", number, "sign")
    flow.do("2026-03-10T09:00", "cgj_handler", number, "request_extension", {"duration": "1wd", "reason": "需现场勘查"})
    order = flow.do("2026-03-10T09:30", "supervisor", number, "decide_extension", {"approve": False})
    assert one(order, "handle")["due_at"] == "2026-03-10T17:30:00+08:00"
    flow.do("2026-03-10T09:40", "cgj_handler", number, "request_extension", {"duration": "2wd", "reason": "需协调多部门"})
    order = flow.do("2026-03-10T10:00", "supervisor", number, "decide_extension", {"approve": True})
    handle = one(order, "handle")
    assert handle["due_at"] == "2026-03-12T17:30:00+08:00"  # 2 working days after Tue 17:30
    ext = handle["explanation"]["extensions"]
    assert len(ext) == 1 and ext[0]["add"] == "2wd" and ext[0]["due_before"] == "2026-03-10T17:30:00+08:00"
    assert one(order, "sign")["due_at"] == "2026-03-09T11:00:00+08:00"  # the extension is for the handle clock


def test_fractional_extension_is_refused_before_it_can_be_approved(flow: Flow, as_user) -> None:
    number = flow.dispatched("2026-03-09T09:00")
    flow.do("2026-03-09T09:10", "cgj_handler", number, "sign")
    response = as_user("cgj_handler").post(
        f"/api/v1/orders/{number}/actions/request_extension", json={"duration": "1.5wd", "reason": "x"}
    )
    assert response.status_code == 422 and error_code(response) == "order.invalid_payload"
    assert "3wd" in str(response.json()["error"]["details"])  # the schema names the accepted form


def test_return_and_re_dispatch_gives_the_new_unit_a_fresh_clock(flow: Flow) -> None:
    number = flow.register("2026-03-09T08:50")
    flow.do("2026-03-09T09:00", "dispatcher", number, "dispatch", {"unit": "CGJ"})
    order = flow.do("2026-03-10T16:00", "cgj_handler", number, "return", {"reason": "不属于本单位职责"})
    assert one(order, "dispatch")["state"] == "overdue"  # the centre's clock runs again
    flow.do("2026-03-11T09:50", "dispatcher", number, "review_return", {"approve": True})
    order = flow.do("2026-03-11T10:00", "dispatcher", number, "dispatch", {"unit": "ZJJ"})
    first_sign, first_handle = one(order, "sign", 0), one(order, "handle", 0)
    assert first_sign["unit"] == "CGJ" and first_sign["state"] == "met"  # returning is a response
    assert first_handle["state"] == "cancelled" and first_handle["ended_at"] == "2026-03-10T16:00:00+08:00"
    sign, handle = one(order, "sign", 1), one(order, "handle", 1)
    assert sign["unit"] == "ZJJ" and handle["unit"] == "ZJJ"
    assert sign["started_at"] == "2026-03-11T10:00:00+08:00"
    assert sign["due_at"] == "2026-03-11T12:00:00+08:00"
    assert handle["due_at"] == "2026-03-12T17:30:00+08:00"  # full 1 wd from the new dispatch
    assert any("fair clock" in n for n in handle["explanation"]["notes"])
    dispatch = one(order, "dispatch")
    assert dispatch["state"] == "met" and dispatch["verdict"] == "overdue"
    assert dispatch["met_at"] == "2026-03-11T10:00:00+08:00"


def test_transfer_by_the_dispatcher_ends_the_first_units_clocks(flow: Flow) -> None:
    number = flow.dispatched("2026-03-09T09:00")
    order = flow.do("2026-03-09T09:20", "dispatcher", number, "dispatch", {"unit": "ZJJ"})
    assert one(order, "sign", 0)["state"] == "cancelled"
    assert one(order, "handle", 1)["due_at"] == "2026-03-10T17:30:00+08:00"
    assert one(order, "sign", 1)["due_at"] == "2026-03-09T11:20:00+08:00"


def test_a_rejected_return_buys_the_unit_no_time(flow: Flow) -> None:
    number = flow.dispatched("2026-03-09T09:00")
    flow.do("2026-03-09T10:00", "cgj_handler", number, "return", {"reason": "不属于本单位"})
    order = flow.do("2026-03-10T15:00", "dispatcher", number, "review_return", {"approve": False})
    handle = one(order, "handle", 0)
    assert handle["state"] == "warning" and handle["due_at"] == "2026-03-10T17:30:00+08:00"
    assert handle["warn_at"] == "2026-03-10T13:52:30+08:00"  # 75 % of 14.5 working hours
    assert len([c for c in order["deadlines"] if c["kind"] == "handle"]) == 1


def test_second_level_dispatch_keeps_the_county_clock(flow: Flow) -> None:
    number = flow.dispatched("2026-03-09T09:00", unit="GD-LZ")  # 24×7 power company
    flow.do("2026-03-09T09:30", "lz_handler", number, "sign")
    order = flow.do("2026-03-09T09:40", "lz_handler", number, "dispatch", {"unit": "GD-LZ-CZ"})
    handles = [c for c in order["deadlines"] if c["kind"] == "handle"]
    assert len(handles) == 1 and handles[0]["unit"] == "GD-LZ"
    assert handles[0]["explanation"]["calendar"]["hours"] == "24x7"
    assert handles[0]["due_at"] == "2026-03-11T00:00:00+08:00"  # end of the next working day, 24:00


def test_closing_freezes_the_verdict(flow: Flow, state) -> None:
    from minxin.sla.tasks import scan_all

    number = flow.dispatched("2026-03-09T09:00")
    flow.do("2026-03-09T09:10", "cgj_handler", number, "sign")
    order = flow.reply("2026-03-11T10:00", number)  # handle was due Tue 17:30
    handle = one(order, "handle")
    assert handle["state"] == "met" and handle["verdict"] == "overdue"
    assert one(order, "callback")["due_at"] == "2026-03-12T17:30:00+08:00"
    order = flow.do("2026-03-11T11:00", "supervisor", number, "callback", {"satisfaction": "satisfied", "resolved": True})
    assert order["status"] == "closed" and order["sla_verdict"] == "overdue"
    assert one(order, "callback")["verdict"] == "on_time"
    frozen = order["deadlines"]
    later = flow.get(number, "2026-06-01T10:00")
    assert later["deadlines"] == frozen and later["sla_verdict"] == "overdue"
    assert scan_all(state.db, flow.clock.current) == {"warning": 0, "overdue": 0, "skipped": 0}


def test_order_output_explains_every_deadline(flow: Flow) -> None:
    number = flow.dispatched("2026-03-09T09:00", appeal_type="complaint")
    order = flow.get(number)
    assert [c["kind"] for c in order["deadlines"]] == ["dispatch", "sign", "handle"]
    handle = one(order, "handle")
    assert handle["policy"] == "complaint" and handle["duration"] == "5wd"
    assert handle["due_at"] == "2026-03-16T17:30:00+08:00"
    e = handle["explanation"]
    assert e["policy"]["id"] == "complaint" and e["policy"]["counting_rule_from"] == "default"
    assert e["rule_zh"] == "5个工作日（次日起算）" and e["counting_rule"] == "next_day"
    assert e["pauses"] == [] and e["extensions"] == [] and e["warnings"] == []
    assert e["outcome"]["state"] == "running" and e["start"] == "2026-03-09T09:00:00+08:00"
    assert handle["label_zh"] == "办理时限" and handle["rule_zh"] == "5个工作日（次日起算）"


def test_emergency_gets_natural_minute_clocks(flow: Flow) -> None:
    order = flow.get(flow.dispatched("2026-03-07T22:00", unit="GD-LZ", urgency="emergency", category="080101"))
    handle = one(order, "handle")
    assert handle["duration"] == "45m" and handle["policy"] == "emergency-power"
    assert handle["due_at"] == "2026-03-07T22:45:00+08:00"  # Saturday night: natural minutes
    assert one(order, "sign")["due_at"] == "2026-03-07T22:10:00+08:00"


def test_a_deadline_in_a_year_without_schedule_warns_in_api_and_log(flow: Flow, as_user, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="minxin.sla")
    number = flow.dispatched("2026-12-30T16:10", appeal_type="complaint")
    handle = one(flow.get(number), "handle")
    assert handle["due_at"] == "2027-01-06T17:30:00+08:00"  # weekends only: 2027-01-01 counted as working
    assert "2027" in handle["unofficial_schedule_warning"]
    assert handle["explanation"]["unofficial_years"] == [2027]
    assert any("WITHOUT an official schedule for 2027" in r.getMessage() for r in caplog.records)
    csv = "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-06,holiday,春节\n2027-02-07,workday,春节\n"
    response = as_user("admin").post("/api/v1/calendar/import", files={"file": ("2027.csv", csv.encode(), "text/csv")})
    assert response.status_code == 200, response.text
    assert response.json()["recomputed_orders"] >= 1
    handle = one(flow.get(number), "handle")
    assert handle["due_at"] == "2027-01-07T17:30:00+08:00" and handle["unofficial_schedule_warning"] is None


def test_reopen_starts_a_new_round_with_fresh_clocks(flow: Flow) -> None:
    number = flow.dispatched("2026-03-09T09:00")
    flow.do("2026-03-09T09:10", "cgj_handler", number, "sign")
    flow.reply("2026-03-09T15:00", number)
    flow.do("2026-03-10T09:00", "supervisor", number, "callback", {"satisfaction": "dissatisfied", "resolved": False})
    order = flow.do("2026-03-10T10:00", "supervisor", number, "reopen", {"reason": "问题仍未解决"})
    assert {c["kind"] for c in order["deadlines"] if c["round"] == 1} == {"sign", "handle"}
    assert one(order, "handle", round_=1)["due_at"] == "2026-03-11T17:30:00+08:00"
    assert one(order, "handle", round_=0)["verdict"] == "on_time"
    assert one(order, "callback", round_=0)["state"] == "met"
