"""Deferred creation behind tokens, and mySociety's servicerequestupdates both ways."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from minxin.core.clock import FixedClock
from minxin.jobs.registry import run_once
from minxin.open311 import mapping
from minxin.workorders import repository as orders_repository
from tests.helpers import act, photo
from tests.open311 import checks, recorded
from tests.open311.conftest import JURISDICTION
from tests.open311.test_clients import replay

REPORT = {"service_code": "001", "lat": "41.8", "long": "123.4", "attribute[depth]": "3", "jurisdiction_id": JURISDICTION,
          "description": "路面塌陷", "first_name": "Li"}


def post_report(base: str, key: str, fmt: str = "xml") -> httpx.Response:
    response = httpx.post(f"{base}/requests.{fmt}", data=REPORT | {"api_key": key})
    assert response.status_code == 200, response.text
    return response


def test_deferred_key_answers_with_a_token_that_fixmystreet_can_poll(
    base: str, make_key: Callable[..., str], pothole: Any, state: Any
) -> None:
    key = make_key(name="batch client", open311_deferred=True)
    request = checks.xml_root(post_report(base, key).content).find("request")
    assert request is not None
    assert request.find("service_request_id") is None  # FixMyStreet then polls the token
    token = request.findtext("token")
    assert token
    polled = httpx.get(f"{base}/tokens/{token}.xml", params={"jurisdiction_id": JURISDICTION})
    assert polled.status_code == 200
    checks.exact_type(polled, "xml")
    number = checks.xml_root(polled.content).findtext("request/service_request_id")
    assert number
    again = httpx.get(f"{base}/tokens/{token}.json").json()
    assert again == [{"service_request_id": number, "token": token}]
    with state.db.reading() as session:
        order = orders_repository.get_by_number(session, number)
        assert order is not None and order.channel == "open311" and order.extra["open311"]["token"] == token

    second = checks.xml_root(post_report(base, key).content).findtext("request/token")
    assert run_once(state, "open311.tokens") == {"created": 1, "failed": 0}
    assert run_once(state, "open311.tokens") is None
    resolved = httpx.get(f"{base}/tokens/{second}.json").json()[0]
    assert resolved["service_request_id"] not in (None, number)


def test_realtime_answer_carries_id_and_token(base: str, key: str, shared: Path) -> None:
    [answer] = post_report(base, key, "json").json()
    assert set(answer) >= {"service_request_id", "token", "service_notice"}
    token = httpx.get(f"{base}/tokens/{answer['token']}.json").json()
    assert token == [{"service_request_id": answer["service_request_id"], "token": answer["token"]}]
    spec = checks.fixture_root(shared, "node-open311/token.xml")
    ours = checks.xml_root(httpx.get(f"{base}/tokens/{answer['token']}.xml").content)
    assert ours.tag == spec.tag and checks.children(ours.find("request")) == checks.children(spec.find("request"))


def _updates(base: str, key: str) -> list[dict[str, str]]:
    response = httpx.get(f"{base}/servicerequestupdates.xml", params={
        "api_key": key, "start_date": "2026-11-19T00:00:00Z", "end_date": "2026-11-21T00:00:00Z",
        "jurisdiction_id": JURISDICTION})
    assert response.status_code == 200, response.text
    checks.exact_type(response, "xml")
    return [{child.tag: child.text or "" for child in item} for item in checks.xml_root(response.content).findall("request_update")]


def test_updates_flow_both_ways(
    base: str, key: str, shared: Path, clock: FixedClock, as_user: Callable[[str], httpx.Client], server: Any
) -> None:
    number = checks.xml_root(post_report(base, key).content).findtext("request/service_request_id")
    assert number
    dispatcher, handler = as_user("dispatcher"), as_user("cgj_handler")
    for action, client, body in (("dispatch", dispatcher, {"unit": "CGJ"}), ("sign", handler, None),
                                 ("reply", handler, {"result": "已修补路面，联系电话13912345678", "attachments": [photo(handler)]})):
        clock.advance(timedelta(minutes=10))
        act(client, number, action, body)
    ours = [u for u in _updates(base, key) if u["service_request_id"] == number]
    assert [u["status"] for u in ours] == ["investigating", "in_progress", "fixed"]
    assert [u["external_status_code"] for u in ours] == ["dispatch", "sign", "reply"]
    assert ours[-1]["description"].startswith("已修补路面") and "13912345678" not in ours[-1]["description"]
    adapter = checks.fixture_root(shared, "mysociety/adapter-get-servicerequestupdates.xml").find("request_update")
    assert set(ours[0]) >= checks.children(adapter)
    assert ours[0]["update_id"] == f"{number}_2"

    # FixMyStreet posts the reporter's "fixed" (recorded body, byte for byte apart from key and id)
    clock.advance(timedelta(minutes=10))
    call = recorded.fms_post(shared / "CLIENTS.md", "/servicerequestupdates.xml").with_values(
        **{"api_key=KEY": f"api_key={key}", "638344": number})
    response = replay(server.url, call)
    assert response.status_code == 200, response.text
    root = checks.xml_root(response.content)
    spec = checks.fixture_root(shared, "mysociety/adapter-post-servicerequestupdate-response.xml")
    assert root.tag == spec.tag and checks.children(root.find("request_update")) == checks.children(spec.find("request_update"))
    update_id = root.findtext("request_update/update_id")
    detail = as_user("supervisor").get(f"/api/v1/orders/{number}").json()
    assert detail["status"] == "closed" and detail["satisfaction"] == "satisfied"
    assert update_id == f"{number}_{detail['events'][-1]['seq']}"
    # a retry of the same update changes nothing and answers the same id
    assert checks.xml_root(replay(server.url, call).content).findtext(
        "request_update/update_id") == update_id
    assert len(as_user("supervisor").get(f"/api/v1/orders/{number}").json()["events"]) == len(detail["events"])
    # FixMyStreet never gets its own update back, other clients do
    assert [u["external_status_code"] for u in _updates(base, key) if u["service_request_id"] == number] == [
        "dispatch", "sign", "reply"]
    anonymous = httpx.get(f"{base}/servicerequestupdates.json", params={
        "start_date": "2026-11-19T00:00:00Z", "end_date": "2026-11-21T00:00:00Z"}).json()
    assert [u["status"] for u in anonymous if u["service_request_id"] == number][-1] == "fixed"


def test_reopen_and_refused_statuses(
    base: str, make_key: Callable[..., str], pothole: Any, as_user: Callable[[str], httpx.Client], clock: FixedClock
) -> None:
    agent_key, supervisor_key = make_key(), make_key(name="council staff", role="supervisor", system=None)
    number = checks.xml_root(post_report(base, agent_key).content).findtext("request/service_request_id")
    assert number
    handler = as_user("cgj_handler")
    act(as_user("dispatcher"), number, "dispatch", {"unit": "CGJ"})
    act(handler, number, "sign")
    act(handler, number, "reply", {"result": "已处理"})

    def post(key: str, update_id: str, status: str) -> str:
        clock.advance(timedelta(minutes=1))
        response = httpx.post(f"{base}/servicerequestupdates.json", data={
            "api_key": key, "service_request_id": number, "update_id": update_id, "status": status,
            "description": f"{status} from FixMyStreet", "updated_datetime": "2026-11-20T10:00:00+08:00"})
        assert response.status_code == 200, response.text
        return str(response.json()[0]["update_id"])

    post(agent_key, "a1", "IN_PROGRESS")  # only a note
    post(agent_key, "a2", "REOPEN")  # an agent may record the dissatisfied callback, not reopen
    detail = as_user("supervisor").get(f"/api/v1/orders/{number}").json()
    assert detail["status"] == "replied" and detail["satisfaction"] == "dissatisfied"
    assert [e["action"] for e in detail["events"]][-2:] == ["note", "callback"]
    post(supervisor_key, "s1", "REOPEN")
    detail = as_user("supervisor").get(f"/api/v1/orders/{number}").json()
    assert detail["status"] == "dispatched" and detail["reopen_count"] == 1
    post(supervisor_key, "s2", "DUPLICATE")  # no target order to merge into: a note
    assert as_user("supervisor").get(f"/api/v1/orders/{number}").json()["events"][-1]["action"] == "note"


@pytest.mark.parametrize(("action", "to_status", "payload", "expected"), [
    ("dispatch", "dispatched", {}, "investigating"),
    ("sign", "signed", {}, "in_progress"),
    ("suspend", "suspended", {}, "action_scheduled"),
    ("reply", "replied", {}, "fixed"),
    ("callback", "closed", {}, "fixed"),
    ("answer", "closed", {}, "closed"),
    ("close", "closed", {"unreasonable": True}, "no_further_action"),
    ("merge", "merged", {}, "duplicate"),
    ("void", "void", {}, "not_councils_responsibility"),
    ("reopen", "dispatched", {}, "open"),
    ("review_return", "registered", {}, "open"),
])
def test_extended_status_of_events(action: str, to_status: str, payload: dict[str, Any], expected: str) -> None:
    assert mapping.extended_for_event(action, to_status, payload) == expected


def test_base_status_mapping() -> None:
    assert mapping.base_status("signed") == "open" and mapping.base_status("replied") == "closed"
    assert mapping.base_statuses_to_ours(["open"]) == {"registered", "dispatched", "returned", "signed", "suspended"}
    assert mapping.normalise_incoming("not councils responsibility") == "NOT_COUNCILS_RESPONSIBILITY"
    assert mapping.normalise_incoming("whatever") is None
    with pytest.raises(ValueError):
        mapping.base_statuses_to_ours(["pending"])
