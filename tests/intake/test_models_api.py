"""``/api/v1/intake/models``: list, activate (admin only), errors; switching the active model
takes effect for the next analysis at once."""

from __future__ import annotations

from tests.helpers import error_code
from tests.intake.intake_support import activate, small_model

__all__ = ["small_model"]


def test_list_and_activate(as_user, state, small_model) -> None:
    agent, admin = as_user("agent"), as_user("admin")
    assert agent.get("/api/v1/intake/models").json() == {"items": [], "active": None}
    assert agent.post("/api/v1/intake/analyze", json={"title": "停电"}).json()["categories"] == []
    version = activate(state, small_model)
    listing = agent.get("/api/v1/intake/models").json()
    assert listing["active"] == version and listing["items"][0]["training"]["n_rows"] == 50
    assert agent.post("/api/v1/intake/analyze", json={"title": "停电"}).json()["model_version"] == version
    assert agent.post(f"/api/v1/intake/models/{version}/activate").status_code == 403
    missing = admin.post("/api/v1/intake/models/nope/activate")
    assert missing.status_code == 404 and error_code(missing) == "intake.model_not_found"
    again = admin.post(f"/api/v1/intake/models/{version}/activate")
    assert again.status_code == 200 and again.json()["active"] is True
    status = agent.get("/api/v1/intake/status").json()
    assert status["model"] == version and status["duplicates_index"]["state"] in ("absent", "building", "ready")


def test_thresholds_need_an_active_model(as_user, state) -> None:
    response = as_user("admin").get("/api/v1/intake/thresholds")
    assert response.status_code == 404 and error_code(response) == "intake.no_active_model"
    assert as_user("admin").put("/api/v1/intake/thresholds", json={"default": 0.9}).status_code == 404
