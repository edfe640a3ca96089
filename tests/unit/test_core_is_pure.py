"""`minxin.core` imports no database, web framework or project domain, and reads no clock."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "src" / "minxin" / "core"
FORBIDDEN_PREFIXES = ("sqlalchemy", "fastapi", "starlette", "alembic", "httpx", "uvicorn", "jinja2", "typer", "rich")
ALLOWED_PROJECT = ("minxin.core",)


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_core_imports_nothing_impure() -> None:
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        for name in _imports(path):
            if name.startswith(FORBIDDEN_PREFIXES) or (name.startswith("minxin.") and not name.startswith(ALLOWED_PROJECT)):
                offenders.append(f"{path.relative_to(CORE)}: {name}")
    assert offenders == []


def test_only_the_clock_module_reads_the_clock() -> None:
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        if path.name == "clock.py":
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("datetime.now(", "datetime.utcnow(", "date.today(", "time.time("):
            if needle in text:
                offenders.append(f"{path.relative_to(CORE)}: {needle}")
    assert offenders == []
