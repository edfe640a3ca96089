"""Concurrency and idempotency over real HTTP, on every backend."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.helpers import APPEAL, act, error_code, new_order


class TestRaces:
    def test_two_dispatchers_at_once_exactly_one_wins(self, as_user, token_for, server) -> None:
        number = new_order(as_user("agent"))["number"]
        tokens = [token_for("dispatcher"), token_for("dispatcher")]
        barrier = threading.Barrier(2)

        def dispatch(token: str, unit: str) -> httpx.Response:
            with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
                barrier.wait()
                return c.post(f"/api/v1/orders/{number}/actions/dispatch", json={"unit": unit, "expected_version": 1})

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(dispatch, tokens, ["GD-LZ", "GD-XM"]))
        codes = sorted(r.status_code for r in results)
        assert codes == [200, 409], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 409)
        assert error_code(loser) in {"order.version_conflict", "lifecycle.illegal_action", "order.same_unit"}
        order = as_user("dispatcher").get(f"/api/v1/orders/{number}").json()
        assert [e["action"] for e in order["events"]] == ["register", "dispatch"]

    def test_parallel_intake_never_collides(self, as_user, token_for, server) -> None:
        token = token_for("agent")

        def create(i: int) -> str:
            with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
                response = c.post("/api/v1/orders", json=APPEAL | {"title": f"并发受理 {i}"})
                assert response.status_code == 201, response.text
                return str(response.json()["number"])

        with ThreadPoolExecutor(16) as pool:
            numbers = list(pool.map(create, range(80)))
        assert len(set(numbers)) == 80
        sequences = sorted(int(n[8:]) for n in numbers)
        assert sequences == list(range(sequences[0], sequences[0] + 80)), "numbers are gap-free within a day"


class TestIdempotency:
    def test_same_key_returns_the_same_order(self, as_user) -> None:
        agent = as_user("agent")
        headers = {"Idempotency-Key": "call-2026-11-26-0001"}
        first = agent.post("/api/v1/orders", json=APPEAL, headers=headers)
        second = agent.post("/api/v1/orders", json=APPEAL, headers=headers)
        assert first.status_code == second.status_code == 201
        assert first.json()["number"] == second.json()["number"]
        assert second.headers.get("Idempotent-Replayed") == "true"
        assert agent.get("/api/v1/orders", params={"q": APPEAL["title"]}).json()["total"] == 1

    def test_same_key_with_another_body_is_refused(self, as_user) -> None:
        agent = as_user("agent")
        headers = {"Idempotency-Key": "k-1"}
        assert agent.post("/api/v1/orders", json=APPEAL, headers=headers).status_code == 201
        response = agent.post("/api/v1/orders", json=APPEAL | {"title": "另一件事"}, headers=headers)
        assert response.status_code == 409 and error_code(response) == "idempotency.key_reused"

    def test_parallel_repeats_of_one_key_create_one_order(self, token_for, server, as_user) -> None:
        token = token_for("agent")
        barrier = threading.Barrier(8)

        def create(_: int) -> str:
            with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "dup-storm"}, timeout=60) as c:
                barrier.wait()
                response = c.post("/api/v1/orders", json=APPEAL | {"title": "幂等并发"})
                assert response.status_code == 201, response.text
                return str(response.json()["number"])

        with ThreadPoolExecutor(8) as pool:
            numbers = set(pool.map(create, range(8)))
        assert len(numbers) == 1
        assert as_user("agent").get("/api/v1/orders", params={"q": "幂等并发"}).json()["total"] == 1

    def test_stale_expected_version_is_409(self, as_user) -> None:
        number = new_order(as_user("agent"))["number"]
        act(as_user("dispatcher"), number, "note", {"text": "first", "expected_version": 1})
        response = as_user("dispatcher").post(
            f"/api/v1/orders/{number}/actions/note", json={"text": "second", "expected_version": 1}
        )
        assert response.status_code == 409 and error_code(response) == "order.version_conflict"
