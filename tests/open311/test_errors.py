"""Bad input gets the spec's error shape with 400 / 403 / 404, in the requested format; never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.open311 import checks
from tests.open311.conftest import JURISDICTION

GOOD = {"service_code": "001", "lat": "41.8", "long": "123.4", "attribute[depth]": "3", "jurisdiction_id": JURISDICTION}


def assert_error(response: httpx.Response, fmt: str, status: int) -> str:
    assert response.status_code == status, response.text
    checks.exact_type(response, fmt)
    if fmt == "json":
        body = response.json()
        assert isinstance(body, list) and body[0]["code"] == status and body[0]["description"]
        return str(body[0]["description"])
    root = checks.xml_root(response.content)
    assert root.tag == "errors" and root.findtext("error/code") == str(status)
    return root.findtext("error/description") or ""


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_post_errors(fmt: str, base: str, key: str) -> None:
    url = f"{base}/requests.{fmt}"
    cases: list[tuple[dict[str, str], int, str]] = [
        (GOOD, 403, "api_key"),
        (GOOD | {"api_key": "mxk_nope_nope"}, 403, "api_key"),
        (GOOD | {"api_key": "not-a-key"}, 403, "api_key"),
        ({k: v for k, v in GOOD.items() if k != "service_code"} | {"api_key": key}, 400, "service_code"),
        (GOOD | {"api_key": key, "service_code": "NOPE"}, 400, "service_code"),
        ({k: v for k, v in GOOD.items() if k not in ("lat", "long")} | {"api_key": key}, 400, "location"),
        (GOOD | {"api_key": key, "lat": "north"}, 400, "lat"),
        (GOOD | {"api_key": key, "lat": "91"}, 400, "lat"),
        ({k: v for k, v in GOOD.items() if k != "long"} | {"api_key": key}, 400, "together"),
        ({k: v for k, v in GOOD.items() if k != "attribute[depth]"} | {"api_key": key}, 400, "depth"),
        (GOOD | {"api_key": key, "attribute[depth]": "deep"}, 400, "depth"),
        (GOOD | {"api_key": key, "attribute[shape]": "hexagon"}, 400, "shape"),
        (GOOD | {"api_key": key, "jurisdiction_id": "elsewhere.example"}, 404, "jurisdiction"),
    ]
    for data, status, word in cases:
        description = assert_error(httpx.post(url, data=data), fmt, status)
        assert word in description, (data, description)


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_get_errors(fmt: str, base: str, key: str, server: Any) -> None:
    assert_error(httpx.get(f"{base}/services/NOPE.{fmt}"), fmt, 404)
    assert_error(httpx.get(f"{base}/requests/NOPE.{fmt}"), fmt, 404)
    assert_error(httpx.get(f"{base}/tokens/NOPE.{fmt}"), fmt, 404)
    assert_error(httpx.get(f"{base}/services.{fmt}", params={"jurisdiction_id": "other.example"}), fmt, 404)
    assert_error(httpx.get(f"{base}/requests.{fmt}", params={"start_date": "2026-01-01T00:00:00Z",
                                                            "end_date": "2026-11-01T00:00:00Z"}), fmt, 400)
    assert_error(httpx.get(f"{base}/requests.{fmt}", params={"start_date": "2026-11-02T00:00:00Z",
                                                            "end_date": "2026-11-01T00:00:00Z"}), fmt, 400)
    assert_error(httpx.get(f"{base}/requests.{fmt}", params={"start_date": "yesterday"}), fmt, 400)
    assert_error(httpx.get(f"{base}/requests.{fmt}", params={"status": "pending"}), fmt, 400)
    assert_error(httpx.get(f"{base}/servicerequestupdates.{fmt}", params={"start_date": "2026-11-01T00:00:00Z"}), fmt, 400)
    assert_error(httpx.get(f"{base}/requests.{fmt}", params={"api_key": "mxk_bad_key"}), fmt, 403)
    assert_error(httpx.get(f"{base}/unknown.{fmt}"), fmt, 404)
    assert_error(httpx.post(f"{base}/services.{fmt}"), fmt, 404)
    assert_error(httpx.post(f"{base}/servicerequestupdates.{fmt}", data={"api_key": key}), fmt, 400)
    assert_error(httpx.post(f"{base}/servicerequestupdates.{fmt}", data={
        "api_key": key, "service_request_id": "NOPE", "update_id": "1", "status": "OPEN"}), fmt, 404)
    assert_error(httpx.post(f"{base}/servicerequestupdates.{fmt}", data={
        "api_key": key, "service_request_id": "NOPE", "update_id": "1", "status": "MAYBE"}), fmt, 400)


def test_unknown_format_and_broken_bodies(base: str, key: str) -> None:
    assert_error(httpx.get(f"{base}/services.csv"), "xml", 404)
    broken = httpx.post(f"{base}/requests.xml", content=b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nx",
                        headers={"Content-Type": "multipart/form-data"})  # no boundary
    assert broken.status_code == 400
    assert checks.xml_root(broken.content).tag == "errors"
    garbage = httpx.post(f"{base}/requests.json", content=b"\xff\xfe%%%&&&==", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert_error(garbage, "json", 403)
    json_body = httpx.post(f"{base}/requests.json", json={"api_key": key, **GOOD})
    assert_error(json_body, "json", 403)  # a JSON body is not a form: no api_key was sent


def test_test_endpoint_validates_without_creating(server: Any, key: str, state: Any) -> None:
    from sqlalchemy import func, select

    from minxin.workorders.models import WorkOrder

    url = f"{server.url}/open311/test/v2/requests.xml"
    ok = httpx.post(url, data=GOOD | {"api_key": key})
    assert ok.status_code == 200, ok.text
    assert checks.xml_root(ok.content).findtext("request/service_request_id", "").startswith("test-")
    assert_error(httpx.post(url, data=GOOD | {"api_key": key, "attribute[depth]": "x"}), "xml", 400)
    with state.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(WorkOrder)) == 0
