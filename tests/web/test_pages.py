"""Every page renders for its roles and loads nothing from outside 127.0.0.1; errors show in
Chinese next to their field; another county's order is a 404 page; CSRF and the session
cookie's reach into the API; keyboard, phone-sized upload, suggestions, supervision, bulk
dispatch and the "尚未启用" slots."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import httpx
import pytest

from minxin.demo.orders import tiny_png, tiny_wav
from minxin.web import extensions
from tests.helpers import act, new_order, photo

pytestmark = pytest.mark.browser

EXTERNAL = re.compile(r"(?:https?:)?//(?!127\.0\.0\.1[:/])[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
TEXT_TYPES = ("text/", "javascript", "json", "css", "svg")

PAGES: dict[str, list[str]] = {
    "agent": ["/", "/intake", "/queues/to_dispatch", "/queues/to_callback", "/queues/all", "/callbacks", "/orders/{n}"],
    "dispatcher": ["/", "/intake", "/queues/to_dispatch", "/queues/returned", "/queues/in_progress",
                   "/queues/overdue", "/orders/{n}"],
    "lz_handler": ["/", "/queues/to_sign", "/queues/to_reply", "/queues/in_progress", "/orders/{n}"],
    "supervisor": ["/", "/callbacks", "/callbacks/{n}", "/supervision", "/queues/to_callback", "/orders/{n}"],
    "leader": ["/", "/supervision", "/queues/in_progress", "/orders/{n}"],
    "admin": ["/", "/admin/units", "/admin/users", "/admin/categories", "/admin/routing", "/admin/sla",
              "/admin/calendar", "/supervision", "/orders/{n}"],
}


def _replied_order(as_user: Any) -> str:
    number = new_order(as_user("agent"))["number"]
    act(as_user("dispatcher"), number, "dispatch", {"unit": "GD-LZ"})
    act(as_user("lz_handler"), number, "sign")
    act(as_user("lz_handler"), number, "reply", {"result": "已恢复供电", "attachments": [photo(as_user("lz_handler"))]})
    return number


def test_every_page_renders_for_its_roles_and_loads_nothing_external(console: Any, as_user: Any) -> None:
    number = _replied_order(as_user)
    bodies: list[tuple[str, str]] = []

    def keep(response: Any) -> None:
        kind = response.headers.get("content-type", "")
        if response.status < 300 and any(t in kind for t in TEXT_TYPES):
            with contextlib.suppress(Exception):  # a body the browser discarded; its URL is still recorded
                bodies.append((response.url, response.text()))

    for username, paths in PAGES.items():
        page = console.page_as(username)
        page.on("response", keep)
        for path in paths:
            response = console.goto(page, path.format(n=number))
            assert response.status == 200, (username, path, response.status)
            assert page.locator("h1").count() >= 1, (username, path)
            text = page.inner_text("body")
            assert "Traceback" not in text and "Internal" not in text
            assert page.locator("nav.nav a.current").count() <= 1
        console.shot(page, f"pages-{username}")
    assert console.external_requests() == [], console.external_requests()
    assert all(u.startswith(console.url) for u in console.requests)
    offenders = [(url, m.group(0)) for url, body in bodies for m in [EXTERNAL.search(body)] if m]
    assert offenders == [], offenders
    assert {u.split("?")[0].rsplit("/", 1)[-1] for u in console.requests} >= {"minxin.css", "minxin.js", "favicon.png"}


def test_login_form_errors_in_chinese_next_to_the_field(console: Any) -> None:
    page = console.anonymous()
    console.goto(page, "/queues/all")
    assert page.url.startswith(f"{console.url}/login?next=")
    page.click("button[type=submit]")
    assert page.inner_text("#err-username") == "请输入用户名"
    assert page.inner_text("#err-password") == "请输入密码"
    page.fill("#username", "agent")
    page.fill("#password", "wrong-password")
    page.click("button[type=submit]")
    assert page.inner_text("#err-password") == "用户名或密码错误"
    assert page.input_value("#username") == "agent"
    console.shot(page, "login-error")
    page.fill("#password", "pw-123456")
    page.click("button[type=submit]")
    page.wait_for_url(f"{console.url}/queues/all")  # back where the user was going


def test_form_errors_in_chinese_next_to_the_field(console: Any) -> None:
    agent = console.page_as("agent")
    console.goto(agent, "/intake")
    agent.fill("#phone", "打我电话")
    agent.click("button[value=dispatch]")
    assert agent.inner_text("#err-title") == "不能为空"
    assert agent.inner_text("#err-content") == "不能为空"
    assert "电话号码只能包含数字" in agent.inner_text("#err-phone")
    assert agent.inner_text("#err-unit") == "请选择派往单位"
    assert agent.input_value("#phone") == "打我电话"  # what was typed survives
    console.shot(agent, "intake-errors")

    admin = console.page_as("admin")
    console.goto(admin, "/admin/units")
    admin.click("details.card summary")
    admin.fill("form[action='/admin/units'] input[name=code]", "GD-LZ")
    admin.fill("form[action='/admin/units'] input[name=name]", "重复的单位")
    admin.select_option("form[action='/admin/units'] select[name=kind]", "station")
    admin.select_option("form[action='/admin/units'] select[name=parent]", "GD-LZ")
    admin.click("form[action='/admin/units'] button[type=submit]")
    assert admin.inner_text("#err-code") == "单位编码已存在：GD-LZ"
    console.shot(admin, "admin-unit-error")


def test_another_countys_handler_gets_the_404_page(console: Any, as_user: Any) -> None:
    number = new_order(as_user("agent"))["number"]
    act(as_user("dispatcher"), number, "dispatch", {"unit": "GD-LZ"})
    page = console.page_as("xm_handler")
    response = console.goto(page, f"/orders/{number}")
    assert response.status == 404
    assert page.inner_text("h1") == "页面不存在"
    assert f"工单不存在：{number}" in page.inner_text(".error-message")
    console.shot(page, "404-other-county")
    response = console.goto(page, "/no/such/page")
    assert response.status == 404 and "Traceback" not in page.content()
    response = console.goto(page, "/admin/users")
    assert response.status == 403 and "无权访问" in page.inner_text("h1")


def test_csrf_and_the_session_cookie_in_the_api(server: Any, token_for: Any) -> None:
    cookies = {"minxin_session": token_for("agent")}
    with httpx.Client(base_url=server.url, cookies=cookies, headers={"Accept": "text/html"}) as client:
        page = client.get("/intake")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        form = {"title": "t", "content": "c", "appeal_type": "consult", "channel": "phone"}
        assert client.post("/intake", data=form).status_code == 403  # no token
        bad_origin = client.post("/intake", data=form | {"csrf": csrf}, headers={"Origin": "http://evil.example"})
        assert bad_origin.status_code == 403
        assert "页面已过期" in client.post("/intake", data=form | {"csrf": "x" * 40}).text
        assert client.get("/api/v1/me").json()["username"] == "agent"  # GET: the cookie is enough
        body = {"channel": "phone", "appeal_type": "consult", "title": "咨询", "content": "咨询停电时间"}
        assert client.post("/api/v1/orders", json=body).status_code == 401  # writes need the header
        assert client.post("/api/v1/orders", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
        stale = client.post("/login", data={"username": "agent", "password": "pw-123456", "csrf": "stale"})
        assert stale.status_code == 403 and "登录页已过期" in stale.text  # asked again on the login page
        logout = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
        assert logout.status_code == 303 and "minxin_session" in logout.headers.get("set-cookie", "")


def test_keyboard_in_queues_and_the_help(console: Any, as_user: Any) -> None:
    numbers = [new_order(as_user("agent"), title=f"键盘测试{i}")["number"] for i in range(2)]
    page = console.page_as("dispatcher")
    console.goto(page, "/queues/to_dispatch")
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert page.locator("tr.sel").count() == 1
    page.keyboard.press("x")
    assert page.inner_text("[data-selected-count]") == "已选 1 件"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/orders/\d{14}$"))
    assert page.url.rsplit("/", 1)[-1] == numbers[-1]  # newest first; j j k → the first row


def test_phone_sized_reply_with_a_camera_photo(console: Any, as_user: Any) -> None:
    number = new_order(as_user("agent"))["number"]
    act(as_user("dispatcher"), number, "dispatch", {"unit": "GD-LZ"})
    act(as_user("lz_handler"), number, "sign")
    page = console.page_as("lz_handler", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    console.goto(page, f"/orders/{number}")
    camera = page.locator("#reply-photos")
    assert camera.get_attribute("capture") == "environment" and camera.get_attribute("accept") == "image/*"
    assert page.evaluate("document.documentElement.scrollWidth") <= 400  # no sideways scrolling
    page.fill("#reply-result", "现场已处理")
    camera.set_input_files(files=[{"name": "录音.wav", "mimeType": "audio/wav", "buffer": tiny_wav()}])
    page.click("#act-reply button[type=submit]")
    assert "不是照片" in page.inner_text("#act-reply [data-field=photos] .err")  # checked by content
    assert page.input_value("#reply-result") == "现场已处理"
    camera = page.locator("#reply-photos")
    camera.set_input_files(files=[{"name": "现场.png", "mimeType": "image/png", "buffer": tiny_png()}])
    assert page.locator("#reply-photos-preview img").count() == 1
    console.shot(page, "mobile-reply-form")
    page.click("#act-reply button[type=submit]")
    page.wait_for_selector(".flash-ok")
    assert page.locator(".gallery img").count() == 1
    console.shot(page, "mobile-replied")


def test_intake_suggestions_and_merge(console: Any, as_user: Any) -> None:
    earlier = new_order(as_user("agent"), title="于家村停电")["number"]
    page = console.page_as("agent")
    answer = {
        "categories": [{"code": "080101", "name": "停电", "confidence": 0.91}],
        "unit": {"code": "GD-LZ", "name": "国网辽中区供电分公司", "rule": "类别 停电 × 区域 辽中区"},
        "urgency": {"level": "urgent", "reasons": [{"word": "老人", "label": "弱势群体"}]},
        "duplicates": [{"number": earlier, "title": "于家村停电", "score": 0.8, "reasons": ["同一电话"]}],
    }
    page.route("**/api/v1/intake/analyze", lambda route: route.fulfill(status=200, json=answer))
    console.goto(page, "/intake")
    page.fill("#title", "于家村又停电了")
    page.fill("#content", "家里有卧床老人，停电两小时")
    page.wait_for_selector("#suggest .sg-item")
    console.shot(page, "intake-suggestions")
    page.click("#suggest button.sg-item:has-text('停电')")
    assert page.input_value("#category") == "080101"
    page.click("#suggest button.sg-item:has-text('辽中区供电')")
    assert page.input_value("#unit") == "GD-LZ"
    page.click("#suggest button.sg-item:has-text('紧急')")
    assert page.is_checked("input[name=urgency][value=urgent]")
    page.click("#suggest button:has-text('并入此单')")
    page.wait_for_selector(".flash-ok")
    assert f"并已并入 {earlier}" in page.inner_text(".flash")

    # the endpoint is absent (404): the panel says so once and the form still works
    page.unroute("**/api/v1/intake/analyze")
    page.route("**/api/v1/intake/analyze", lambda route: route.fulfill(status=404, json={"error": {}}))
    console.goto(page, "/intake")
    page.check("input[name=appeal_type][value=consult]")
    page.fill("#title", "咨询停电时间")
    page.fill("#content", "请问明天茨榆坨镇是否计划停电")
    page.wait_for_selector("text=智能建议尚未启用")
    page.fill("#answer", "明日9时至12时计划检修停电")
    page.keyboard.press("Alt+A")
    page.wait_for_selector(".flash-ok")
    assert "直接答复办结" in page.inner_text(".flash")


def test_supervision_urge_and_extension_approval(console: Any, as_user: Any) -> None:
    number = new_order(as_user("agent"))["number"]
    act(as_user("dispatcher"), number, "dispatch", {"unit": "GD-LZ"})
    act(as_user("lz_handler"), number, "sign")
    act(as_user("lz_handler"), number, "request_extension", {"duration": "3wd", "reason": "需更换变压器"})
    page = console.page_as("supervisor")
    console.goto(page, "/supervision")
    console.shot(page, "supervision-board")
    row = page.locator("tr", has=page.locator(f"a[href='/orders/{number}']")).first
    assert "3wd" in page.inner_text("body")
    page.click(f"form[action='/orders/{number}/actions/decide_extension'] button:has-text('同意')")
    page.wait_for_selector(".flash-ok")
    assert page.url.endswith("/supervision")
    row = page.locator("tr", has=page.locator(f"a[href='/orders/{number}']")).first
    row.locator("button:has-text('督办')").click()
    page.wait_for_selector(".flash-ok")
    console.goto(page, f"/orders/{number}")
    assert "督办 1 次" in page.inner_text(".order-head")
    assert "已同意" in page.inner_text("body")


def test_bulk_dispatch_reports_each_failure(console: Any, as_user: Any) -> None:
    first, second = (new_order(as_user("agent"), title=f"批量{i}")["number"] for i in range(2))
    page = console.page_as("dispatcher")
    console.goto(page, "/queues/to_dispatch?q=批量")
    page.check("[data-check-all]")
    act(as_user("dispatcher"), first, "dispatch", {"unit": "GD-XM"})  # someone was quicker
    page.select_option("#bulk-unit", "GD-LZ")
    page.click("#bulk button[type=submit]")
    flash = page.inner_text(".flash")
    assert "已派单 1 件" in flash and f"{first}：" in flash and second not in flash.split("——")[-1]


def test_slots_say_not_yet_enabled_until_wired(console: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extensions, "sla_policies", None)
    monkeypatch.setattr(extensions, "routing_rules", None)
    page = console.page_as("admin")
    for path in ("/admin/sla", "/admin/routing"):
        console.goto(page, path)
        assert "尚未启用" in page.inner_text(".card")
    table = extensions.Table(columns=[("code", "编码"), ("handle", "办理时限")], rows=[{"code": "default", "handle": "5wd"}])
    monkeypatch.setattr(extensions, "sla_policies", lambda session: table)
    console.goto(page, "/admin/sla")
    assert "尚未启用" not in page.inner_text(".card") and "5wd" in page.inner_text("table")
    monkeypatch.setattr(extensions, "overdue_search", None)
    console.goto(page, "/queues/overdue")
    assert "尚未启用" in page.inner_text("main")


def test_api_docs_work_offline(console: Any) -> None:
    page = console.anonymous()
    console.goto(page, "/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert console.external_requests() == [], console.external_requests()
    console.goto(page, "/redoc")
    assert page.url.endswith("/docs")


def test_unexpected_error_is_a_chinese_page_without_traceback(server: Any, token_for: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from minxin.web.routes import home

    def boom(*_args: Any) -> int:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(home, "count_queue", boom)
    cookies = {"minxin_session": token_for("agent")}
    with httpx.Client(base_url=server.url, cookies=cookies, headers={"Accept": "text/html"}) as client:
        response = client.get("/")
    assert response.status_code == 500
    assert "系统内部错误" in response.text
    assert "Traceback" not in response.text and "secret internals" not in response.text
