"""The whole closed loop and every side path, over real HTTP, with a different user per role."""

from __future__ import annotations

from tests.helpers import act, error_code, new_order, photo, recording


class TestMainPath:
    def test_register_dispatch_sign_reply_callback_close(self, as_user) -> None:
        agent, dispatcher, handler, supervisor = (
            as_user("agent"), as_user("dispatcher"), as_user("lz_handler"), as_user("supervisor")
        )
        order = new_order(agent)
        number = order["number"]
        assert order["status"] == "registered"
        assert len(number) == 14 and number[:8].isdigit()
        assert order["events"][0]["action"] == "register"

        order = act(dispatcher, number, "dispatch", {"unit": "GD-LZ"})
        assert order["status"] == "dispatched" and order["current_unit"]["code"] == "GD-LZ"
        order = act(handler, number, "sign")
        assert order["status"] == "signed"
        order = act(handler, number, "reply", {"result": "已恢复供电", "attachments": [photo(handler)]})
        assert order["status"] == "replied" and order["has_evidence"] is True
        order = act(
            supervisor, number, "callback",
            {"satisfaction": "satisfied", "resolved": True, "recording": recording(supervisor)},
        )
        assert order["status"] == "closed"
        assert [e["action"] for e in order["events"]] == ["register", "dispatch", "sign", "reply", "callback"]
        assert {a["purpose"] for a in order["attachments"]} == {"evidence", "recording"}
        assert order["callbacks"][0]["satisfaction"] == "satisfied"
        assert order["allowed_actions"] == [{"action": "note", "label_zh": "备注"}]

    def test_dissatisfied_callback_then_close_marks_unreasonable(self, as_user) -> None:
        number = _replied(as_user)
        supervisor = as_user("supervisor")
        order = act(supervisor, number, "callback", {"satisfaction": "dissatisfied", "resolved": False})
        assert order["status"] == "replied"
        order = act(supervisor, number, "close", {"unreasonable": True, "reason": "诉求无法律依据"})
        assert order["status"] == "closed" and order["excluded_from_satisfaction"] is True


def _replied(as_user, unit: str = "GD-LZ", handler: str = "lz_handler") -> str:
    number = new_order(as_user("agent"))["number"]
    act(as_user("dispatcher"), number, "dispatch", {"unit": unit})
    act(as_user(handler), number, "sign")
    act(as_user(handler), number, "reply", {"result": "已处理", "attachments": [photo(as_user(handler))]})
    return number


class TestSidePaths:
    def test_direct_answer_for_a_consultation(self, as_user) -> None:
        agent = as_user("agent")
        number = new_order(agent, appeal_type="consult", title="咨询停电时间")["number"]
        order = act(agent, number, "answer", {"answer": "明日9时至12时计划检修停电"})
        assert order["status"] == "closed" and order["direct_answer"].startswith("明日")

    def test_complaint_cannot_be_answered_directly(self, as_user) -> None:
        agent = as_user("agent")
        number = new_order(agent, appeal_type="complaint")["number"]
        response = agent.post(f"/api/v1/orders/{number}/actions/answer", json={"answer": "x"})
        assert response.status_code == 409 and error_code(response) == "lifecycle.not_direct_answerable"

    def test_second_level_dispatch_to_a_station(self, as_user) -> None:
        number = new_order(as_user("agent"))["number"]
        act(as_user("dispatcher"), number, "dispatch", {"unit": "GD-LZ"})
        county, station = as_user("lz_handler"), as_user("lz_station")
        act(county, number, "sign")
        order = act(county, number, "dispatch", {"unit": "GD-LZ-CZ"})
        assert order["status"] == "dispatched" and order["current_unit"]["code"] == "GD-LZ-CZ"
        order = act(station, number, "sign")
        assert order["status"] == "signed"
        # a county handler cannot push the order sideways to another county
        number2 = new_order(as_user("agent"))["number"]
        act(as_user("dispatcher"), number2, "dispatch", {"unit": "GD-LZ"})
        response = county.post(f"/api/v1/orders/{number2}/actions/dispatch", json={"unit": "GD-XM"})
        assert response.status_code == 422 and error_code(response) == "order.bad_dispatch_target"

    def test_return_then_review_approve_and_reject(self, as_user) -> None:
        dispatcher, handler = as_user("dispatcher"), as_user("lz_handler")
        number = new_order(as_user("agent"))["number"]
        act(dispatcher, number, "dispatch", {"unit": "GD-LZ"})
        order = act(handler, number, "return", {"reason": "不属于本单位辖区"})
        assert order["status"] == "returned" and order["return_count"] == 1
        order = act(dispatcher, number, "review_return", {"approve": False, "note": "属于辽中辖区"})
        assert order["status"] == "dispatched" and order["current_unit"]["code"] == "GD-LZ"
        act(handler, number, "return", {"reason": "仍不属于本单位"})
        order = act(dispatcher, number, "review_return", {"approve": True})
        assert order["status"] == "registered"
        order = act(dispatcher, number, "dispatch", {"unit": "GD-XM"})
        assert order["current_unit"]["code"] == "GD-XM"
        # the returning handler no longer sees it as theirs to act on
        response = handler.post(f"/api/v1/orders/{number}/actions/sign", json={})
        assert response.status_code == 403

    def test_transfer_by_dispatcher(self, as_user) -> None:
        dispatcher = as_user("dispatcher")
        number = new_order(as_user("agent"))["number"]
        act(dispatcher, number, "dispatch", {"unit": "GD-LZ"})
        act(as_user("lz_handler"), number, "sign")
        order = act(dispatcher, number, "dispatch", {"unit": "GD-XM", "note": "改派新民"})
        assert order["status"] == "dispatched" and order["current_unit"]["code"] == "GD-XM"
        assert order["signed_at"] is None
        response = dispatcher.post(f"/api/v1/orders/{number}/actions/dispatch", json={"unit": "GD-XM"})
        assert response.status_code == 409 and error_code(response) == "order.same_unit"

    def test_co_handling_lets_the_assisting_unit_see_the_order(self, as_user) -> None:
        number = new_order(as_user("agent"))["number"]
        act(as_user("dispatcher"), number, "dispatch", {"unit": "GD-LZ"})
        assert as_user("lzq_handler").get(f"/api/v1/orders/{number}").status_code == 404
        order = act(as_user("dispatcher"), number, "co_handle", {"units": ["QX-LZ"]})
        assert {"code": "QX-LZ", "name": "辽中区人民政府", "role": "assist", "active": True} in order["units"]
        assert as_user("lzq_handler").get(f"/api/v1/orders/{number}").status_code == 200

    def test_extension_request_and_decisions(self, as_user) -> None:
        number = new_order(as_user("agent"))["number"]
        act(as_user("dispatcher"), number, "dispatch", {"unit": "GD-LZ"})
        handler, supervisor = as_user("lz_handler"), as_user("supervisor")
        act(handler, number, "sign")
        act(handler, number, "request_extension", {"duration": "3wd", "reason": "需更换变压器"})
        response = handler.post(f"/api/v1/orders/{number}/actions/request_extension", json={"duration": "2wd", "reason": "再延"})
        assert response.status_code == 409 and error_code(response) == "order.extension_pending"
        order = act(supervisor, number, "decide_extension", {"approve": True})
        assert order["extensions"][0]["state"] == "approved"
        act(handler, number, "request_extension", {"duration": "1wd", "reason": "天气原因"})
        order = act(supervisor, number, "decide_extension", {"approve": False, "note": "不予延期"})
        assert [x["state"] for x in order["extensions"]] == ["approved", "denied"]
        response = supervisor.post(f"/api/v1/orders/{number}/actions/decide_extension", json={"approve": True})
        assert response.status_code == 409 and error_code(response) == "order.no_pending_extension"
        bad = handler.post(f"/api/v1/orders/{number}/actions/request_extension", json={"duration": "three days", "reason": "x"})
        assert bad.status_code == 422

    def test_suspend_and_resume(self, as_user) -> None:
        number = new_order(as_user("agent"))["number"]
        act(as_user("dispatcher"), number, "dispatch", {"unit": "GD-LZ"})
        handler = as_user("lz_handler")
        act(handler, number, "sign")
        assert act(handler, number, "suspend", {"reason": "等待来电人提供材料"})["status"] == "suspended"
        response = handler.post(f"/api/v1/orders/{number}/actions/reply", json={"result": "x"})
        assert response.status_code == 409
        assert act(handler, number, "resume")["status"] == "signed"

    def test_urge_is_a_record_not_a_state(self, as_user) -> None:
        number = new_order(as_user("agent"))["number"]
        act(as_user("dispatcher"), number, "dispatch", {"unit": "GD-LZ"})
        order = act(as_user("supervisor"), number, "urge", {"note": "请于今日内处理"})
        assert order["status"] == "dispatched" and order["urge_count"] == 1
        assert order["events"][-1]["payload"]["note"] == "请于今日内处理"

    def test_merge_duplicate(self, as_user) -> None:
        agent = as_user("agent")
        first, second = new_order(agent)["number"], new_order(agent)["number"]
        order = act(agent, second, "merge", {"into": first})
        assert order["status"] == "merged" and order["merged_into"] == first
        third = new_order(agent)["number"]
        response = agent.post(f"/api/v1/orders/{third}/actions/merge", json={"into": second})
        assert response.status_code == 409 and error_code(response) == "order.merge_target_final"
        response = agent.post(f"/api/v1/orders/{third}/actions/merge", json={"into": third})
        assert response.status_code == 422
        response = agent.post(f"/api/v1/orders/{third}/actions/merge", json={"into": "20000101000001"})
        assert response.status_code == 404

    def test_void_with_reason(self, as_user) -> None:
        number = new_order(as_user("agent"))["number"]
        response = as_user("supervisor").post(f"/api/v1/orders/{number}/actions/void", json={})
        assert response.status_code == 422
        assert act(as_user("supervisor"), number, "void", {"reason": "骚扰电话"})["status"] == "void"

    def test_reopen_goes_back_to_the_unit_that_handled_it(self, as_user) -> None:
        number = _replied(as_user)
        supervisor = as_user("supervisor")
        response = supervisor.post(f"/api/v1/orders/{number}/actions/reopen", json={"reason": "x"})
        assert response.status_code == 409 and error_code(response) == "order.reopen_needs_dissatisfied"
        act(supervisor, number, "callback", {"satisfaction": "dissatisfied", "resolved": False})
        order = act(supervisor, number, "reopen", {"reason": "问题仍未解决"})
        assert order["status"] == "dispatched" and order["current_unit"]["code"] == "GD-LZ"
        assert order["reopen_count"] == 1 and order["satisfaction"] is None
        handler = as_user("lz_handler")
        act(handler, number, "sign")
        act(handler, number, "reply", {"result": "再次处理", "attachments": [photo(handler)]})
        order = act(supervisor, number, "callback", {"satisfaction": "basically_satisfied", "resolved": True})
        assert order["status"] == "closed" and [c["round"] for c in order["callbacks"]] == [0, 1]

    def test_unreachable_callbacks_close_after_the_configured_attempts(self, as_user) -> None:
        number = _replied(as_user)
        supervisor = as_user("supervisor")
        for attempt in (1, 2):
            order = act(supervisor, number, "callback", {"reachable": False, "note": f"第{attempt}次未接通"})
            assert order["status"] == "replied" and order["unreachable_attempts"] == attempt
        order = act(supervisor, number, "callback", {"reachable": False})
        assert order["status"] == "closed" and order["unreachable_attempts"] == 3

    def test_photo_required_by_category(self, as_user) -> None:
        number = new_order(as_user("agent"))["number"]  # 停电 under 电力供应: requires a photo
        act(as_user("dispatcher"), number, "dispatch", {"unit": "GD-LZ"})
        handler = as_user("lz_handler")
        act(handler, number, "sign")
        response = handler.post(f"/api/v1/orders/{number}/actions/reply", json={"result": "已处理"})
        assert response.status_code == 422 and error_code(response) == "order.photo_required"
        assert handler.get(f"/api/v1/orders/{number}").json()["status"] == "signed"
        # a category without the requirement replies without a photo
        n2 = new_order(as_user("agent"), category="050101", appeal_type="help")["number"]
        act(as_user("dispatcher"), n2, "dispatch", {"unit": "RSJ"})
        act(as_user("rsj_handler"), n2, "sign")
        assert act(as_user("rsj_handler"), n2, "reply", {"result": "已协调支付工资"})["status"] == "replied"

    def test_note_by_anyone_who_sees_it(self, as_user) -> None:
        number = new_order(as_user("agent"))["number"]
        order = act(as_user("agent"), number, "note", {"text": "来电人再次来电催促"})
        assert order["status"] == "registered" and order["events"][-1]["payload"]["text"].startswith("来电人")


class TestClassify:
    def test_dispatcher_corrects_category_and_urgency(self, as_user) -> None:
        number = new_order(as_user("agent"), category="010101")["number"]
        order = act(as_user("dispatcher"), number, "classify", {"category": "080101", "urgency": "urgent"})
        assert order["category"]["code"] == "080101" and order["urgency"] == "urgent"
        payload = order["events"][-1]["payload"]
        assert payload["category"] == {"from": "010101", "to": "080101"}
        assert payload["urgency"] == {"from": "normal", "to": "urgent"}
        response = as_user("dispatcher").post(f"/api/v1/orders/{number}/actions/classify", json={})
        assert response.status_code == 422
        response = as_user("lz_handler").post(f"/api/v1/orders/{number}/actions/classify", json={"urgency": "normal"})
        assert response.status_code == 404  # not with the handler's unit at all
