"""The scanner records each warning and each overdue once — also with two scanners at once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from minxin.db.session import Database
from minxin.outbox.models import OutboxMessage
from minxin.sla import repository, scanner
from minxin.sla.models import SlaAlert
from minxin.sla.tasks import scan_all
from tests.sla.conftest import at, one
from tests.sla.flow import Flow


@pytest.fixture
def flow(as_user, clock) -> Flow:
    return Flow(as_user, clock)


def _count(db: Database, model: Any, *where: Any) -> int:
    with db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_scanning_twice_records_one_warning_and_one_overdue(flow: Flow, state) -> None:
    number = flow.dispatched("2026-03-09T09:00")  # sign due 11:00, yellow from 10:30
    assert scan_all(state.db, at("2026-03-09T10:29")) == {"warning": 0, "overdue": 0, "skipped": 0}
    assert scan_all(state.db, at("2026-03-09T10:45")) == {"warning": 1, "overdue": 0, "skipped": 0}
    assert scan_all(state.db, at("2026-03-09T10:50")) == {"warning": 0, "overdue": 0, "skipped": 0}
    assert scan_all(state.db, at("2026-03-09T11:05")) == {"warning": 0, "overdue": 1, "skipped": 0}
    assert scan_all(state.db, at("2026-03-09T11:06")) == {"warning": 0, "overdue": 0, "skipped": 0}
    with state.db.reading() as session:
        messages = session.scalars(select(OutboxMessage).where(OutboxMessage.topic.like("sla.%")).order_by(OutboxMessage.id)).all()
    assert [m.topic for m in messages] == ["sla.warning", "sla.overdue"]
    payload = messages[0].payload
    assert payload["number"] == number and payload["kind"] == "sign" and payload["unit"] == "CGJ"
    assert payload["level"] == "warning" and payload["due_at"].startswith("2026-03-09T03:00:00")
    alerts = one(flow.get(number, "2026-03-09T11:06"), "sign")["alerts"]
    assert [a["level"] for a in alerts] == ["warning", "overdue"]
    assert alerts[0]["due_at"] == "2026-03-09T11:00:00+08:00"


def test_a_moved_due_can_warn_again_once(flow: Flow, state) -> None:
    number = flow.dispatched("2026-03-09T09:00")
    flow.do("2026-03-09T09:10", "cgj_handler", number, "sign")
    assert scan_all(state.db, at("2026-03-10T14:00"))["warning"] == 1  # handle: yellow from 13:52:30
    flow.do("2026-03-10T14:10", "cgj_handler", number, "request_extension", {"duration": "1wd", "reason": "协调"})
    flow.do("2026-03-10T14:20", "supervisor", number, "decide_extension", {"approve": True})
    assert scan_all(state.db, at("2026-03-10T14:30")) == {"warning": 0, "overdue": 0, "skipped": 0}
    assert scan_all(state.db, at("2026-03-11T17:00"))["warning"] == 1  # the new due's warning
    assert scan_all(state.db, at("2026-03-11T17:10"))["warning"] == 0


def test_paused_and_closed_clocks_are_not_scanned(flow: Flow, state) -> None:
    number = flow.dispatched("2026-03-09T09:00")
    flow.do("2026-03-09T09:10", "cgj_handler", number, "sign")
    flow.do("2026-03-09T09:20", "cgj_handler", number, "suspend", {"reason": "等待材料"})
    assert scan_all(state.db, at("2026-03-20T10:00")) == {"warning": 0, "overdue": 0, "skipped": 0}
    flow.do("2026-03-20T10:00", "supervisor", number, "void", {"reason": "来电人撤诉"})
    assert scan_all(state.db, at("2026-04-20T10:00")) == {"warning": 0, "overdue": 0, "skipped": 0}


def _require_postgresql(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("two scanners racing on row locks: a PostgreSQL-only test (runs in the postgresql half)")


def test_two_scanner_threads_against_one_postgresql_record_each_warning_once(
    backend: str, flow: Flow, state, monkeypatch
) -> None:
    _require_postgresql(backend)
    for _ in range(8):
        flow.dispatched("2026-03-09T09:00")
    # both scanners read the same candidates before either inserts: the worst-case race
    barrier = threading.Barrier(2)
    original = repository.warning_candidates

    def racing(session: Any, now: Any, limit: int) -> Any:
        found = original(session, now, limit)
        barrier.wait(timeout=30)
        return found

    monkeypatch.setattr(repository, "warning_candidates", racing)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        db = Database(state.settings.database_url)
        try:
            with db.unit_of_work() as session:
                results.append(scanner.scan(session, at("2026-03-09T10:45")))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert sorted(r["warning"] for r in results) in ([0, 8], [1, 7], [2, 6], [3, 5], [4, 4])
    assert sum(r["warning"] for r in results) == 8 and sum(r["skipped"] for r in results) == 8
    assert _count(state.db, SlaAlert, SlaAlert.level == "warning") == 8
    assert _count(state.db, OutboxMessage, OutboxMessage.topic == "sla.warning") == 8


def test_two_scanner_processes_against_one_postgresql_record_each_overdue_once(
    backend: str, flow: Flow, state
) -> None:
    _require_postgresql(backend)
    for _ in range(6):
        flow.dispatched("2026-03-09T09:00")
    command = [sys.executable, "-m", "minxin", "sla", "scan", "--now", "2026-03-09T11:05+08:00", "--db", state.settings.database_url]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    counts = [json.loads(out.strip().splitlines()[-1]) for out, _err in outputs]
    assert sum(c["overdue"] for c in counts) == 6
    assert _count(state.db, SlaAlert, SlaAlert.level == "overdue") == 6
    assert _count(state.db, OutboxMessage, OutboxMessage.topic == "sla.overdue") == 6
    assert _count(state.db, SlaAlert, SlaAlert.level == "warning") == 0  # overdue at first sight: no yellow
