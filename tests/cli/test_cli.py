"""The command line, run as a user would (subprocess, real database files)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

MINXIN = [sys.executable, "-m", "minxin"]


def run(*args: str, cwd: Path, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "MINXIN_DATABASE_URL"}
    result = subprocess.run([*MINXIN, *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=base | (env or {}))
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_init_creates_the_default_sqlite_file(tmp_path: Path) -> None:
    run("init", cwd=tmp_path)
    assert (tmp_path / "minxin.db").exists()


@pytest.mark.slow
def test_demo_prints_users_and_refuses_to_run_twice(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    first = run("demo", "--db", db, "--password", "secret-123", "--orders", "40", cwd=tmp_path)
    assert "admin" in first.stdout and "secret-123" in first.stdout and "dispatcher" in first.stdout
    second = run("demo", "--db", db, cwd=tmp_path, check=False)
    assert second.returncode == 1


def test_user_add_and_its_errors(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'u.db'}"
    run("init", "--db", db, cwd=tmp_path)
    bad = run("user", "add", "bob", "--role", "agent", "--unit", "NOPE", "--password", "abcdef", "--db", db, cwd=tmp_path, check=False)
    assert bad.returncode == 2 and "Unknown unit" in bad.stderr


def test_category_import_reports_bad_files(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    bad = tmp_path / "tree.txt"
    bad.write_text("x", encoding="utf-8")
    result = run("category", "import", str(bad), "--db", db, cwd=tmp_path, check=False)
    assert result.returncode == 2 and ".yaml" in result.stderr
    good = tmp_path / "tree.csv"
    good.write_text("一级分类,二级分类,三级分类\n城乡建设,安全生产,事故处理\n", encoding="utf-8")
    assert "3 new" in run("category", "import", str(good), "--db", db, cwd=tmp_path).stdout
