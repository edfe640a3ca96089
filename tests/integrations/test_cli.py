"""``minxin integrations ...`` run as an operator would (subprocess, the test database)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def run(*args: str, db: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "MINXIN_DATABASE_URL"} | {"COLUMNS": "250"}
    result = subprocess.run([sys.executable, "-m", "minxin", "integrations", *args, "--db", db], cwd=cwd,
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_keys_webhooks_and_dead_letters_from_the_command_line(db_url: str, tmp_path: Path) -> None:
    out = run("key", "create", "FixMyStreet", "--unit", "12345", "--scope", "open311", "--scope", "transfers",
              "--system", "fixmystreet", db=db_url, cwd=tmp_path)
    assert re.search(r"mxk_[0-9a-f]{8}_\S+", out)
    listed = run("key", "list", db=db_url, cwd=tmp_path)
    assert "FixMyStreet" in listed and "open311,transfers" in listed
    assert "mxk_" in run("key", "rotate", "1", "--grace", "10", db=db_url, cwd=tmp_path)
    assert "revoked" in run("key", "revoke", "1", db=db_url, cwd=tmp_path)
    assert "whsec_" in run("webhook", "add", "http://127.0.0.1:9/hook", "--event", "order.created", db=db_url, cwd=tmp_path)
    assert "replayed 0" in run("deliveries", "replay", "--all", db=db_url, cwd=tmp_path)
    assert "gov.example" in run("open311", "--jurisdiction", "gov.example", db=db_url, cwd=tmp_path)
