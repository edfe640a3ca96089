"""Login, tokens, roles on admin endpoints, and the audit trail."""

from __future__ import annotations

import httpx

from tests.conftest import PASSWORD
from tests.helpers import error_code


class TestLogin:
    def test_password_form_gives_a_bearer_token(self, server) -> None:
        response = httpx.post(f"{server.url}/api/v1/auth/token", data={"username": "agent", "password": PASSWORD})
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer" and body["access_token"]
        me = httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert me.json()["role"] == "agent"

    def test_wrong_password_and_unknown_user_look_the_same(self, server) -> None:
        for username, password in (("agent", "wrong-password"), ("nobody", PASSWORD)):
            response = httpx.post(f"{server.url}/api/v1/auth/token", data={"username": username, "password": password})
            assert response.status_code == 401 and error_code(response) == "auth.bad_credentials"
        response = httpx.post(f"{server.url}/api/v1/auth/token", data={"username": "agent"})
        assert response.status_code == 422

    def test_deactivated_user_loses_access_at_once(self, as_user) -> None:
        agent = as_user("agent2")
        assert agent.get("/api/v1/me").status_code == 200
        assert as_user("admin").patch("/api/v1/users/agent2", json={"active": False}).status_code == 200
        response = agent.get("/api/v1/me")
        assert response.status_code == 401 and error_code(response) == "auth.revoked"


class TestAdmin:
    def test_admin_manages_users_units_categories_and_it_is_audited(self, as_user) -> None:
        admin = as_user("admin")
        response = admin.post("/api/v1/units", json={"code": "GD-LZ-XF", "name": "新发供电所", "kind": "station", "parent": "GD-LZ", "region_code": "210115"})
        assert response.status_code == 201
        response = admin.post("/api/v1/users", json={"username": "xf", "password": "xf-123456", "role": "handler", "unit": "GD-LZ-XF"})
        assert response.status_code == 201 and response.json()["unit"]["code"] == "GD-LZ-XF"
        assert admin.post("/api/v1/users", json={"username": "xf", "password": "xf-123456", "role": "handler", "unit": "GD-LZ-XF"}).status_code == 409
        assert admin.post("/api/v1/users", json={"username": "y", "password": "123456", "role": "boss", "unit": "GD-LZ"}).status_code == 422
        response = admin.post("/api/v1/categories", json={"code": "080105", "name": "表计故障", "parent": "0801"})
        assert response.status_code == 201 and response.json()["level"] == 3
        response = admin.post("/api/v1/categories", json={"code": "08010501", "name": "太深", "parent": "080105"})
        assert response.status_code == 422 and error_code(response) == "category.too_deep"
        assert admin.patch("/api/v1/units/GD-LZ", json={"contact_name": "新联系人"}).json()["contact_name"] == "新联系人"
        bad = admin.patch("/api/v1/units/GD-LZ", json={"business_hours": [["17:00", "08:00"]]})
        assert bad.status_code == 422 and error_code(bad) == "unit.bad_hours"
        actions = [e["action"] for e in admin.get("/api/v1/audit").json()["items"]]
        assert {"unit.create", "user.create", "category.create", "unit.update"} <= set(actions)

    def test_non_admins_are_refused(self, as_user) -> None:
        for username in ("agent", "dispatcher", "lz_handler", "leader"):
            client = as_user(username)
            assert client.get("/api/v1/users").status_code == 403
            assert client.post("/api/v1/units", json={"code": "X", "name": "x", "kind": "station"}).status_code == 403
            assert client.get("/api/v1/audit").status_code == 403

    def test_unit_tree_has_codes_and_first_contacts(self, as_user) -> None:
        tree = as_user("dispatcher").get("/api/v1/units").json()
        assert tree[0]["code"] == "12345"
        company = next(u for u in tree[0]["children"] if u["code"] == "GDGS")
        county = next(u for u in company["children"] if u["code"] == "GD-LZ")
        assert county["contact_name"] and county["region_code"] == "210115"
        assert [s["code"] for s in county["children"]] == ["GD-LZ-CZ", "GD-LZ-CYT"]

    def test_category_import_csv(self, as_user, tmp_path) -> None:
        csv_text = "一级分类,二级分类,三级分类\n城乡建设,安全生产,事故处理\n城乡建设,安全生产,安全隐患\n交通运输,公路,路况\n"
        response = as_user("admin").post(
            "/api/v1/categories/import", files={"file": ("tree.csv", csv_text.encode("utf-8"), "text/csv")}
        )
        # everything but 公路 and 路况 exists in the default tree and is reused, not renamed
        assert response.status_code == 200 and response.json()["created"] == 2
        tree = as_user("admin").get("/api/v1/categories").json()
        assert [c["name"] for c in tree].count("城乡建设") == 1
        traffic = next(c for c in tree if c["name"] == "交通运输")
        assert any(c["name"] == "公路" for c in traffic["children"])
