"""The incrementally maintained cells equal a recomputation of every KPI from the raw orders.

Live work orders go through every kind of action over the real API (register, dispatch, sign,
reply, callback, reopen, close with the fairness flag, return and review, second-level dispatch,
suspend, extensions, merge, void, direct answers, unreachable callbacks); imported history is
mixed in. After each phase ``maintenance.verify`` recomputes every cell and monthly rollup from
the work-order tables (not from the stored facts) and must find no difference.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from minxin.core.kpi import aggregate, merge, sum_partials
from minxin.reports import folding, maintenance, service, tasks
from minxin.reports.importer import ImportOptions, run_import
from minxin.reports.models import OrderFactRow
from minxin.sla.models import OrderDeadline
from tests.helpers import act, new_order, photo
from tests.reports.csvrows import CST, random_rows, to_csv


def _verify(state: Any) -> None:
    with state.db.reading() as session:
        problems = maintenance.verify(session)
    assert problems == [], problems[:5]


def _replied(as_user: Any, unit: str = "GD-LZ", handler: str = "lz_handler", **kw: Any) -> str:
    number = new_order(as_user("agent"), **kw)["number"]
    act(as_user("dispatcher"), number, "dispatch", {"unit": unit})
    act(as_user(handler), number, "sign")
    act(as_user(handler), number, "reply", {"result": "已处理", "attachments": [photo(as_user(handler))]})
    return number


def test_cells_equal_a_recompute_after_every_kind_of_live_action(state: Any, as_user: Any, tmp_path: Path) -> None:
    agent, dispatcher, supervisor, lz = as_user("agent"), as_user("dispatcher"), as_user("supervisor"), as_user("lz_handler")
    satisfied = _replied(as_user)
    act(supervisor, satisfied, "callback", {"satisfaction": "satisfied", "resolved": True})
    reopened = _replied(as_user)
    act(supervisor, reopened, "callback", {"satisfaction": "dissatisfied", "resolved": False})
    _verify(state)
    act(supervisor, reopened, "reopen", {"reason": "仍未解决"})
    _verify(state)
    act(lz, reopened, "sign")
    act(lz, reopened, "reply", {"result": "再次处理", "attachments": [photo(lz)]})
    act(supervisor, reopened, "callback", {"satisfaction": "basically_satisfied", "resolved": True})
    unfair = _replied(as_user, unit="CGJ", handler="cgj_handler", category="010302")
    act(supervisor, unfair, "callback", {"satisfaction": "dissatisfied", "resolved": False})
    act(supervisor, unfair, "close", {"unreasonable": True, "reason": "诉求无法律依据"})
    direct = new_order(agent, appeal_type="consult")["number"]
    act(agent, direct, "answer", {"answer": "明日计划检修停电"})
    returned = new_order(agent)["number"]
    act(dispatcher, returned, "dispatch", {"unit": "GD-LZ"})
    act(lz, returned, "return", {"reason": "不属于本单位"})
    _verify(state)
    act(dispatcher, returned, "review_return", {"approve": True})
    act(dispatcher, returned, "dispatch", {"unit": "GD-XM"})
    second = new_order(agent)["number"]
    act(dispatcher, second, "dispatch", {"unit": "GD-LZ"})
    act(lz, second, "sign")
    act(lz, second, "dispatch", {"unit": "GD-LZ-CZ"})  # second-level dispatch: the station holds it
    act(as_user("lz_station"), second, "sign")
    act(as_user("lz_station"), second, "suspend", {"reason": "等待材料"})
    act(as_user("lz_station"), second, "resume")
    act(as_user("lz_station"), second, "request_extension", {"duration": "3wd", "reason": "需更换设备"})
    act(supervisor, second, "decide_extension", {"approve": True})
    duplicate = new_order(agent)["number"]
    act(agent, duplicate, "merge", {"into": second})
    prank = new_order(agent)["number"]
    act(supervisor, prank, "void", {"reason": "骚扰电话"})
    unreachable = _replied(as_user)
    for _ in range(3):
        act(supervisor, unreachable, "callback", {"reachable": False})
    act(supervisor, second, "urge", {"note": "请尽快"})
    _verify(state)

    rows = random_rows(300, seed=31, start=datetime.now(CST) - timedelta(days=40), days=45)
    path = tmp_path / "h.csv"
    path.write_text(to_csv(rows), encoding="utf-8")
    assert run_import(state.db, path, ImportOptions(), now=datetime.now(UTC)).ok
    late = new_order(agent)["number"]
    act(dispatcher, late, "dispatch", {"unit": "GD-LZ"})
    _verify(state)


def test_the_refresh_job_refolds_orders_whose_deadlines_moved(state: Any, as_user: Any) -> None:
    number = _replied(as_user)
    new_due = datetime(2020, 1, 1, tzinfo=UTC)  # the reply is now late
    with state.db.unit_of_work() as session:  # what a policy change + ``minxin sla recompute`` would do
        fact = session.get(OrderFactRow, number)
        assert fact is not None
        session.execute(update(OrderDeadline).where(OrderDeadline.kind == "handle").values(due_at=new_due, updated_at=datetime.now(UTC)))
    with state.db.reading() as session:
        assert maintenance.verify(session) != []  # stale until the job runs
    assert tasks.refresh(state.db)["refolded"] >= 1
    _verify(state)
    with state.db.reading() as session:
        assert session.get(OrderFactRow, number).handle_due_at == new_due  # type: ignore[union-attr]
    assert tasks.refresh(state.db)["refolded"] == 0  # idempotent


def test_rebuild_restores_lost_aggregates_and_missing_facts(state: Any, as_user: Any) -> None:
    _replied(as_user)
    with state.db.unit_of_work() as session:
        for row in session.scalars(select(OrderFactRow)):
            session.delete(row)
    counts = maintenance.rebuild(state.db)
    assert counts["live"] >= 1
    _verify(state)


def test_as_of_counts_from_the_tables_equal_the_core(state: Any, tmp_path: Path) -> None:
    rows = random_rows(800, seed=32, start=datetime(2026, 10, 1, tzinfo=CST), days=20)
    for i, row in enumerate(rows):  # many orders still waiting, with and without deadlines
        if i % 3 == 0:
            row.update(replied_at="", closed_at="", callback_at="", satisfaction="", resolved="", status="")
        if i % 6 == 0:
            row["signed_at"] = ""
    path = tmp_path / "open.csv"
    path.write_text(to_csv(rows), encoding="utf-8")
    assert run_import(state.db, path, ImportOptions(), now=datetime.now(UTC)).ok
    from minxin.core.kpi import from_row

    facts = [from_row(r) for r in rows]
    first, last = datetime(2026, 10, 1).date(), datetime(2026, 10, 31).date()
    with state.db.reading() as session:
        for as_of in (datetime(2026, 10, 3, 11, 7, tzinfo=CST), datetime(2026, 10, 12, 16, 0, tzinfo=CST), datetime(2027, 1, 1, tzinfo=CST)):
            cells = aggregate([f for f in facts if f.created_at.astimezone(CST).month == 10], folding.working_seconds, as_of=as_of)
            expected = sum_partials(cells.values())
            got = service.total(session, service.system_scope(session), first, last, as_of=as_of)
            assert got is not None and merge(got) == expected, as_of


def test_an_import_merged_in_many_small_steps_equals_the_recompute(state: Any, tmp_path: Path, monkeypatch: Any) -> None:
    """The importer's cell tables are merged as they grow (``MERGE_AT``); with tiny chunks and a
    tiny threshold every merge path runs, and the stored cells must still equal a recompute."""
    from minxin.reports import importer

    monkeypatch.setattr(importer, "MERGE_AT", 40)
    rows = random_rows(900, seed=33, start=datetime(2026, 9, 20, tzinfo=CST), days=25)
    path = tmp_path / "small-steps.csv"
    path.write_text(to_csv(rows), encoding="utf-8")
    result = run_import(state.db, path, ImportOptions(chunk_size=50), now=datetime.now(UTC))
    assert result.ok and result.imported == 900
    _verify(state)
