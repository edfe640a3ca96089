"""Real clients against a live server: georeport (PyPI) in JSON and XML, FixMyStreet's recorded
calls replayed byte for byte, a discovery/services validator; every JSON body is checked
against the official schemas and every XML body against the fixtures' element shapes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from minxin.workorders import repository as orders_repository
from tests.open311 import checks, recorded
from tests.open311.conftest import JURISDICTION


def replay(server_url: str, call: recorded.Call) -> httpx.Response:
    """Send a recorded call as it was: same method, path, raw body bytes and Content-Type."""
    headers = {"Content-Type": call.content_type} if call.content_type else {}
    headers["User-Agent"] = "libwww-perl/6.68"
    return httpx.request(call.method, server_url + call.target, content=call.body, headers=headers, timeout=30)


@pytest.fixture
def fms_report(server: Any, shared: Path, key: str) -> str:
    """The recorded FixMyStreet report, posted byte for byte; returns the new request id."""
    call = recorded.fms_post(shared / "CLIENTS.md", "/requests.xml").with_values(**{"api_key=KEY": f"api_key={key}"})
    response = replay(server.url, call)
    assert response.status_code == 200, response.text
    checks.exact_type(response, "xml")
    root = checks.xml_root(response.content)
    assert root.tag == "service_requests"
    request = root.find("request")
    assert request is not None
    number = request.findtext("service_request_id")
    assert number and request.findtext("token")
    return number


def test_fixmystreet_report_replayed_byte_for_byte_is_an_ordinary_order(fms_report: str, state: Any, shared: Path) -> None:
    with state.db.reading() as session:
        order = orders_repository.get_by_number(session, fms_report)
        assert order is not None
        assert order.channel == "open311" and order.status == "registered"
        assert order.category is not None and order.category.code == "001"
        assert order.content.startswith("Pothole on Main St\n\nDeep hole\n\nhttps://fms.example/report/42")
        assert "\r" not in order.content
        assert order.title.startswith("Pothole")
        assert (order.latitude, order.longitude) == (41.805699, 123.431472)
        assert order.citizen_name == "Wang Fang"
        extra = order.extra["open311"]
        assert extra["email"] == "a@example.org" and extra["attributes"] == {"depth": "12"}
        assert extra["jurisdiction_id"] == JURISDICTION
        assert order.extra["ref"]["system"] == "open311"
        events = orders_repository.events_of(session, order.id)
        assert [e.action for e in events] == ["register"]
        assert events[0].actor_name.startswith("FixMyStreet")


def test_every_recorded_fixmystreet_read_succeeds(fms_report: str, server: Any, shared: Path, key: str) -> None:
    token = httpx.get(f"{server.url}/open311/v2/requests/{fms_report}.xml").status_code  # warm-up, any answer
    assert token == 200
    for call in recorded.calls(shared / "CLIENTS.md"):
        if call.client != "fixmystreet" or call.method != "GET" or "tokens/" in call.target:
            continue
        call = call.with_values(**{"api_key=KEY": f"api_key={key}", "638344": fms_report,
                                   "end_date=...": "end_date=2026-11-26T00%3A00%3A00Z",
                                   "start_date=...": "start_date=2026-11-01T00%3A00%3A00Z"})
        response = replay(server.url, call)
        assert response.status_code == 200, (call.target, response.text)
        checks.exact_type(response, "xml")
    listed = replay(server.url, recorded.Call("fixmystreet", "GET", "/open311/v2/requests.xml?end_date=2026-11-26T00%3A00%3A00Z"
                                              "&jurisdiction_id=minxin.example&start_date=2026-11-01T00%3A00%3A00Z"))
    ids = [r.findtext("service_request_id") for r in checks.xml_root(listed.content).findall("request")]
    assert fms_report in ids


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_client_reads_everything(fmt: str, fms_report: str, base: str, shared: Path) -> None:
    georeport = pytest.importorskip("georeport", reason="the real client: pip install georeport (test extra)")
    client = georeport.GeoReport(base, jurisdiction=JURISDICTION, output_format=fmt)
    services = client.get_service_list()
    pothole = next(s for s in services if s["service_code"] == "001")
    assert pothole["service_name"] == "Pothole"
    assert str(pothole["metadata"]).lower() == "true"
    definition = client.get_service_definition("001")
    attributes = definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
    assert [a["code"] for a in attributes] == ["depth", "shape"]
    found = client.get_service_requests(service_code="001", start_date="2026-11-01T00:00:00Z",
                                        end_date="2026-11-26T00:00:00Z", status="open")
    found = found if isinstance(found, list) else [found]
    assert fms_report in [r["service_request_id"] for r in found]
    one = client.get_service_request(fms_report)
    assert one["service_request_id"] == fms_report and one["status"] == "open"
    assert one["service_code"] == "001"
    if fmt == "json":
        checks.validate(shared, "services.json", services)
        checks.validate(shared, "service-definition.json", definition)
        checks.validate(shared, "requests.json", found)
        checks.validate(shared, "request.json", one)


def test_georeport_recorded_calls_replayed(fms_report: str, server: Any, shared: Path) -> None:
    for call in recorded.calls(shared / "CLIENTS.md"):
        if call.client != "georeport":
            continue
        response = replay(server.url, call.with_values(**{"638344": fms_report}))
        assert response.status_code == 200, (call.target, response.text)
        checks.exact_type(response, "json")
        body = response.json()
        if "/requests" in call.target:
            assert isinstance(body, list) and body, call.target  # a list even for one request
            checks.validate(shared, "requests.json", body)
        elif "/services/" in call.target:
            checks.validate(shared, "service-definition.json", body)
        else:
            checks.validate(shared, "services.json", body)


def test_discovery_and_services_validator(server: Any, pothole: dict[str, Any], shared: Path) -> None:
    """What the SeeClickFix validator does: discovery in both formats, then for every endpoint
    and format the service list and the definitions of services with metadata=true."""
    discovered = httpx.get(f"{server.url}/open311/discovery.json")
    checks.exact_type(discovered, "json")
    body = discovered.json()
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(body)
    assert {e["type"] for e in body["endpoints"]} >= {"production", "test"}
    xml = httpx.get(f"{server.url}/open311/discovery.xml")
    checks.exact_type(xml, "xml")
    root, fixture = checks.xml_root(xml.content), checks.fixture_root(shared, "node-open311/discovery-dc.xml")
    assert root.tag == fixture.tag == "discovery"
    assert checks.children(root) == checks.children(fixture)
    assert checks.children(root.find("endpoints/endpoint")) == checks.children(fixture.find("endpoints/endpoint"))
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")][:2] == ["text/xml", "application/json"]
    for endpoint in body["endpoints"]:
        for fmt in ("xml", "json"):
            assert {"xml": "text/xml", "json": "application/json"}[fmt] in endpoint["formats"]
            listing = httpx.get(f"{endpoint['url']}/services.{fmt}", params={"jurisdiction_id": JURISDICTION})
            assert listing.status_code == 200
            checks.exact_type(listing, fmt)
            if fmt == "json":
                services = listing.json()
                checks.validate(shared, "services.json", services)
                codes = [s["service_code"] for s in services if s["metadata"]]
            else:
                codes = [s.findtext("service_code") for s in checks.xml_root(listing.content).findall("service")
                         if s.findtext("metadata") == "true"]
            assert "001" in codes
            for code in codes:
                definition = httpx.get(f"{endpoint['url']}/services/{code}.{fmt}")
                assert definition.status_code == 200
                checks.exact_type(definition, fmt)
                if fmt == "json":
                    checks.validate(shared, "service-definition.json", definition.json())


def test_xml_shapes_match_the_fixtures(fms_report: str, base: str, shared: Path, key: str) -> None:
    services = checks.xml_root(httpx.get(f"{base}/services.xml").content)
    adapter = checks.fixture_root(shared, "mysociety/adapter-services.xml")
    assert services.tag == adapter.tag == "services"
    ours = next(s for s in services.findall("service") if s.findtext("service_code") == "001")
    assert checks.children(ours) == checks.children(adapter.find("service"))
    assert checks.children(ours) == checks.children(checks.fixture_root(shared, "node-open311/dc-services.xml").find("service"))

    definition = checks.xml_root(httpx.get(f"{base}/services/001.xml").content)
    pot = checks.fixture_root(shared, "mysociety/adapter-service-definition-POT.xml")
    assert definition.tag == pot.tag == "service_definition"
    assert checks.children(definition) == checks.children(pot)
    depth, shape = definition.findall("attributes/attribute")
    pot_depth, pot_shape = pot.findall("attributes/attribute")
    assert checks.children(depth) == checks.children(pot_depth)
    assert checks.children(shape) == checks.children(pot_shape)
    assert checks.children(shape.find("values/value")) == checks.children(pot_shape.find("values/value"))
    assert depth.findtext("datatype") == "number" and depth.findtext("required") == "true"

    requests = checks.xml_root(httpx.get(f"{base}/requests/{fms_report}.xml").content)
    sample = checks.fixture_root(shared, "node-open311/service-requests.xml")
    assert requests.tag == sample.tag == "service_requests"
    assert checks.children(requests.find("request")) == checks.children(sample.find("request"))

    update = httpx.get(f"{base}/servicerequestupdates.xml", params={"api_key": key})
    adapter_updates = checks.fixture_root(shared, "mysociety/adapter-get-servicerequestupdates.xml")
    assert checks.xml_root(update.content).tag == adapter_updates.tag == "service_request_updates"

    error = httpx.get(f"{base}/requests/nope.xml")
    not_found = checks.fixture_root(shared, "ruby-open311/get_service_request_not_found.xml")
    assert error.status_code == 404
    root = checks.xml_root(error.content)
    assert root.tag == not_found.tag == "errors"
    assert checks.children(root.find("error")) == checks.children(not_found.find("error"))
    assert root.findtext("error/code") == "404"


def test_multipart_report_with_photos_and_crlf(base: str, key: str, state: Any) -> None:
    """FixMyStreet switches to multipart/form-data (CRLF) when it uploads photos."""
    from minxin.demo.orders import tiny_png

    boundary = "xYzZY"
    parts: list[bytes] = []
    for name, value in (("api_key", key), ("service_code", "001"), ("attribute[depth]", "7"),
                        ("attribute[shape]", "circle"), ("address_string", "沈阳市和平区太原街1号"),
                        ("description", "井盖旁有坑\r\n请尽快处理"), ("media_url", "https://fms.example/p/1.jpg"),
                        ("media_url", "https://fms.example/p/2.jpg"), ("jurisdiction_id", JURISDICTION)):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, data in (("photo1", "1.png", tiny_png()), ("file_notes", "notes.txt", b"plain text, refused")):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    response = httpx.post(f"{base}/requests.json", content=body,
                          headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 200, response.text
    checks.exact_type(response, "json")
    [answer] = response.json()
    assert "file_notes" in answer["service_notice"]
    from minxin.attachments.models import OrderAttachment

    with state.db.reading() as session:
        order = orders_repository.get_by_number(session, answer["service_request_id"])
        assert order is not None and order.address == "沈阳市和平区太原街1号"
        assert order.content.startswith("井盖旁有坑\n请尽快处理")
        assert order.extra["open311"]["attributes"] == {"depth": "7", "shape": "circle"}
        assert order.extra["open311"]["media_urls"] == ["https://fms.example/p/1.jpg", "https://fms.example/p/2.jpg"]
        links = session.query(OrderAttachment).filter_by(order_id=order.id).all()
        assert [(x.purpose, x.event_seq) for x in links] == [("intake", 1)]
    shown = httpx.get(f"{base}/requests/{answer['service_request_id']}.json").json()[0]
    assert shown["media_url"] == "https://fms.example/p/1.jpg"


def test_anonymous_reads_see_open311_requests_only(
    fms_report: str, base: str, key: str, as_user: Callable[[str], httpx.Client]
) -> None:
    from tests.helpers import new_order

    phone = new_order(as_user("agent"))["number"]
    anonymous = {r["service_request_id"] for r in httpx.get(f"{base}/requests.json").json()}
    assert fms_report in anonymous and phone not in anonymous
    assert httpx.get(f"{base}/requests/{phone}.json").status_code == 404
    keyed = {r["service_request_id"] for r in httpx.get(f"{base}/requests.json", params={"api_key": key}).json()}
    assert {fms_report, phone} <= keyed
    [masked] = httpx.get(f"{base}/requests/{phone}.json", params={"api_key": key}).json()
    assert "13812345678" not in str(masked) and "张先生" not in str(masked)
