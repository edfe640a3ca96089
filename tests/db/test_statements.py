"""Statements built once per shape (:mod:`minxin.db.statements`), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from minxin.api.state import AppState
from minxin.db.statements import insert_rows, update_by_pk
from minxin.risk.models import RiskSubject

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
TABLE = RiskSubject.__table__


def _subject(key: str, **extra: object) -> dict[str, object]:
    return {"kind": "caller", "key": key, "ref": key[-16:], "score_at": T0, "first_at": T0, "last_at": T0} | extra


def _rows(state: AppState) -> dict[str, tuple[str, float, str, int, datetime]]:
    with state.db.reading() as session:
        stmt = select(RiskSubject.key, RiskSubject.display, RiskSubject.score, RiskSubject.level,
                      RiskSubject.order_count, RiskSubject.score_at).where(RiskSubject.key.like("caller:t-%"))
        return {k: (d, s, lv, n, at.replace(tzinfo=UTC) if at.tzinfo is None else at) for k, d, s, lv, n, at in session.execute(stmt)}


def test_rows_of_different_shapes_are_each_written_once(state: AppState) -> None:
    with state.db.unit_of_work() as session:
        insert_rows(session, TABLE, [
            _subject("caller:t-1", display="甲", score=1.5, level="medium", order_count=2),
            _subject("caller:t-2"),  # display, score, level, order_count left to their defaults
            _subject("caller:t-3", display="丙"),
        ])
    assert _rows(state) == {
        "caller:t-1": ("甲", 1.5, "medium", 2, T0),
        "caller:t-2": ("", 0.0, "low", 0, T0),
        "caller:t-3": ("丙", 0.0, "low", 0, T0),
    }
    with state.db.reading() as session:
        ids = dict(session.execute(select(RiskSubject.key, RiskSubject.id).where(RiskSubject.key.like("caller:t-%"))).all())
    with state.db.unit_of_work() as session:
        update_by_pk(session, TABLE, [
            {"id": ids["caller:t-1"], "score": 7.25, "score_at": T1, "level": "high"},
            {"id": ids["caller:t-3"], "display": "丙改"},  # another shape: only the display
            {"id": ids["caller:t-2"], "score": 0.5, "score_at": T1, "level": "low"},
            {"id": 10**9, "display": "无此行"},  # no such row: nothing happens
        ])
        update_by_pk(session, TABLE, [{"key": "caller:t-2", "order_count": 5}], pk=("key",))
        update_by_pk(session, TABLE, [])
        insert_rows(session, TABLE, [])
    assert _rows(state) == {
        "caller:t-1": ("甲", 7.25, "high", 2, T1),
        "caller:t-2": ("", 0.5, "low", 5, T1),
        "caller:t-3": ("丙改", 0.0, "low", 0, T0),
    }
