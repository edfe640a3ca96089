"""Late-while-waiting counts shared by one page (``service.shared_late_counts``): the dashboard and
the monthly report give exactly the numbers they gave with one ``late_counts`` query per figure,
and the shared memo answers only what it can answer exactly."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from minxin.reports import dashboard, late, queries, report, service
from minxin.reports.importer import ImportOptions, run_import
from tests.reports.csvrows import CST, random_rows, to_csv

AS_OFS = (datetime(2026, 10, 3, 11, 7, tzinfo=CST), datetime(2026, 10, 20, 16, 0, tzinfo=CST), datetime(2027, 1, 1, tzinfo=CST))


@pytest.fixture
def waiting(state: Any, tmp_path: Path) -> None:
    """Three Octobers and the months around them, a third of the orders still waiting."""
    rows: list[dict[str, str]] = []
    for seed, start, days in ((71, datetime(2026, 8, 15, tzinfo=CST), 78), (72, datetime(2025, 9, 20, tzinfo=CST), 45),
                              (73, datetime(2023, 10, 1, tzinfo=CST), 31)):  # fmt: skip
        rows += random_rows(400, seed=seed, start=start, days=days)
    for i, row in enumerate(rows):
        if i % 3 == 0:
            row.update(replied_at="", closed_at="", callback_at="", satisfaction="", resolved="", status="")
        if i % 6 == 0:
            row["signed_at"] = ""
        if i % 12 == 0:
            row["dispatched_at"] = ""
    path = tmp_path / "waiting.csv"
    path.write_text(to_csv(rows), encoding="utf-8")
    assert run_import(state.db, path, ImportOptions(), now=datetime.now(UTC)).ok


def _unshared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "shared_late_counts", lambda *a, **k: contextlib.nullcontext())


@pytest.mark.parametrize("units", [None, ("GD-LZ", "GD-XM", "CGJ")])
def test_the_dashboard_and_the_monthly_report_are_unchanged_by_sharing(
    state: Any, waiting: None, monkeypatch: pytest.MonkeyPatch, units: tuple[str, ...] | None
) -> None:
    scope = service.Scope(units, None)
    generated = datetime(2026, 11, 1, tzinfo=UTC)
    with state.db.reading() as session:
        shared = {a: (dashboard.data(session, scope, "2026-10", as_of=a),
                      report.monthly(session, scope, "2026-10", as_of=a, generated_at=generated)) for a in AS_OFS}  # fmt: skip
        assert late.KEY not in session.info  # the memo lives as long as the page
        calls: list[Any] = []
        real = queries.late_counts
        monkeypatch.setattr(queries, "late_counts", lambda *a, **k: calls.append(a) or real(*a, **k))
        dashboard.data(session, scope, "2026-10", as_of=AS_OFS[0])
        assert calls == []  # every figure of the page was answered by the shared read
        _unshared(monkeypatch)
        for a in AS_OFS:
            assert dashboard.data(session, scope, "2026-10", as_of=a) == shared[a][0]
            assert report.monthly(session, scope, "2026-10", as_of=a, generated_at=generated) == shared[a][1]
        assert calls  # …and without it they were queried one by one


def test_every_grain_of_the_shared_read_equals_late_counts(state: Any, waiting: None) -> None:
    dims = ("channel", "appeal_type", "category", "unit", "region")
    with state.db.reading() as session:
        for units in (None, ("GD-LZ", "CGJ")):
            for as_of in AS_OFS:
                first, last, since = date(2026, 10, 1), date(2026, 10, 31), date(2023, 10, 1)
                rows = queries.late_counts_at_grains(session, service.local_range(since, last), service.local_range(first, last),
                                                     dims, units, as_of, service.TZ_NAME)  # fmt: skip
                memo = late.SharedLate.of(rows, units=units, as_of=as_of, days=(since, last), dims_period=(first, last), dims=dims)

                def direct(a: date, b: date, group: list[str], units: Any = units, as_of: datetime = as_of) -> dict[Any, tuple[int, ...]]:
                    got = queries.late_counts(session, service.local_range(a, b), units, {}, group, as_of, service.TZ_NAME)
                    return {str(r[0])[:10] if group else (): tuple(int(v or 0) for v in r[len(group):]) for r in got
                            if any(r[len(group):])}  # fmt: skip

                def shared(a: date, b: date, group: list[str], memo: late.SharedLate = memo, **kw: Any) -> Any:
                    got = memo.answer(a, b, kw.get("units", memo.units), kw.get("filters", {}), group, kw.get("as_of", memo.as_of))
                    if got is None:
                        return None
                    return {str(r[0])[:10] if group else (): tuple(r[len(group):]) for r in got if any(r[len(group):])}

                assert direct(first, last, [])[()][2] > 0  # there is something to count
                for dim in dims:
                    assert shared(first, last, [dim]) == direct(first, last, [dim]), (units, as_of, dim)
                for a, b in ((first, last), (date(2026, 9, 1), date(2026, 9, 30)), (date(2025, 10, 1), date(2025, 10, 31)),
                             (date(2025, 11, 1), last), (date(2026, 10, 8), date(2026, 10, 21)), (since, last)):  # fmt: skip
                    assert shared(a, b, []) == direct(a, b, []), (units, as_of, a, b)
                    assert shared(a, b, ["day"]) == direct(a, b, ["day"]), (units, as_of, a, b)
                # what it cannot answer exactly, it leaves to a query
                assert shared(date(2023, 9, 1), last, []) is None
                assert shared(date(2026, 10, 8), date(2026, 10, 21), ["channel"]) is None
                assert shared(first, last, [], units=("GD-LZ",)) is None
                assert shared(first, last, [], filters={"channel": ["phone"]}) is None
                assert shared(first, last, [], as_of=datetime(2030, 1, 1, tzinfo=UTC)) is None


def test_the_waiting_copy_holds_exactly_the_open_orders_and_the_verifier_checks_it(state: Any, waiting: None) -> None:
    from sqlalchemy import delete, func, select, update

    from minxin.reports import maintenance
    from minxin.reports.models import OrderFactRow, order_facts_waiting

    with state.db.reading() as session:
        opened = session.scalar(select(func.count()).where(OrderFactRow.replied_at.is_(None), OrderFactRow.closed_at.is_(None)))
        assert opened and session.scalar(select(func.count()).select_from(order_facts_waiting)) == opened
        assert maintenance.verify(session) == []
    with state.db.unit_of_work() as session:
        number = session.scalar(select(order_facts_waiting.c.number).limit(1))
        session.execute(update(order_facts_waiting).where(order_facts_waiting.c.number == number).values(unit="CGJ-X"))
    with state.db.reading() as session:
        assert [p for p in maintenance.verify(session) if number in p]
    with state.db.unit_of_work() as session:
        session.execute(delete(order_facts_waiting).where(order_facts_waiting.c.number == number))
    with state.db.reading() as session:
        assert [p for p in maintenance.verify(session) if number in p]
    assert maintenance.rebuild(state.db)["imported"] > 0
    with state.db.reading() as session:
        assert maintenance.verify(session) == []
