"""Open311 bodies in XML and JSON with the exact wrapper names real clients parse.

XML: ``<services><service>``, ``<service_requests><request>``, ``<service_definition>`` with
``<attributes><attribute>`` and ``<values><value>``, ``<discovery>`` with
``<endpoints><endpoint>`` and ``<formats><format>``, ``<service_request_updates><request_update>``
and ``<errors><error><code/><description/></error></errors>``; UTF-8 with a declaration.
JSON: a list for every collection (even one request), an object for a definition and for
discovery. Content types are exactly ``text/xml`` and ``application/json`` — validators compare
them literally, so no ``; charset`` suffix.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from fastapi.responses import Response

CONTENT_TYPES = {"xml": "text/xml", "json": "application/json"}
FORMATS = tuple(CONTENT_TYPES)
#: characters XML 1.0 cannot carry at all (a client may have sent them in a description)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class XmlList:
    """A list rendered as repeated ``item`` elements (inside the parent element)."""

    item: str
    items: list[Any]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return _NOT_XML.sub("", str(value))


def _fill(parent: ET.Element, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, XmlList):
        for item in value.items:
            _fill(ET.SubElement(parent, value.item), item)
    elif isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(parent, key), child)
    else:
        parent.text = _text(value)


def xml_bytes(root: str, content: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, content)
    ET.indent(element, space="  ")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="unicode", short_empty_elements=False).encode("utf-8") + b"\n"


def json_bytes(content: Any) -> bytes:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def respond(fmt: str, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(content=body, status_code=status, headers={"content-type": CONTENT_TYPES[fmt], **(headers or {})})


def _xml_value(value: Any, lists: dict[str, str]) -> Any:
    """Turn a JSON-shaped dict into the XML shape: lists named in ``lists`` get item elements."""
    if isinstance(value, dict):
        out = {}
        for key, child in value.items():
            if isinstance(child, list):
                out[key] = XmlList(lists.get(key, key.rstrip("s")), [_xml_value(c, lists) for c in child])
            else:
                out[key] = _xml_value(child, lists)
        return out
    return value


#: wrapper → item element names used inside XML documents
LIST_ITEMS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}


def collection(fmt: str, root: str, item: str, items: list[dict[str, Any]], status: int = 200) -> Response:
    """A list: JSON array, or ``<root><item>…</item>…</root>``."""
    if fmt == "json":
        return respond(fmt, json_bytes(items), status)
    return respond(fmt, xml_bytes(root, XmlList(item, [_xml_value(i, LIST_ITEMS) for i in items])), status)


def document(fmt: str, root: str, content: dict[str, Any], status: int = 200) -> Response:
    """One object: JSON object, or ``<root>…</root>``."""
    if fmt == "json":
        return respond(fmt, json_bytes(content), status)
    return respond(fmt, xml_bytes(root, _xml_value(content, LIST_ITEMS)), status)


def errors(fmt: str, status: int, descriptions: list[str], headers: dict[str, str] | None = None) -> Response:
    """The spec's error shape: ``<errors><error><code/><description/></error></errors>`` or
    ``[{"code": 400, "description": "…"}]``, with the same code as the HTTP status."""
    items = [{"code": status, "description": d} for d in descriptions]
    if fmt == "json":
        return respond(fmt, json_bytes(items), status, headers)
    return respond(fmt, xml_bytes("errors", XmlList("error", items)), status, headers)
