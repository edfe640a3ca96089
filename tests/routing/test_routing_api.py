"""The routing API over HTTP: who may read and write, create/patch/deactivate with history,
the explain endpoint, and errors (never a 500), plus the console's /admin/routing table."""

from __future__ import annotations

from tests.helpers import error_code
from tests.intake.intake_support import seed_routing


def test_readers_writers_and_history(as_user, state) -> None:
    seed_routing(state)
    for reader in ("dispatcher", "agent", "supervisor", "admin"):
        listing = as_user(reader).get("/api/v1/routing/rules")
        assert listing.status_code == 200, listing.text
        assert listing.json()["total"] > 20
    assert as_user("lz_handler").get("/api/v1/routing/rules").status_code == 403
    power = as_user("dispatcher").get("/api/v1/routing/rules", params={"category": "0801", "region": "210115"}).json()
    assert [(r["unit_code"], r["unit_name"]) for r in power["items"]] == [("GD-LZ", "国网辽中区供电分公司")]

    body = {"category": "080104", "region": "210115", "unit": "GD-LZ-CZ", "priority": 2,
            "valid_from": "2026-01-01", "note": "电费问题由城区供电所直接答复", "why": "职责调整"}
    assert as_user("dispatcher").post("/api/v1/routing/rules", json=body).status_code == 403
    created = as_user("admin").post("/api/v1/routing/rules", json=body)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["unit_code"] == "GD-LZ-CZ" and rule["category_name"] == "电费电价" and rule["region_name"] == "沈阳市辽中区"
    assert rule["edited_by"] == "admin" and rule["history"][0]["action"] == "create" and rule["history"][0]["why"] == "职责调整"

    explained = as_user("agent").get("/api/v1/routing/route", params={"category": "080104", "region": "210115"}).json()
    assert explained["code"] == "GD-LZ-CZ" and explained["rule"]["id"] == rule["id"]
    assert [r["code"] for r in explained["runners_up"]] == ["GD-LZ", "GDGS", "QX-LZ"]
    assert "备选" in explained["explanation"] and "电费问题由城区供电所直接答复" in explained["explanation"]

    patched = as_user("admin").patch(f"/api/v1/routing/rules/{rule['id']}", json={"valid_to": "2026-06-30", "why": "试点结束"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["history"][-1]["changes"] == {"valid_to": {"from": None, "to": "2026-06-30"}}
    on_day = as_user("agent").get("/api/v1/routing/route", params={"category": "080104", "region": "210115", "on": "2026-12-01"})
    assert on_day.json()["code"] == "GD-LZ"

    deleted = as_user("admin").delete(f"/api/v1/routing/rules/{rule['id']}", params={"why": "撤销"})
    assert deleted.status_code == 200 and deleted.json()["active"] is False
    assert [h["action"] for h in deleted.json()["history"]] == ["create", "update", "deactivate"]
    assert as_user("admin").get(f"/api/v1/routing/rules/{rule['id']}").json()["active"] is False
    inactive = as_user("admin").get("/api/v1/routing/rules", params={"active": "false"}).json()
    assert [r["id"] for r in inactive["items"]] == [rule["id"]]


def test_bad_input_is_a_4xx(as_user, state) -> None:
    admin = as_user("admin")
    cases = [
        ({"unit": "NOPE"}, "unit.not_found"),
        ({"unit": "CGJ", "region": "abc"}, "routing.bad_region"),
        ({"unit": "CGJ", "category": "999999"}, "category.not_found"),
        ({"unit": "CGJ", "valid_from": "2027-02-01", "valid_to": "2027-01-01"}, "routing.bad_dates"),
    ]
    for body, code in cases:
        response = admin.post("/api/v1/routing/rules", json=body)
        assert response.status_code == 422 and error_code(response) == code, response.text
    assert admin.post("/api/v1/routing/rules", json={"unit": "CGJ", "colour": "red"}).status_code == 422
    assert admin.post("/api/v1/routing/rules", json={"unit": "CGJ", "valid_from": "soon"}).status_code == 422
    assert admin.patch("/api/v1/routing/rules/9999", json={"priority": 1}).status_code == 404
    assert admin.delete("/api/v1/routing/rules/9999").status_code == 404
    assert admin.get("/api/v1/routing/rules/abc").status_code == 422
    nothing = admin.get("/api/v1/routing/route", params={"category": "nope", "region": "99"})
    assert nothing.status_code == 200 and nothing.json()["code"] is None


def test_admin_console_slot_shows_the_table(state) -> None:
    from minxin.intake import web_slots
    from minxin.web import extensions

    assert extensions.routing_rules is web_slots.routing_rules  # wired by PLUGIN_MODULES
    seed_routing(state)
    with state.db.reading() as session:
        table = extensions.routing_rules(session)
    assert ("unit", "承办单位") in table.columns and len(table.rows) > 20
    units = {row["unit"] for row in table.rows}
    assert "国网辽中区供电分公司（GD-LZ）" in units and any(row["note"].startswith("属地兜底") for row in table.rows)
    assert "类别越具体越优先" in table.note
