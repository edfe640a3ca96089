"""Admins edit the risk taxonomy through the API: validated, versioned, effective on the next intake."""

from __future__ import annotations

import copy
from collections.abc import Callable

import httpx
import yaml

from minxin.core.clock import FixedClock
from tests.helpers import error_code
from tests.risk.conftest import register


def test_taxonomy_is_versioned_and_takes_effect(as_user: Callable[[str], httpx.Client], clock: FixedClock) -> None:
    admin, agent = as_user("admin"), as_user("agent")
    current = agent.get("/api/v1/risk/taxonomy").json()
    assert (current["source"], current["categories"], current["labels"]) == ("packaged", 9, 122)
    mapping = current["mapping"]
    before = register(agent, clock, title="鹦鹉扰民", content="邻居家养的鹦鹉天天尖叫")
    assert before["risk"]["tags"] == []

    edited = copy.deepcopy(mapping)
    edited["version"] = "2025.1-local"
    edited["categories"][0]["labels"].append({
        "code": "personal_safety.parrot", "name": "鹦鹉尖叫", "severity": 1, "role": "grid_worker",
        "signals": [{"keywords": ["鹦鹉"]}],
    })
    assert error_code(as_user("supervisor").put("/api/v1/risk/taxonomy", json=edited)) == "auth.role_forbidden"
    broken = copy.deepcopy(edited)
    broken["categories"][0]["labels"][-1]["severity"] = 9
    refused = admin.put("/api/v1/risk/taxonomy", json=broken)
    assert refused.status_code == 422 and error_code(refused) == "risk.taxonomy_invalid"
    assert "personal_safety.parrot" in refused.json()["error"]["message_en"]
    assert error_code(admin.put("/api/v1/risk/taxonomy", content=b"{not json", headers={"Content-Type": "application/json"})) == "risk.taxonomy_invalid"

    saved = admin.put("/api/v1/risk/taxonomy", json={"mapping": edited, "note": "鹦鹉"})
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["created"] is True and body["version"] == "2025.1-local" and body["labels"] == 123
    assert [h["note"] for h in body["history"]] == ["鹦鹉"] and body["history"][0]["active"] is True
    assert admin.put("/api/v1/risk/taxonomy", json=edited).json()["created"] is False

    after = register(agent, clock, title="鹦鹉扰民", content="邻居家养的鹦鹉天天尖叫")
    [parrot] = after["risk"]["tags"]
    assert parrot["label"] == "personal_safety.parrot" and parrot["name"] == "鹦鹉尖叫"

    exported = admin.get("/api/v1/risk/taxonomy", params={"format": "yaml"})
    assert exported.status_code == 200 and yaml.safe_load(exported.text)["version"] == "2025.1-local"
    restored = admin.put("/api/v1/risk/taxonomy", content=yaml.safe_dump(mapping, allow_unicode=True).encode(),
                         headers={"Content-Type": "application/yaml"})
    assert restored.status_code == 200 and restored.json()["labels"] == 122 and len(restored.json()["history"]) == 2
    old = admin.get("/api/v1/risk/taxonomy", params={"version": body["history"][0]["id"]}).json()
    assert old["mapping"]["version"] == "2025.1-local"
    assert admin.get("/api/v1/risk/taxonomy", params={"version": 999}).status_code == 404
    again = register(agent, clock, title="鹦鹉", content="鹦鹉又叫了")
    assert "personal_safety.parrot" not in {t["label"] for t in again["risk"]["tags"]}
