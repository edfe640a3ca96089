"""Checking our bodies against the official JSON Schemas and the recorded XML fixtures."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SCHEMAS = ("request.json", "requests.json", "service.json", "services.json", "service-definition.json")


def validator(shared: Path, name: str) -> Draft7Validator:
    """A validator for one schema file; ``$ref: request.json`` resolves to the sibling file."""
    folder = shared / "schema"
    resources = [(n, Resource.from_contents(json.loads((folder / n).read_text()), default_specification=DRAFT7))
                 for n in SCHEMAS]
    registry: Registry = Registry().with_resources(resources)
    return Draft7Validator(json.loads((folder / name).read_text()), registry=registry,
                           format_checker=Draft7Validator.FORMAT_CHECKER)


def validate(shared: Path, name: str, body: Any) -> None:
    errors = sorted(validator(shared, name).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{name}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def exact_type(response: httpx.Response, fmt: str) -> None:
    """What the SeeClickFix validator checks: the Content-Type, literally."""
    expected = {"xml": "text/xml", "json": "application/json"}[fmt]
    assert response.headers["content-type"] == expected, response.headers["content-type"]


def xml_root(data: bytes | str) -> ET.Element:
    return ET.fromstring(data.encode() if isinstance(data, str) else data)


def fixture_root(shared: Path, relative: str) -> ET.Element:
    text = (shared / "fixtures" / relative).read_text(encoding="utf-8")
    start = text.index("<?xml") if "<?xml" in text else 0
    return ET.fromstring(text[start:].encode())


def children(element: ET.Element) -> set[str]:
    return {child.tag for child in element}


def items(root: ET.Element, tag: str) -> list[ET.Element]:
    return root.findall(f".//{tag}")
