"""The stats API: scoping by role and unit subtree, drill-down links, validation (422, never 500),
the versioned scorecard configuration, downloads, and the dashboard pages."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from minxin.reports.importer import ImportOptions, run_import
from tests.helpers import error_code
from tests.reports.csvrows import CST, random_rows, to_csv

PERIOD = {"from": "2026-09-01", "to": "2026-10-31"}
GDGS = {"GD-LZ", "GD-XM"}  # the units of the power company's subtree used by random_rows


@pytest.fixture
def history(state: Any, tmp_path: Path) -> list[dict[str, str]]:
    rows = random_rows(600, seed=41, start=datetime(2026, 9, 1, tzinfo=CST), days=61)
    path = tmp_path / "h.csv"
    path.write_text(to_csv(rows), encoding="utf-8")
    assert run_import(state.db, path, ImportOptions(), now=datetime.now(UTC)).ok
    return rows


def _effective(rows: list[dict[str, str]], units: set[str] | None = None) -> Counter[str]:
    return Counter(r["unit"] for r in rows if r.get("status") not in ("merged", "void") and (units is None or r["unit"] in units))


def test_a_leader_sees_only_the_subtree_of_their_unit(as_user: Any, history: list[dict[str, str]]) -> None:
    mine = as_user("gd_leader").get("/api/v1/stats/kpis", params=PERIOD | {"group_by": "unit"})
    assert mine.status_code == 200, mine.text
    body = mine.json()
    volumes = {r["key"]: r["kpis"]["volume"]["value"] for r in body["rows"]}
    assert set(volumes) == GDGS and volumes == dict(_effective(history, GDGS))
    assert body["total"]["kpis"]["volume"]["value"] == sum(volumes.values())
    everyone = as_user("leader").get("/api/v1/stats/kpis", params=PERIOD | {"group_by": "unit"}).json()
    assert {r["key"]: r["kpis"]["volume"]["value"] for r in everyone["rows"]} == dict(_effective(history))
    outside = as_user("gd_leader").get("/api/v1/stats/kpis", params=PERIOD | {"unit": "CGJ"})
    assert outside.status_code == 403 and error_code(outside) == "stats.unit_forbidden"
    narrowed = as_user("gd_leader").get("/api/v1/stats/kpis", params=PERIOD | {"unit": "GD-LZ"}).json()
    assert narrowed["total"]["kpis"]["volume"]["value"] == volumes["GD-LZ"]
    for role in ("lz_handler", "agent"):
        refused = as_user(role).get("/api/v1/stats/kpis", params=PERIOD)
        assert refused.status_code == 403 and error_code(refused) == "stats.role_forbidden"


def test_every_figure_links_to_the_orders_behind_it(as_user: Any, history: list[dict[str, str]]) -> None:
    client = as_user("gd_leader")
    body = client.get("/api/v1/stats/kpis", params=PERIOD | {"group_by": "channel"}).json()
    for row in body["rows"]:
        listed = client.get(row["orders_url"]).json()
        assert listed["total"] == row["kpis"]["volume"]["value"]
        assert {o["unit"] for o in listed["items"]} <= GDGS and {o["channel"] for o in listed["items"]} == {row["key"]}
        sat = row["kpis"]["satisfaction_rate"]
        den = client.get(sat["orders_url"]).json()["total"]
        num = client.get(sat["orders_url"] + "&part=numerator").json()["total"]
        assert (num, den) == (sat["numerator"], sat["denominator"])
    for group_by in ("category", "region", "unit", "month", "day"):  # '' (no category / region) groups included
        rows = as_user("leader").get("/api/v1/stats/kpis", params=PERIOD | {"group_by": group_by}).json()["rows"]
        assert any(r["key"] == "" for r in rows) or group_by in ("unit", "month", "day")
        for row in rows:
            assert as_user("leader").get(row["orders_url"]).json()["total"] == row["kpis"]["volume"]["value"], (group_by, row["key"])
    foreign = client.get("/api/v1/stats/orders", params=PERIOD | {"exact_unit": "CGJ"})
    assert foreign.status_code == 403


def test_the_drill_down_of_every_kpi_counts_what_the_kpi_counts(as_user: Any, history: list[dict[str, str]]) -> None:
    client = as_user("leader")
    as_of = {"as_of": "2026-10-15T12:00:00+08:00"}
    total = client.get("/api/v1/stats/kpis", params=PERIOD | as_of).json()["total"]["kpis"]
    suffix = "&as_of=" + quote(as_of["as_of"])
    for code, k in total.items():
        den = client.get(k["orders_url"] + suffix).json()["total"]
        if k["kind"] == "rate":
            num = client.get(k["orders_url"] + suffix + "&part=numerator").json()["total"]
            assert (num, den) == (k["numerator"], k["denominator"]), code
        elif k["kind"] == "count":
            assert den == k["value"], code
        else:
            assert den == k["sample_size"], code


@pytest.mark.parametrize(
    "params",
    [{"group_by": "bogus"}, {"from": "2026-13-01"}, {"kpis": "volume,nope"}, {"from": "2026-10-02", "to": "2026-10-01"},
     {"as_of": "yesterday"}, {"unit": "NO-SUCH-UNIT"}],
)  # fmt: skip
def test_bad_parameters_are_422_or_404_never_500(as_user: Any, params: dict[str, str]) -> None:
    response = as_user("leader").get("/api/v1/stats/kpis", params=PERIOD | params)
    assert response.status_code in (404, 422), response.text
    assert response.json()["error"]["message_zh"]
    assert as_user("leader").get("/api/v1/stats/scorecard", params={"month": "2026/10"}).status_code == 422
    assert as_user("leader").get("/api/v1/stats/orders", params={"kpi": "nope"}).status_code == 422


def test_scorecard_config_is_validated_and_versioned(as_user: Any, history: list[dict[str, str]]) -> None:
    current = as_user("leader").get("/api/v1/stats/scorecard/config").json()
    assert current["version"] == 0 and current["config"]["kpis"]["satisfaction_rate_fair"]["weight"] == 25
    text = current["source_text"].replace("weight: 25, target: 1.00, floor: 0.80}   # 按时办结率", "weight: 35, target: 1.00, floor: 0.80}")
    text = text.replace("satisfaction_rate_fair:    {weight: 25", "satisfaction_rate_fair:    {weight: 15")
    headers = {"Content-Type": "application/yaml"}
    assert as_user("leader").put("/api/v1/stats/scorecard/config", content=text, headers=headers).status_code == 403
    saved = as_user("admin").put("/api/v1/stats/scorecard/config", content=text, headers=headers)
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 1 and saved.json()["config"]["kpis"]["on_time_completion_rate"]["weight"] == 35
    bad = as_user("admin").put("/api/v1/stats/scorecard/config", json={"kpis": {"volume": {"weight": 100, "target": 1, "floor": 0}}})
    assert bad.status_code == 422 and "count KPIs" in bad.json()["error"]["message_en"]
    short = as_user("admin").put("/api/v1/stats/scorecard/config", content="kpis: {reopen_rate: {weight: 90, target: 0, floor: 0.2}}", headers=headers)
    assert short.status_code == 422 and "sum to 100" in short.json()["error"]["message_en"]
    card = as_user("leader").get("/api/v1/stats/scorecard", params={"month": "2026-10"}).json()
    assert card["config"]["version"] == 1
    ranks = [u["rank"] for u in card["units"] if u["rank"] is not None]
    assert ranks == list(range(1, len(ranks) + 1))
    assert all("fairness_excluded" in u and all("sample_size" in line for line in u["lines"]) for u in card["units"])


def test_the_monthly_report_downloads_as_a_real_workbook(as_user: Any, history: list[dict[str, str]]) -> None:
    from openpyxl import load_workbook

    response = as_user("gd_leader").get("/api/v1/stats/report/monthly", params={"month": "2026-10", "format": "xlsx"})
    assert response.status_code == 200 and "spreadsheetml" in response.headers["content-type"]
    book = load_workbook(io.BytesIO(response.content))
    assert {"总览", "单位考核", "同比环比", "按渠道", "按类型", "按类别"} <= set(book.sheetnames)
    units = [row[1] for row in book["单位考核"].iter_rows(min_row=2, values_only=True)]
    assert set(units) <= GDGS
    csv_text = as_user("gd_leader").get("/api/v1/stats/report/monthly", params={"month": "2026-10", "format": "csv"}).content
    assert csv_text.decode("utf-8-sig").startswith("section,group_by,key")


def test_dashboard_pages_render_for_readers_only(server: Any, token_for: Any, history: list[dict[str, str]]) -> None:
    def get(user: str, path: str) -> httpx.Response:
        return httpx.get(server.url + path, cookies={"minxin_session": token_for(user)}, timeout=30)

    page = get("gd_leader", "/dashboard?month=2026-10")
    assert page.status_code == 200, page.text
    html = page.text
    assert "国网辽中区供电分公司" in html and "市城市管理综合行政执法局" not in html
    assert "dashboard-data" in html and "echarts" in html and "/dashboard/orders?" in html
    listing = get("gd_leader", "/dashboard/orders?from=2026-10-01&to=2026-10-31&kpi=satisfaction_rate")
    assert listing.status_code == 200 and "HIS041" in listing.text
    assert get("lz_handler", "/dashboard").status_code == 403
    assert get("gd_leader", "/dashboard?unit=CGJ").status_code == 200  # falls back to their own scope
