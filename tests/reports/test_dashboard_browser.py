"""The dashboard in a real browser (headless Chromium): the charts draw under the console's strict
Content-Security-Policy with nothing loaded from outside, and a click on a figure opens the
orders behind it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from minxin.reports.importer import ImportOptions, run_import
from tests.reports.csvrows import CST, random_rows, to_csv

pytestmark = pytest.mark.browser


def test_the_dashboard_draws_its_charts_and_every_figure_opens_its_orders(console: Any, state: Any, tmp_path: Path) -> None:
    now = datetime.now(CST)
    rows = random_rows(900, seed=61, start=now.replace(day=1, hour=0, minute=0) , days=max(1, now.day - 1) or 1)
    rows += random_rows(900, seed=62, start=datetime(now.year - 1, now.month, 1, tzinfo=CST), days=28)
    path = tmp_path / "h.csv"
    path.write_text(to_csv(rows), encoding="utf-8")
    assert run_import(state.db, path, ImportOptions(), now=datetime.now(UTC)).ok
    page = console.page_as("gd_leader")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    assert console.goto(page, "/dashboard").status == 200
    for chart in ("trend", "channel", "appeal_type", "category", "ranking"):
        page.wait_for_selector(f"#chart-{chart} canvas")
    console.shot(page, "dashboard-gd-leader")
    assert problems == [] and console.external_requests() == []
    assert page.locator(".dash-card").count() == 8
    page.locator("table.ranking tbody tr").first.locator("a").first.click()
    page.wait_for_url("**/dashboard/orders?**")
    assert page.locator("table.list tbody tr").count() >= 1
    assert "GD-" in page.url and "exact_unit" in page.url
    console.shot(page, "dashboard-orders")
    console.goto(page, "/dashboard")
    page.wait_for_selector("#chart-channel canvas")
    pie = page.locator("#chart-channel")
    box = pie.bounding_box()
    assert box is not None
    pie.click(position={"x": box["width"] * 0.7, "y": box["height"] / 2})  # on the ring, right of centre
    page.wait_for_url("**/dashboard/orders?**channel=**")
    assert page.locator("table.list tbody tr").count() >= 1
