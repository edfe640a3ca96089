"""Who sees what: unit scope (404 for others), phone masking, bad input answered with 4xx."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from minxin.core.lifecycle import replay
from minxin.core.vocabulary import Action, Status
from minxin.workorders import repository
from tests.helpers import APPEAL, act, error_code, new_order, photo


class TestScope:
    def test_another_countys_handler_gets_404(self, as_user) -> None:
        number = new_order(as_user("agent"))["number"]
        act(as_user("dispatcher"), number, "dispatch", {"unit": "GD-LZ"})
        assert as_user("lz_handler").get(f"/api/v1/orders/{number}").status_code == 200
        assert as_user("lz_station").get(f"/api/v1/orders/{number}").status_code == 404  # below, not yet involved
        other = as_user("xm_handler")
        response = other.get(f"/api/v1/orders/{number}")
        assert response.status_code == 404 and error_code(response) == "order.not_found"
        response = other.post(f"/api/v1/orders/{number}/actions/sign", json={})
        assert response.status_code == 404
        assert number not in {o["number"] for o in other.get("/api/v1/orders", params={"limit": 200}).json()["items"]}

    def test_parent_company_and_its_leader_see_county_orders(self, as_user) -> None:
        number = new_order(as_user("agent"))["number"]
        act(as_user("dispatcher"), number, "dispatch", {"unit": "GD-LZ"})
        assert as_user("gd_leader").get(f"/api/v1/orders/{number}").status_code == 200
        assert as_user("gd_dispatcher").get(f"/api/v1/orders/{number}").status_code == 200

    def test_list_filters(self, as_user) -> None:
        agent = as_user("agent")
        a = new_order(agent, title="供暖不热", category="080301", appeal_type="complaint")["number"]
        new_order(agent, title="停电报修")
        body = agent.get("/api/v1/orders", params={"category": "0803"}).json()
        assert [o["number"] for o in body["items"]] == [a] and body["total"] == 1
        assert agent.get("/api/v1/orders", params={"q": "供暖"}).json()["total"] == 1
        assert agent.get("/api/v1/orders", params={"status": "registered,dispatched"}).json()["total"] == 2
        assert agent.get("/api/v1/orders", params={"status": "closed"}).json()["total"] == 0
        assert len(agent.get("/api/v1/orders", params={"limit": 1}).json()["items"]) == 1
        response = agent.get("/api/v1/orders", params={"created_from": "yesterday"})
        assert response.status_code == 422


class TestMasking:
    def test_leader_sees_a_masked_phone_and_masked_free_text(self, as_user) -> None:
        number = new_order(
            as_user("agent"), content="我的身份证号110101199003074514，电话13987654321，请回电。"
        )["number"]
        full = as_user("dispatcher").get(f"/api/v1/orders/{number}").json()
        assert full["citizen"]["phone"] == "13812345678"
        masked = as_user("leader").get(f"/api/v1/orders/{number}").json()
        assert masked["citizen"]["phone"] == "138****5678"
        assert "110101199003074514" not in masked["content"] and "13987654321" not in masked["content"]

    def test_confidential_caller_is_masked_for_handlers(self, as_user) -> None:
        number = new_order(as_user("agent"), confidential=True)["number"]
        act(as_user("dispatcher"), number, "dispatch", {"unit": "GD-LZ"})
        assert as_user("lz_handler").get(f"/api/v1/orders/{number}").json()["citizen"]["phone"] == "138****5678"
        assert as_user("supervisor").get(f"/api/v1/orders/{number}").json()["citizen"]["phone"] == "13812345678"


class TestBadInput:
    @pytest.mark.parametrize(
        "body",
        [
            {},
            APPEAL | {"channel": "fax"},
            APPEAL | {"appeal_type": "gossip"},
            APPEAL | {"title": ""},
            APPEAL | {"title": "x" * 201},
            APPEAL | {"urgency": "whenever"},
            APPEAL | {"citizen": {"name": "张", "phone": "call me"}},
            APPEAL | {"unexpected": 1},
        ],
    )
    def test_invalid_intake_is_422_and_writes_nothing(self, as_user, body) -> None:
        agent = as_user("agent")
        before = agent.get("/api/v1/orders").json()["total"]
        response = agent.post("/api/v1/orders", json=body)
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "invalid" and error["message_zh"] and error["message_en"]
        assert agent.get("/api/v1/orders").json()["total"] == before

    def test_unknown_category_is_a_clear_error(self, as_user) -> None:
        response = as_user("agent").post("/api/v1/orders", json=APPEAL | {"category": "nope"})
        assert response.status_code == 404 and error_code(response) == "category.not_found"

    def test_not_json_and_wrong_types(self, as_user) -> None:
        agent = as_user("agent")
        response = agent.post("/api/v1/orders", content=b"\xff\xfe not json", headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and error_code(response) == "invalid_body"
        number = new_order(agent)["number"]
        response = agent.post(f"/api/v1/orders/{number}/actions/dispatch", json={"unit": 5})
        assert response.status_code in (403, 422)
        response = as_user("dispatcher").post(f"/api/v1/orders/{number}/actions/dispatch", json={"unit": "NOPE"})
        assert response.status_code == 422 and error_code(response) == "unit.not_found"
        response = as_user("dispatcher").post(f"/api/v1/orders/{number}/actions/fly", json={})
        assert response.status_code == 404 and error_code(response) == "order.unknown_action"

    def test_handler_cannot_register(self, as_user) -> None:
        response = as_user("lz_handler").post("/api/v1/orders", json=APPEAL)
        assert response.status_code == 403 and error_code(response) == "order.intake_forbidden"

    def test_unauthenticated_and_bad_tokens(self, server) -> None:
        import httpx

        assert httpx.get(f"{server.url}/api/v1/orders").status_code == 401
        response = httpx.get(f"{server.url}/api/v1/orders", headers={"Authorization": "Bearer nonsense"})
        assert response.status_code == 401 and response.json()["error"]["code"] == "auth.invalid_token"


class TestEventLog:
    def test_status_rebuilt_from_events_matches_every_order(self, as_user, state) -> None:
        agent, dispatcher, handler, supervisor = as_user("agent"), as_user("dispatcher"), as_user("lz_handler"), as_user("supervisor")
        numbers = []
        for i in range(4):
            number = new_order(agent, title=f"重建 {i}")["number"]
            numbers.append(number)
            if i >= 1:
                act(dispatcher, number, "dispatch", {"unit": "GD-LZ"})
            if i >= 2:
                act(handler, number, "sign")
                act(handler, number, "reply", {"result": "ok", "attachments": [photo(handler)]})
            if i >= 3:
                act(supervisor, number, "callback", {"satisfaction": "dissatisfied", "resolved": False})
                act(supervisor, number, "reopen", {"reason": "未解决"})
        with state.db.reading() as session:
            for number in numbers:
                order = repository.get_by_number(session, number)
                events = repository.events_of(session, order.id)
                assert events[0].action == "register" and events[0].to_status == "registered"
                rebuilt = replay(
                    (Action(e.action), e.outcome, Status(e.from_status), Status(e.to_status)) for e in events[1:]
                ) or Status(events[0].to_status)
                assert rebuilt.value == order.status
                assert [e.seq for e in events] == list(range(1, len(events) + 1))

    def test_events_cannot_be_changed_or_deleted(self, as_user, state) -> None:
        from datetime import UTC, datetime

        from minxin.audit import service as audit

        new_order(as_user("agent"))
        with state.db.unit_of_work() as session:
            audit.record(session, at=datetime.now(UTC), actor="t", action="test", target_type="x", target_id=1)
        for sql in ("UPDATE order_events SET actor_name = 'x'", "DELETE FROM order_events", "DELETE FROM audit_log"):
            with pytest.raises(Exception, match="append-only"), state.db.unit_of_work() as session:
                session.execute(text(sql))
