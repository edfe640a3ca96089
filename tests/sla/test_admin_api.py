"""The calendar and policy admin API: reads for everyone, writes for admins, 422 for bad input."""

from __future__ import annotations

import pytest

from tests.helpers import error_code
from tests.sla.conftest import one
from tests.sla.flow import Flow


@pytest.fixture
def flow(as_user, clock) -> Flow:
    return Flow(as_user, clock)


def test_year_view_check_and_due(as_user) -> None:
    agent = as_user("agent")
    view = agent.get("/api/v1/calendar/days", params={"year": 2026}).json()
    assert view["official"] is True and view["source"] == "package"
    assert any(d["date"] == "2026-02-14" and d["kind"] == "workday" for d in view["days"])
    assert agent.get("/api/v1/calendar/days", params={"year": 2027}).json()["official"] is False
    check = agent.get("/api/v1/calendar/check", params={"date": "2026-10-03"}).json()
    assert check["working"] is False and check["kind"] == "holiday" and "国庆节" in check["name"]
    assert agent.get("/api/v1/calendar/check", params={"date": "2027-03-01"}).json()["warning"].startswith("no official")
    due = agent.get("/api/v1/calendar/due", params={"start": "2026-02-13T16:00+08:00", "duration": "1wd"}).json()
    assert due["due"] == "2026-02-14T17:30:00+08:00" and due["warning"] is None
    due = agent.get("/api/v1/calendar/due", params={"start": "2026-02-13T16:00+08:00", "duration": "1wd", "unit": "GD-LZ"}).json()
    assert due["due"] == "2026-02-15T00:00:00+08:00" and due["hours"] == "24x7"
    late = agent.get("/api/v1/calendar/due", params={"start": "2026-12-31T10:00+08:00", "duration": "3wd"}).json()
    assert late["unofficial_years"] == [2027] and "2027" in late["warning"]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"start": "2026-02-13T16:00", "duration": "1.5wd"}, 422, "calendar.bad_duration"),
        ({"start": "yesterday", "duration": "1wd"}, 422, "calendar.bad_start"),
        ({"start": "2026-02-13", "duration": "1wd", "rule": "weekly"}, 422, "calendar.bad_rule"),
        ({"start": "2026-02-13", "duration": "1wd", "unit": "NOPE"}, 404, "unit.not_found"),
        ({"duration": "1wd"}, 422, "invalid"),
    ],
)
def test_due_refuses_bad_input_with_both_languages(as_user, params, status, code) -> None:
    response = as_user("agent").get("/api/v1/calendar/due", params=params)
    assert response.status_code == status and error_code(response) == code
    assert response.json()["error"]["message_zh"] and response.json()["error"]["message_en"]


def test_admin_replaces_a_year_and_imports_files(as_user) -> None:
    admin, agent = as_user("admin"), as_user("agent")
    days = {"days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}, {"date": "2027-02-07", "kind": "workday", "name": "春节"}]}
    assert agent.put("/api/v1/calendar/days", params={"year": 2027}, json=days).status_code == 403
    view = admin.put("/api/v1/calendar/days", params={"year": 2027}, json=days).json()
    assert view["official"] is True and view["source"] == "admin" and len(view["days"]) == 2
    check = agent.get("/api/v1/calendar/check", params={"date": "2027-02-07"}).json()
    assert check["working"] is True and check["kind"] == "makeup_workday" and check["warning"] is None
    wrong = admin.put("/api/v1/calendar/days", params={"year": 2028}, json=days)
    assert wrong.status_code == 422 and error_code(wrong) == "calendar.wrong_year"
    bad_kind = admin.put("/api/v1/calendar/days", params={"year": 2027}, json={"days": [{"date": "2027-01-01", "kind": "party"}]})
    assert bad_kind.status_code == 422 and error_code(bad_kind) == "calendar.bad_kind"
    yaml_file = "year: 2028\ndays:\n  - {date: 2028-01-01, kind: holiday, name: 元旦}\n"
    imported = admin.post("/api/v1/calendar/import", files={"file": ("2028.yaml", yaml_file.encode(), "application/yaml")})
    assert imported.status_code == 200 and imported.json()["years"] == [2028]
    bad = admin.post("/api/v1/calendar/import", files={"file": ("x.csv", b"2028-02-30,holiday\nnope\n", "text/csv")})
    assert bad.status_code == 422 and error_code(bad) == "calendar.bad_file"
    assert [p["line"] for p in bad.json()["error"]["details"]["problems"]] == [1, 2]
    exported = agent.get("/api/v1/calendar/export", params={"year": 2027})
    assert exported.text.splitlines() == ["date,kind,name", "2027-01-01,holiday,元旦", "2027-02-07,workday,春节"]


def test_policies_start_from_the_packaged_defaults_and_are_editable(as_user, flow: Flow) -> None:
    admin = as_user("admin")
    listed = as_user("agent").get("/api/v1/sla/policies").json()
    assert listed["source"] == "database"  # seeded at start (build_state)
    by_id = {p["id"]: p for p in listed["items"]}
    assert by_id["default"]["handle"] == "1wd" and by_id["complaint"]["handle"] == "5wd"
    assert by_id["emergency-power"]["handle"] == "45m"
    created = admin.post("/api/v1/sla/policies", json={"id": "heating", "name": "供暖 2工作日", "category": "0803", "handle": "2wd"})
    assert created.status_code == 201, created.text
    listed = admin.get("/api/v1/sla/policies").json()
    assert listed["source"] == "database" and len(listed["items"]) == len(by_id) + 1
    dup = admin.post("/api/v1/sla/policies", json={"id": "heating2", "category": "0803", "handle": "3wd"})
    assert dup.status_code == 409 and error_code(dup) == "sla.policy_exists"
    for body, code in (
        ({"id": "x", "handle": "1.5wd"}, "sla.bad_duration"),
        ({"id": "y", "appeal_type": "gossip", "handle": "1wd"}, "sla.bad_appeal_type"),
        ({"id": "z", "category": "999999", "handle": "1wd"}, "sla.bad_category"),
        ({"id": "w", "urgency": "urgent", "warn_ratio": 1.5}, "sla.bad_warn_ratio"),
    ):
        response = admin.post("/api/v1/sla/policies", json=body)
        assert response.status_code == 422 and error_code(response) == code, response.text
    root_off = admin.patch("/api/v1/sla/policies/default", json={"active": False})
    assert root_off.status_code == 422 and error_code(root_off) == "sla.invalid_policy_set"
    unset = admin.patch("/api/v1/sla/policies/default", json={"handle": None})
    assert unset.status_code == 422 and error_code(unset) == "sla.invalid_policy_set"
    assert admin.patch("/api/v1/sla/policies/nope", json={"handle": "1wd"}).status_code == 404
    assert as_user("agent").patch("/api/v1/sla/policies/default", json={"handle": "2wd"}).status_code == 403
    changed = admin.patch("/api/v1/sla/policies/default", json={"handle": "2wd"})
    assert changed.status_code == 200 and changed.json()["handle"] == "2wd"
    order = flow.get(flow.dispatched("2026-03-09T09:00"))
    assert one(order, "handle")["due_at"] == "2026-03-11T17:30:00+08:00"
    resolved = admin.get("/api/v1/sla/policies/resolve", params={"category": "080301", "urgency": "emergency"}).json()
    assert resolved["durations"]["handle"] == "90m" and resolved["sources"]["handle"] == "emergency-utilities"


def test_unit_business_hours_drive_its_clocks(as_user, flow: Flow) -> None:
    hours = {"business_hours": [["09:00", "12:00"], ["14:00", "18:00"]]}
    assert as_user("admin").patch("/api/v1/units/CGJ", json=hours).status_code == 200
    due = as_user("agent").get("/api/v1/calendar/due", params={"start": "2026-03-09T11:00", "duration": "2wh", "unit": "CGJ"})
    assert due.json()["due"] == "2026-03-09T15:00:00+08:00" and due.json()["hours"] == "09:00-12:00,14:00-18:00"
    order = flow.get(flow.dispatched("2026-03-09T11:00"))
    assert one(order, "sign")["due_at"] == "2026-03-09T15:00:00+08:00"
    assert one(order, "handle")["due_at"] == "2026-03-10T18:00:00+08:00"
