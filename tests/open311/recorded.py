"""The HTTP calls real clients make, read from ``../shared/open311/CLIENTS.md`` (never copied)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Call:
    client: str  # "fixmystreet" | "georeport"
    method: str
    target: str  # path and query string
    content_type: str | None = None
    body: bytes | None = None

    def with_values(self, **values: str) -> Call:
        """Substitute the recording's placeholders (``KEY``, ``638344``, ``TOKEN123``)."""
        target, body = self.target, self.body
        for old, new in values.items():
            target = target.replace(old, new)
            if body is not None:
                body = body.replace(old.encode(), new.encode())
        return Call(self.client, self.method, target, self.content_type, body)


_CALL = re.compile(r"^(GET|POST)\s+(\S+)(?:\s+Content-Type:\s*(\S+))?\s*$")


def calls(clients_md: Path) -> list[Call]:
    """Every recorded call of the two ``` blocks (FixMyStreet first, georeport second)."""
    text = clients_md.read_text(encoding="utf-8")
    blocks = re.findall(r"```\n(.*?)```", text, flags=re.S)
    out: list[Call] = []
    for client, block in zip(("fixmystreet", "georeport"), blocks[:2], strict=False):
        current: list[str] | None = None
        for line in block.splitlines():
            match = _CALL.match(line)
            if match:
                method, target, content_type = match.groups()
                out.append(Call(client, method, target, content_type, b"" if method == "POST" else None))
                current = [] if method == "POST" else None
                continue
            if current is not None and line.startswith(" ") and line.strip():
                previous = out[-1]
                out[-1] = Call(previous.client, previous.method, previous.target, previous.content_type,
                               (previous.body or b"") + line.strip().encode())
    return out


def fms_post(clients_md: Path, path_suffix: str) -> Call:
    return next(c for c in calls(clients_md) if c.client == "fixmystreet" and c.method == "POST"
                and c.target.endswith(path_suffix))
