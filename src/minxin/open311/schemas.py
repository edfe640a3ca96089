"""Parsed Open311 inputs and the one error type the Open311 routes answer with.

``Submission`` is a POST /requests after parsing and validation: everything needed to register
the order later (a deferred token stores it as JSON), so a deferred creation can no longer fail
on the client's input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from minxin.categories.models import Category
from minxin.open311 import catalog
from minxin.open311.forms import Params


class Open311Error(Exception):
    """An error in the spec's shape: HTTP status = ``<code>``, one or more descriptions."""

    def __init__(self, status: int, *descriptions: str, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.descriptions = list(descriptions) or ["error"]
        self.headers = headers
        super().__init__(f"{status}: {'; '.join(self.descriptions)}")


def bad(description: str) -> Open311Error:
    return Open311Error(400, description)


def parse_time(value: str, name: str, tz: ZoneInfo) -> datetime:
    """W3C date-time (``Z`` or an offset); a bare date or a time without offset is read in the
    display time zone, which is what a local client means."""
    text = value.strip().replace(" ", "T")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise bad(f"{name} must be a W3C date-time such as 2026-11-01T00:00:00Z") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def w3c(value: datetime | None, tz: ZoneInfo) -> str | None:
    """A W3C date-time with offset and whole seconds (what every client's parser accepts)."""
    return value.astimezone(tz).replace(microsecond=0).isoformat() if value else None


@dataclass
class Submission:
    service_code: str
    jurisdiction_id: str | None = None
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    description: str | None = None
    media_urls: list[str] = field(default_factory=list)
    attachment_ids: list[str] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Submission:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def _float(params: Params, name: str, low: float, high: float) -> float | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError as exc:
        raise bad(f"{name} must be a number (WGS84)") from exc
    if not (low <= value <= high) or value != value:
        raise bad(f"{name} is out of range")
    return value


def _check_attribute(attribute: dict[str, Any], value: Any, tz: ZoneInfo) -> None:
    code, datatype = attribute["code"], attribute["datatype"]
    values = value if isinstance(value, list) else [value]
    keys = {v["key"] for v in attribute.get("values", [])}
    if datatype == "singlevaluelist":
        if len(values) != 1 or (keys and values[0] not in keys):
            raise bad(f"attribute[{code}] must be one of: {', '.join(sorted(keys))}")
    elif datatype == "multivaluelist":
        wrong = [v for v in values if keys and v not in keys]
        if wrong:
            raise bad(f"attribute[{code}] values must be among: {', '.join(sorted(keys))}")
    elif datatype == "number":
        for v in values:
            try:
                float(v)
            except ValueError as exc:
                raise bad(f"attribute[{code}] must be a number") from exc
    elif datatype == "datetime":
        for v in values:
            parse_time(v, f"attribute[{code}]", tz)


def parse_submission(params: Params, category: Category | None, tz: ZoneInfo) -> Submission:
    """Validate a POST /requests against the spec and the service definition (400 on any fault)."""
    code = params.get("service_code")
    if code is None:
        raise bad("service_code is required")
    if category is None:
        raise bad(f"service_code {code} is not a service of this endpoint")
    lat, long = _float(params, "lat", -90, 90), _float(params, "long", -180, 180)
    if (lat is None) != (long is None):
        raise bad("lat and long must be given together")
    address_string, address_id = params.get("address_string"), params.get("address_id")
    if lat is None and address_string is None and address_id is None:
        raise bad("a location is required: lat and long, address_string or address_id")
    attributes = params.attributes()
    for attribute in catalog.attributes_of(category):
        value = attributes.get(attribute["code"])
        if value is None:
            if attribute["required"] and attribute["variable"]:
                raise bad(f"attribute[{attribute['code']}] is required for service {code}")
            continue
        _check_attribute(attribute, value, tz)
    description = params.raw("description")
    if description is not None:
        description = description.replace("\r\n", "\n").replace("\r", "\n").strip() or None
    if description and len(description) > 20000:
        raise bad("description is too long (20000 characters at most)")
    return Submission(
        service_code=code,
        jurisdiction_id=params.get("jurisdiction_id"),
        lat=lat,
        long=long,
        address_string=address_string[:500] if address_string else None,
        address_id=address_id[:100] if address_id else None,
        attributes=attributes,
        email=(params.get("email") or "")[:200] or None,
        device_id=(params.get("device_id") or "")[:200] or None,
        account_id=(params.get("account_id") or "")[:200] or None,
        first_name=(params.get("first_name") or "")[:50] or None,
        last_name=(params.get("last_name") or "")[:50] or None,
        phone=(params.get("phone") or "")[:40] or None,
        description=description,
        media_urls=[u[:1000] for u in params.all("media_url")],
    )
