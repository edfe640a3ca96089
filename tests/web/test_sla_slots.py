"""The SLA slots once wired (``minxin.web.sla_slots``): the 已超期 queue, the supervision
board's overdue list, 时限策略 and 工作日历 with the import of next year's schedule.
Skipped where the SLA domain is absent."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from minxin.core.clock import FixedClock, SystemClock
from minxin.web import extensions
from tests.helpers import new_order

pytestmark = pytest.mark.browser
live = pytest.importorskip("minxin.sla.live")

SLOTS = ("overdue_search", "sla_policies", "calendar_years", "calendar_import")


@pytest.fixture
def clock() -> Iterator[FixedClock]:
    fixed = FixedClock(datetime(2026, 11, 26, 1, 0, tzinfo=UTC))  # Thursday 09:00 in Shanghai
    live.use_clock(fixed)
    yield fixed
    live.use_clock(SystemClock())


@pytest.fixture
def wired(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if "minxin.sla.hooks" not in importlib.import_module("minxin.wiring").PLUGIN_MODULES:
        pytest.skip("the SLA engine is not wired")
    for name in SLOTS:
        monkeypatch.setattr(extensions, name, getattr(extensions, name))  # restored after the test
    module = importlib.import_module("minxin.web.sla_slots")
    for name in SLOTS:
        setattr(extensions, name, getattr(module, name))
    yield


def test_overdue_queue_and_board(console: Any, as_user: Any, clock: FixedClock, wired: None) -> None:
    number = new_order(as_user("agent"), title="超期未派的工单")["number"]
    clock.advance(timedelta(hours=2))  # the 30-minute dispatch clock has run out
    page = console.page_as("dispatcher")
    console.goto(page, "/queues/overdue")
    row = page.locator(f"tr[data-href='/orders/{number}']")
    assert row.count() == 1 and row.locator(".dl-overdue").count() == 1
    console.shot(page, "sla-overdue-queue")
    board = console.page_as("supervisor")
    console.goto(board, "/supervision")
    assert number in board.inner_text("section.card >> nth=0")
    console.shot(board, "sla-supervision-board")


def test_policies_and_calendar_import(console: Any, clock: FixedClock, wired: None) -> None:
    page = console.page_as("admin")
    console.goto(page, "/admin/sla")
    assert "尚未启用" not in page.inner_text("main") and page.locator("table tbody tr").count() >= 1
    console.goto(page, "/admin/calendar")
    assert "2027" in page.inner_text("table")
    csv = "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-20,workday,春节调休\n"
    page.set_input_files("input[name=file]", files=[{"name": "2027.csv", "mimeType": "text/csv", "buffer": csv.encode()}])
    page.click("form[action='/admin/calendar/import'] button[type=submit]")
    page.wait_for_selector(".flash-ok")
    assert "已导入 2 天" in page.inner_text(".flash")
    bad = "date,kind,name\n2027-02-30,holiday,错\n"
    page.set_input_files("input[name=file]", files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": bad.encode()}])
    page.click("form[action='/admin/calendar/import'] button[type=submit]")
    assert "日历文件有1处错误" in page.inner_text("#err-file")
    console.shot(page, "sla-calendar-import-error")
