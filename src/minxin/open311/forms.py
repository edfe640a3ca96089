"""Reading Open311 parameters the way real clients send them.

FixMyStreet posts ``application/x-www-form-urlencoded`` (``multipart/form-data`` with CRLF
line breaks when it uploads photos ``photo1…``/``file_*``), repeats ``media_url``, nests
attributes as ``attribute[code]=value`` (multi-valued: ``attribute[code][]=v`` repeated) and
sends ``jurisdiction_id`` / ``api_key`` either in the body or the query string. ``Params``
holds all of it: query string first, body fields override, every repeated key kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from starlette.datastructures import UploadFile
from starlette.requests import Request

ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
MAX_FIELDS = 1000
MAX_FILES = 20


@dataclass
class Upload:
    name: str
    filename: str | None
    data: bytes


@dataclass
class Params:
    """Multi-valued parameters plus uploaded files."""

    values: dict[str, list[str]] = field(default_factory=dict)
    files: list[Upload] = field(default_factory=list)
    #: the body could not be read (bad multipart, too many fields …)
    problem: str | None = None

    def add(self, key: str, value: str) -> None:
        self.values.setdefault(key, []).append(value)

    def get(self, key: str) -> str | None:
        """The last value given for ``key``, stripped; None when absent or blank."""
        items = self.values.get(key)
        if not items:
            return None
        value = items[-1].strip()
        return value or None

    def raw(self, key: str) -> str | None:
        items = self.values.get(key)
        return items[-1] if items else None

    def all(self, key: str) -> list[str]:
        return [v.strip() for v in self.values.get(key, []) if v.strip()]

    def attributes(self) -> dict[str, str | list[str]]:
        """``attribute[code]=v`` → ``{code: v}``; ``attribute[code][]`` or repeats → a list."""
        out: dict[str, str | list[str]] = {}
        for key, items in self.values.items():
            match = ATTRIBUTE_KEY.match(key)
            if not match:
                continue
            code, multi = match.group(1), bool(match.group(2))
            cleaned = [v.strip() for v in items if v.strip()]
            if not cleaned:
                continue
            if multi or len(cleaned) > 1:
                previous = out.get(code)
                merged = ([*previous] if isinstance(previous, list) else [previous] if previous else []) + cleaned
                out[code] = merged
            else:
                out[code] = cleaned[0]
        return out


def from_query(request: Request) -> Params:
    params = Params()
    for key, value in request.query_params.multi_items():
        params.add(key, value)
    return params


async def from_request(request: Request, *, max_file_bytes: int) -> Params:
    """Query string and body (urlencoded or multipart). Never raises for a malformed body:
    ``problem`` says what was wrong, so the caller answers with the spec's 400."""
    params = from_query(request)
    content_type = request.headers.get("content-type", "").lower()
    if request.method != "POST" or not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return params
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=MAX_FIELDS)
    except Exception as exc:  # python-multipart / starlette raise several types for bad bodies
        params.problem = f"could not read the form body: {exc}"[:300]
        return params
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read(max_file_bytes + 1)
            if data:
                params.files.append(Upload(name=key, filename=value.filename, data=data))
            await value.close()
        else:
            params.add(key, value)
    return params
