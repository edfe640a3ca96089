"""The risk board in the console: live alerts with deadline badges and one-click acknowledge, the
alert page with its intervention form (attachment upload), the subject page. Plain HTTP with the
session cookie (the browser suite in tests/web covers the console's scripts)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx

from minxin.core.clock import FixedClock
from minxin.demo.orders import tiny_png
from tests.risk.conftest import alerts_of, register


@contextmanager
def console(server: Any, token_for: Callable[[str], str], username: str) -> Iterator[tuple[httpx.Client, str]]:
    with httpx.Client(base_url=server.url, cookies={"minxin_session": token_for(username)},
                      headers={"Accept": "text/html"}, timeout=30) as client:
        page = client.get("/risk")
        assert page.status_code == 200, page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        yield client, csrf.group(1) if csrf else ""


def test_board_acknowledge_intervene_close(as_user: Callable[[str], httpx.Client], clock: FixedClock, server: Any,
                                           token_for: Callable[[str], str], scan: Callable[[], dict[str, Any]]) -> None:
    agent = as_user("agent")
    numbers = [register(agent, clock, citizen={"name": "冯", "phone": "13844446666"})["number"] for _ in range(3)]
    scan()
    [alert] = alerts_of(as_user("supervisor"))
    with console(server, token_for, "supervisor") as (client, csrf):
        board = client.get("/risk").text
        assert "同一来电人反复诉求" in board and f"/risk/alerts/{alert['id']}" in board
        assert "确认时限" in board and 'class="dl dl-ok"' in board and "风险预警" in board
        assert "沈阳市辽中区" in board  # the region breakdown names the county
        assert "138****6666" in board  # the riskiest subjects, masked
        assert client.post(f"/risk/alerts/{alert['id']}/actions/acknowledge", data={}).status_code == 403  # no csrf
        ack = client.post(f"/risk/alerts/{alert['id']}/actions/acknowledge",
                          data={"csrf": csrf, "version": alert["version"], "next": "/risk"}, follow_redirects=False)
        assert ack.status_code == 303 and ack.headers["location"] == "/risk"
        page = client.get(f"/risk/alerts/{alert['id']}").text
        assert all(n in page for n in numbers) and "登记处置" in page and "已确认" in page
        empty = client.post(f"/risk/alerts/{alert['id']}/actions/intervene", data={"csrf": csrf, "text": ""})
        assert empty.status_code == 422 and "请填写处置情况" in empty.text
        done = client.post(
            f"/risk/alerts/{alert['id']}/actions/intervene", data={"csrf": csrf, "text": "上门走访，已协调供电所检修"},
            files={"files": ("现场.png", tiny_png(), "image/png")}, follow_redirects=False,
        )
        assert done.status_code == 303, done.text
        page = client.get(f"/risk/alerts/{alert['id']}").text
        assert "上门走访，已协调供电所检修" in page and f"/api/v1/risk/alerts/{alert['id']}/attachments/" in page
        wrong = client.post(f"/risk/alerts/{alert['id']}/actions/close", data={"csrf": csrf})
        assert wrong.status_code == 422 and "关闭预警须选择结论" in wrong.text
        closed = client.post(f"/risk/alerts/{alert['id']}/actions/close", data={"csrf": csrf, "resolution": "resolved"},
                             follow_redirects=False)
        assert closed.status_code == 303
        assert "已化解" in client.get(f"/risk/alerts/{alert['id']}").text
        subject = as_user("supervisor").get(f"/api/v1/orders/{numbers[0]}").json()["risk"]["subjects"]
        caller = next(s for s in subject if s["kind"] == "caller")
        page = client.get(caller["page"])
        assert page.status_code == 200 and "138****6666" in page.text and "13844446666" not in page.text
        assert client.get("/risk/alerts/9999").status_code == 404


def test_other_county_gets_a_404_page(as_user: Callable[[str], httpx.Client], clock: FixedClock, server: Any,
                                      token_for: Callable[[str], str], scan: Callable[[], dict[str, Any]]) -> None:
    agent = as_user("agent")
    for _ in range(3):
        register(agent, clock, step=timedelta(hours=1), citizen={"name": "陈", "phone": "13855557777"})
    scan()
    [alert] = alerts_of(as_user("supervisor"))
    with console(server, token_for, "xm_handler") as (client, _csrf):
        assert "暂无预警" in client.get("/risk").text
        assert client.get(f"/risk/alerts/{alert['id']}").status_code == 404
