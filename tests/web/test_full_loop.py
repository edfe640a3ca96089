"""The closed loop through the browser, a different user per role:
agent registers → dispatcher dispatches → handler signs → replies with a photo → supervisor
calls back with a recording → closed; a return reviewed by the dispatcher; a reopen after a
dissatisfied callback. Screenshots of every step go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
from typing import Any

import pytest

from minxin.demo.orders import tiny_png, tiny_wav
from tests.helpers import act, new_order, photo

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NUMBER = re.compile(r"已登记工单 (\d{14})")


def register(console: Any, page: Any, *, title: str, shortcut: str = "Alt+S", unit: str | None = None) -> str:
    console.goto(page, "/intake")
    page.check("input[name=appeal_type][value=repair]")
    page.fill("#citizen_name", "张先生")
    page.fill("#phone", "13812345678")
    page.fill("#address", "沈阳市辽中区茨榆坨镇于家村")
    page.fill("#title", title)
    page.fill("#content", "来电人反映于家村从早上开始停电，至今未恢复，请尽快抢修。")
    page.select_option("#category", "080101")
    if unit:
        page.select_option("#unit", unit)
    page.locator("#content").press(shortcut)
    page.wait_for_selector(".flash-ok")
    match = NUMBER.search(page.inner_text(".flash"))
    assert match, page.inner_text(".flash")
    return match.group(1)


def status_of(page: Any) -> str:
    return page.inner_text(".order-head .st")


def test_full_loop_register_dispatch_sign_reply_callback_close(console: Any) -> None:
    # 话务员: logs in through the real form and registers with Alt+S
    agent = console.login("agent")
    console.shot(agent, "01-agent-home")
    number = register(console, agent, title="茨榆坨镇于家村停电")
    console.shot(agent, "02-agent-registered")

    # 派单员: finds it in 待派单 with the keyboard and dispatches it (bulk bar, one row)
    dispatcher = console.page_as("dispatcher")
    console.goto(dispatcher, "/queues/to_dispatch")
    dispatcher.keyboard.press("/")
    dispatcher.keyboard.type(number)
    dispatcher.keyboard.press("Enter")
    dispatcher.wait_for_selector(f"tr[data-href='/orders/{number}']")
    dispatcher.check(f"input[name=numbers][value^='{number}@']")
    dispatcher.select_option("#bulk-unit", "GD-LZ")
    console.shot(dispatcher, "03-dispatcher-queue")
    dispatcher.click("#bulk button[type=submit]")
    dispatcher.wait_for_selector(".flash-ok")
    assert "已派单 1 件" in dispatcher.inner_text(".flash")

    # 承办人 (辽中供电): signs from the 待签收 queue
    handler = console.page_as("lz_handler")
    console.goto(handler, "/queues/to_sign")
    handler.click(f"a[href='/orders/{number}']")
    handler.wait_for_url(f"**/orders/{number}")
    console.shot(handler, "04-handler-order-dispatched")
    handler.click("#act-sign button[type=submit]")
    handler.wait_for_selector(".flash-ok")
    assert status_of(handler) == "已签收"

    # replying without the required photo is refused, next to the photo field
    handler.fill("#reply-result", "已派抢修人员到场，更换熔断器，14时恢复供电。")
    handler.click("#act-reply button[type=submit]")
    error = handler.locator("#act-reply [data-field=photos] .err")
    assert "现场照片" in error.inner_text()
    console.shot(handler, "05-handler-reply-needs-photo")

    # … then with an on-site photo taken on the phone (the camera input)
    handler.set_input_files("#reply-photos", files=[{"name": "现场.png", "mimeType": "image/png", "buffer": tiny_png()}])
    handler.click("#act-reply button[type=submit]")
    handler.wait_for_selector(".flash-ok")
    assert status_of(handler) == "已办结"
    thumb = handler.locator(".gallery img").first
    thumb.wait_for()
    # a lazy <img> may still be loading when it becomes visible: wait until it has decoded (fails on a broken image)
    handler.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle(), timeout=15_000)
    console.shot(handler, "06-handler-replied-with-photo")

    # 督办/质检: the callback console, satisfied and resolved, with the recording
    supervisor = console.page_as("supervisor")
    console.goto(supervisor, "/callbacks")
    supervisor.click(f"a[href='/callbacks/{number}']")
    supervisor.wait_for_url(f"**/callbacks/{number}")
    assert "回访话术" in supervisor.inner_text(".script")
    supervisor.check("#act-callback input[name=satisfaction][value=satisfied]")
    supervisor.check("#act-callback input[name=resolved][value='1']")
    supervisor.set_input_files(
        "#callback-recording", files=[{"name": "回访.wav", "mimeType": "audio/wav", "buffer": tiny_wav()}]
    )
    console.shot(supervisor, "07-supervisor-callback-console")
    supervisor.click("#act-callback button[type=submit]")
    supervisor.wait_for_url("**/callbacks")
    assert "已归档" in supervisor.inner_text(".flash")

    console.goto(supervisor, f"/orders/{number}")
    assert status_of(supervisor) == "已归档"
    timeline = supervisor.inner_text(".timeline")
    for step in ("受理", "派单", "签收", "办结回复", "回访满意"):
        assert step in timeline
    assert supervisor.locator(".gallery img").count() == 1
    assert supervisor.locator(".audio audio").count() == 1
    assert supervisor.locator(".actions-card details.act").count() == 1  # only 备注 remains
    console.shot(supervisor, "08-order-closed-timeline")
    assert console.external_requests() == []


def test_return_reviewed_by_the_dispatcher(console: Any) -> None:
    agent = console.page_as("agent")
    number = register(console, agent, title="新民城区停电（误派）", shortcut="Alt+D", unit="GD-XM")

    # 新民 returns it: not their area
    xm = console.page_as("xm_handler")
    console.goto(xm, f"/orders/{number}")
    assert status_of(xm) == "已派单"
    xm.click("#act-return summary")
    xm.click("#act-return button[type=submit]")
    assert "必填" in xm.inner_text("#act-return [data-field=reason] .err")
    xm.fill("#return-reason", "地址属辽中区茨榆坨镇，不属于新民供电分公司辖区")
    xm.click("#act-return button[type=submit]")
    xm.wait_for_selector(".flash-ok")
    assert status_of(xm) == "已退单"

    # the dispatcher approves the return and re-dispatches to the right unit
    dispatcher = console.page_as("dispatcher")
    console.goto(dispatcher, "/queues/returned")
    dispatcher.click(f"a[href='/orders/{number}']")
    dispatcher.wait_for_url(f"**/orders/{number}")
    console.shot(dispatcher, "09-dispatcher-review-return")
    dispatcher.check("#act-review_return input[name=approve][value='1']")
    dispatcher.click("#act-review_return button[type=submit]")
    dispatcher.wait_for_selector(".flash-ok")
    assert status_of(dispatcher) == "已受理"
    dispatcher.select_option("#dispatch-unit", "GD-LZ")
    dispatcher.click("#act-dispatch button[type=submit]")
    dispatcher.wait_for_selector(".flash-ok")
    assert status_of(dispatcher) == "已派单"
    assert "国网辽中区供电分公司" in dispatcher.inner_text(".order-head")
    assert "同意退单" in dispatcher.inner_text(".timeline")
    console.shot(dispatcher, "10-dispatcher-redispatched")


def test_reopen_after_dissatisfied_callback(console: Any, as_user: Any) -> None:
    # the order reaches 已办结 through the API (the browser path is covered above)
    number = new_order(as_user("agent"))["number"]
    act(as_user("dispatcher"), number, "dispatch", {"unit": "GD-LZ"})
    handler = as_user("lz_handler")
    act(handler, number, "sign")
    act(handler, number, "reply", {"result": "已处理", "attachments": [photo(handler)]})

    supervisor = console.page_as("supervisor")
    console.goto(supervisor, f"/callbacks/{number}")
    # first call: nobody answers
    supervisor.check("#act-callback input[name=reachable][value='0']")
    supervisor.click("#act-callback button[type=submit]")
    supervisor.wait_for_url("**/callbacks")
    assert "未接通" in supervisor.inner_text(".flash")
    console.goto(supervisor, f"/callbacks/{number}")
    assert "已未接通 1 次" in supervisor.inner_text(".actions-card")

    # second call: dissatisfied, not resolved → the order stays 已办结 and may be reopened
    supervisor.check("#act-callback input[name=satisfaction][value=dissatisfied]")
    supervisor.check("#act-callback input[name=resolved][value='0']")
    supervisor.fill("#callback-note", "来电人称仍然经常停电")
    supervisor.click("#act-callback button[type=submit]")
    supervisor.wait_for_url("**/callbacks")
    console.goto(supervisor, f"/orders/{number}")
    assert status_of(supervisor) == "已办结"
    assert supervisor.locator("#act-reopen").count() == 1
    supervisor.fill("#reopen-reason", "回访不满意：仍然经常停电")
    console.shot(supervisor, "11-supervisor-reopen")
    supervisor.click("#act-reopen button[type=submit]")
    supervisor.wait_for_selector(".flash-ok")
    assert status_of(supervisor) == "已派单"
    assert "重办" in supervisor.inner_text(".timeline")

    # back with the unit that handled it, in its 待签收 queue
    lz = console.page_as("lz_handler")
    console.goto(lz, "/queues/to_sign")
    assert lz.locator(f"a[href='/orders/{number}']").count() == 1
    console.shot(lz, "12-handler-reopened-in-queue")
