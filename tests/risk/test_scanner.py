"""The scanner: one at a time across scanners (DB lease), incremental, restart-safe; the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from minxin.api.state import AppState
from minxin.core.clock import FixedClock
from minxin.risk import alert_repository
from minxin.risk.scanner import LEASE_NAME, Scanner
from tests.conftest import REPO
from tests.risk.conftest import alerts_of, register


def repeat_caller(agent: httpx.Client, clock: FixedClock, phone: str = "13833335555", calls: int = 3) -> list[str]:
    address = f"沈阳市辽中区茨榆坨镇于家村{phone[-4:]}号"
    return [register(agent, clock, citizen={"name": "郑", "phone": phone}, address=address)["number"] for _ in range(calls)]


def test_two_scanners_at_once_raise_one_alert(as_user: Callable[[str], httpx.Client], clock: FixedClock,
                                              state: AppState) -> None:
    agent = as_user("agent")
    repeat_caller(agent, clock)
    repeat_caller(agent, clock, phone="13833336666")
    scanners = [Scanner(state.db, owner=f"test-{i}") for i in range(2)]
    barrier = threading.Barrier(2)
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def run(scanner: Scanner) -> None:
        barrier.wait()
        try:
            results.append(scanner.run(clock.now()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in scanners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sum(r.get("created", 0) for r in results) == 2, results
    for scanner in scanners:  # afterwards both run (the lease is free again): nothing new
        assert scanner.run(clock.now()).get("created", 0) == 0
    assert len(alerts_of(as_user("supervisor"))) == 2


def test_a_held_lease_makes_a_scan_skip(clock: FixedClock, state: AppState) -> None:
    with state.db.unit_of_work() as session:
        alert_repository.ensure_lease(session, LEASE_NAME)
        assert alert_repository.try_acquire(session, LEASE_NAME, "someone-else", clock.now(), clock.now() + timedelta(minutes=5))
    assert Scanner(state.db).run(clock.now()) == {"skipped": "lease held by another scanner"}
    clock.advance(timedelta(minutes=6))  # expired: taken over
    assert "skipped" not in Scanner(state.db).run(clock.now())


def test_restarts_do_not_reraise_and_new_orders_still_attach(as_user: Callable[[str], httpx.Client], clock: FixedClock,
                                                             state: AppState) -> None:
    agent, supervisor = as_user("agent"), as_user("supervisor")
    repeat_caller(agent, clock, calls=3)
    first = Scanner(state.db)
    assert first.run(clock.now())["created"] == 1
    clock.advance(timedelta(hours=2))
    cold = Scanner(state.db)  # another process, or this one after a restart
    result = cold.run(clock.now())
    assert result["warmed_up"] is True and result["created"] == 0
    [alert] = alerts_of(supervisor)
    repeat_caller(agent, clock, calls=1)
    assert first.run(clock.now())["attached_orders"] == 1  # a warm scanner that missed a scan
    [alert] = alerts_of(supervisor)
    assert alert["order_count"] == 4


def test_backfill_tags_orders_registered_without_hooks(as_user: Callable[[str], httpx.Client], clock: FixedClock,
                                                       state: AppState) -> None:
    from minxin.workorders import hooks

    saved = list(hooks.after_register)
    hooks.after_register[:] = [h for h in saved if h[0] != "risk"]
    try:
        number = register(as_user("agent"), clock, title="有人触电", content="电线掉落有人触电")["number"]
    finally:
        hooks.after_register[:] = saved
    assert as_user("agent").get(f"/api/v1/orders/{number}").json()["risk"]["tags"] == []
    assert Scanner(state.db).run(clock.now())["backfilled"] == 1
    tags = as_user("agent").get(f"/api/v1/orders/{number}").json()["risk"]["tags"]
    assert "personal_safety.electrocution" in {t["label"] for t in tags}


def _cli(*args: str, db_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MINXIN_DATABASE_URL": db_url, "MINXIN_SECRET_KEY": "test-secret-key-not-for-production-0123456789"}
    return subprocess.run([sys.executable, "-m", "minxin", *args], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=300, check=False)


@pytest.fixture
def clock() -> FixedClock:  # the CLI scans at the real time: orders must lie in the recent past
    from datetime import UTC, datetime

    return FixedClock(datetime.now(UTC) - timedelta(hours=3))


def test_cli_scan_alerts_and_taxonomy(as_user: Callable[[str], httpx.Client], clock: FixedClock, db_url: str,
                                      tmp_path: Any) -> None:
    repeat_caller(as_user("agent"), clock)
    scanned = _cli("risk", "scan", db_url=db_url)
    assert scanned.returncode == 0, scanned.stderr
    assert json.loads(scanned.stdout.strip().splitlines()[-1])["created"] == 1
    listed = _cli("risk", "alerts", "--json", db_url=db_url)
    assert listed.returncode == 0 and json.loads(listed.stdout)["total"] == 1
    again = _cli("risk", "scan", db_url=db_url)
    assert json.loads(again.stdout.strip().splitlines()[-1])["created"] == 0
    exported = _cli("risk", "taxonomy", "export", db_url=db_url)
    assert exported.returncode == 0 and "personal_safety.electrocution" in exported.stdout
    edited = tmp_path / "taxonomy.yaml"
    edited.write_text(exported.stdout.replace('version: "2025.1"', 'version: "2025.2"').replace("version: '2025.1'", "version: '2025.2'"),
                      encoding="utf-8")
    imported = _cli("risk", "taxonomy", "import", str(edited), "--note", "test", db_url=db_url)
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["version"] == "2025.2" and json.loads(imported.stdout)["created"] is True
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: x\ncategories: []\n", encoding="utf-8")
    refused = _cli("risk", "taxonomy", "import", str(bad), db_url=db_url)
    assert refused.returncode == 2 and "taxonomy" in refused.stderr.lower()
