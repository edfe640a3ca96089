"""KPI definitions: literal orders → exact KPI values, for every KPI; exclusions; fairness; parsing."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from minxin.core.kpi import (
    COUNTER_FIELDS,
    IMPORT_COLUMNS,
    KPIS,
    FactError,
    KpiPartial,
    KpiPolicy,
    KpiUnit,
    OrderFact,
    compute,
    compute_all,
    format_value,
    from_row,
    partial_of,
    sum_partials,
)
from minxin.core.vocabulary import AppealType, Channel, Satisfaction, Status

CST = timezone(timedelta(hours=8))
T = datetime(2026, 3, 2, 9, 0, tzinfo=CST)  # a Monday
DOCS = Path(__file__).resolve().parents[3] / "docs" / "kpis.md"


def h(hours: float) -> datetime:
    return T + timedelta(hours=hours)


def natural(a: datetime, b: datetime) -> float:
    """A 24×7 calendar: working time is natural time."""
    return (b - a).total_seconds()


def office_hours(a: datetime, b: datetime) -> float:
    """Mon–Fri 08:30–12:00 and 13:30–17:30 (no holidays): a stand-in for the real calendar."""
    a, b = a.astimezone(CST), b.astimezone(CST)
    total = 0.0
    day = a.date()
    while day <= b.date():
        if day.weekday() < 5:
            for start, end in ((time(8, 30), time(12)), (time(13, 30), time(17, 30))):
                lo = max(a, datetime.combine(day, start, CST))
                hi = min(b, datetime.combine(day, end, CST))
                total += max(0.0, (hi - lo).total_seconds())
        day += timedelta(days=1)
    return total


_counter = iter(range(1, 10_000))


def fact(**kw: object) -> OrderFact:
    base: dict[str, object] = {
        "number": f"N{next(_counter)}",
        "channel": Channel.PHONE,
        "appeal_type": AppealType.COMPLAINT,
        "created_at": T,
        "unit": "U1",
    }
    base.update(kw)
    return OrderFact(**base)  # type: ignore[arg-type]


def total(facts: list[OrderFact], ws=natural, **kw: object) -> KpiPartial:
    return sum_partials(partial_of(f, ws, **kw) for f in facts)  # type: ignore[arg-type]


# One month of a small unit: A..I cover every KPI (see the comments for why each counts).
A = fact(  # dispatched, signed, replied on time; satisfied; resolved; photo
    dispatched_at=h(1 / 6), signed_at=h(1), replied_at=h(5), closed_at=h(30), handle_due_at=h(48),
    callback_at=h(26), satisfaction="satisfied", resolved=True, has_evidence=True,
)  # fmt: skip
B = fact(  # late everywhere; dissatisfied; reopened and returned once; no photo
    dispatched_at=h(0.75), signed_at=h(4), replied_at=h(60), handle_due_at=h(48), callback_at=h(70),
    satisfaction=Satisfaction.DISSATISFIED, resolved=False, reopen_count=1, returned_count=1,
)  # fmt: skip
C = fact(appeal_type="consult", closed_at=h(1 / 12))  # direct answer, never called back
D = fact(  # explicit dispatch due missed; explicit sign due met; flagged by a supervisor
    dispatched_at=h(1 / 3), dispatch_due_at=h(0.25), sign_due_at=h(2), signed_at=h(11 / 6),
    replied_at=h(20), handle_due_at=h(48), callback_at=h(22), satisfaction="basically_satisfied",
    resolved=True, has_evidence=True, excluded_from_satisfaction=True,
)  # fmt: skip
E = fact(status=Status.MERGED, dispatched_at=h(0.1), satisfaction="dissatisfied")
F = fact(status=Status.VOID, closed_at=h(0.1))
G = fact(dispatched_at=h(1 / 12), handle_due_at=h(48))  # still waiting to be signed and replied
H = fact(appeal_type="praise", closed_at=h(1 / 60), callback_at=h(2), satisfaction="satisfied")
I = fact()  # registered, nothing else yet  # noqa: E741
MONTH = [A, B, C, D, E, F, G, H, I]

HANDLING = [4 * 3600 + 50 * 60, 59 * 3600 + 15 * 60, 19 * 3600 + 40 * 60]  # A, B, D

# code → (value, numerator, denominator) with no as_of; rates give (num, den) and value = num/den.
EXPECTED: dict[str, tuple[object, object, object]] = {
    "volume": (7, 7, None),
    "volume_all": (9, 9, None),
    "merged_count": (1, 1, None),
    "void_count": (1, 1, None),
    "dispatch_on_time_rate": (2 / 4, 2, 4),
    "sign_on_time_rate": (2 / 3, 2, 3),
    "on_time_completion_rate": (2 / 3, 2, 3),
    "overdue_count": (1, 1, None),
    "avg_handling_working_days": (sum(HANDLING) / 3 / 27000, sum(HANDLING) / 27000, 3),
    "avg_handling_working_hours": (sum(HANDLING) / 3 / 3600, sum(HANDLING) / 3600, 3),
    "p90_handling_working_days": (HANDLING[1] / 27000, None, 3),
    "p90_handling_working_hours": (59.25, None, 3),
    "direct_answer_rate": (2 / 7, 2, 7),
    "callback_rate": (4 / 5, 4, 5),
    "satisfaction_rate": (3 / 4, 3, 4),
    "satisfaction_rate_fair": (2 / 3, 2, 3),
    "fairness_excluded_count": (1, 1, None),
    "resolution_rate": (2 / 3, 2, 3),
    "resolution_rate_fair": (1 / 2, 1, 2),
    "reopen_rate": (1 / 4, 1, 4),
    "reopened_count": (1, 1, None),
    "return_rate": (1 / 4, 1, 4),
    "returned_count": (1, 1, None),
    "evidence_compliance_rate": (2 / 3, 2, 3),
    "dissatisfied_count": (1, 1, None),
    "praise_count": (1, 1, None),
}


def test_every_kpi_has_an_expected_value() -> None:
    assert set(EXPECTED) == set(KPIS)


@pytest.mark.parametrize("code", list(EXPECTED))
def test_month_of_a_small_unit(code: str) -> None:
    value = compute(code, total(MONTH))
    expected_value, numerator, denominator = EXPECTED[code]
    assert value.value == pytest.approx(expected_value, rel=1e-12)
    if numerator is None:
        assert value.numerator is None
    else:
        assert value.numerator == pytest.approx(numerator)
    if KPIS[code].unit is not KpiUnit.COUNT:
        assert value.denominator == denominator


# With as_of, waiting orders past their deadline count as late: I (dispatch), G (sign, reply).
EXPECTED_AS_OF = {
    "dispatch_on_time_rate": (2, 5),
    "sign_on_time_rate": (2, 4),
    "on_time_completion_rate": (2, 4),
    "overdue_count": (2, None),
}


@pytest.mark.parametrize(("code", "expected"), list(EXPECTED_AS_OF.items()))
def test_waiting_orders_past_deadline_are_late_as_of(code: str, expected: tuple[int, int | None]) -> None:
    value = compute(code, total(MONTH, as_of=h(100)))
    assert (value.numerator, value.denominator) == expected


def test_waiting_orders_before_deadline_are_not_judged() -> None:
    p = total([G, I], as_of=h(0.2))  # dispatch due of I is h(0.5); G's sign due h(2+1/12)
    assert (p.dispatch_judged, p.sign_judged, p.completion_judged) == (1, 0, 0)


@pytest.mark.parametrize(
    ("kw", "judged", "on_time"),
    [
        ({"dispatched_at": h(0.5)}, 1, 1),  # exactly 30 minutes: on time (≤)
        ({"dispatched_at": h(0.5) + timedelta(seconds=1)}, 1, 0),
        ({"dispatched_at": h(0.9), "dispatch_due_at": h(1)}, 1, 1),  # explicit due wins
        ({"dispatched_at": h(0.2), "dispatch_due_at": h(0.1)}, 1, 0),
        ({"closed_at": h(0.1)}, 0, 0),  # direct answer: nothing to dispatch
    ],
)
def test_dispatch_on_time(kw: dict[str, object], judged: int, on_time: int) -> None:
    p = partial_of(fact(**kw), natural, as_of=h(1000))
    assert (p.dispatch_judged, p.dispatch_on_time) == (judged, on_time)


def test_dispatch_deadline_is_a_policy() -> None:
    p = partial_of(
        fact(dispatched_at=h(0.75)), natural, policy=KpiPolicy(dispatch_deadline=timedelta(hours=1))
    )
    assert p.dispatch_on_time == 1


FRIDAY_5PM = datetime(2026, 3, 6, 17, 0, tzinfo=CST)


@pytest.mark.parametrize(
    ("dispatched", "signed", "on_time"),
    [
        (FRIDAY_5PM, datetime(2026, 3, 9, 9, 59, tzinfo=CST), 1),  # 30 + 89 working min
        (FRIDAY_5PM, datetime(2026, 3, 9, 10, 0, tzinfo=CST), 1),  # exactly 2 working hours
        (FRIDAY_5PM, datetime(2026, 3, 9, 10, 1, tzinfo=CST), 0),
        (datetime(2026, 3, 9, 11, 0, tzinfo=CST), datetime(2026, 3, 9, 14, 30, tzinfo=CST), 1),  # lunch
    ],
)
def test_sign_deadline_counts_working_time(dispatched: datetime, signed: datetime, on_time: int) -> None:
    p = partial_of(fact(created_at=dispatched, dispatched_at=dispatched, signed_at=signed), office_hours)
    assert (p.sign_judged, p.sign_on_time) == (1, on_time)


def test_sign_not_judged_when_replied_without_signing() -> None:
    p = partial_of(fact(dispatched_at=h(0.1), replied_at=h(3)), natural, as_of=h(100))
    assert p.sign_judged == 0


def test_handling_time_is_working_time_from_dispatch_to_reply() -> None:
    # Friday 17:00 → Monday 10:00: 30 min on Friday + 90 min on Monday = 2 working hours.
    f = fact(created_at=FRIDAY_5PM, dispatched_at=FRIDAY_5PM, replied_at=datetime(2026, 3, 9, 10, tzinfo=CST))
    value = compute("avg_handling_working_hours", partial_of(f, office_hours))
    assert value.value == 2.0
    assert compute("avg_handling_working_days", partial_of(f, office_hours)).value == 7200 / 27000


def test_handling_accepts_a_timedelta_and_clamps_negative_to_zero() -> None:
    f = fact(dispatched_at=h(5), replied_at=h(1))
    p = partial_of(f, lambda a, b: b - a)
    assert (p.handled, p.handling_seconds) == (1, 0)


def test_handling_rounds_to_whole_seconds() -> None:
    p = partial_of(fact(dispatched_at=h(0), replied_at=h(1)), lambda a, b: 100.6)
    assert p.handling_seconds == 101


def test_merged_and_void_count_only_in_volume_all() -> None:
    p = total([E, F])
    assert p.columns() == {**dict.fromkeys(COUNTER_FIELDS, 0), "orders_all": 2, "merged": 1, "void": 1}
    assert compute("satisfaction_rate", p).value is None


def test_empty_partial_has_no_rates() -> None:
    for code, value in compute_all(KpiPartial()).items():
        expected = 0 if KPIS[code].unit is KpiUnit.COUNT else None
        assert value.value == expected, code


def test_callback_on_unfinished_order_is_not_counted() -> None:
    p = partial_of(fact(dispatched_at=h(0.1), callback_at=h(2)), natural)
    assert (p.finished, p.callbacks) == (0, 0)


def test_unreachable_callback_counts_as_callback_but_not_answer() -> None:
    p = partial_of(fact(closed_at=h(0.1), callback_at=h(2), callback_reachable=False), natural)
    assert (p.callbacks, p.callbacks_unreachable, p.answered) == (1, 1, 0)


def test_direct_answer_requires_no_dispatch_and_a_close() -> None:
    assert partial_of(fact(closed_at=h(1)), natural).direct_answered == 1
    assert partial_of(fact(dispatched_at=h(0.1), closed_at=h(1)), natural).direct_answered == 0
    assert partial_of(fact(), natural).direct_answered == 0


def test_evidence_only_for_replied_orders_that_require_it() -> None:
    facts = [
        fact(dispatched_at=h(0.1), replied_at=h(2), has_evidence=True),
        fact(dispatched_at=h(0.1), replied_at=h(2), requires_evidence=False),
        fact(dispatched_at=h(0.1), has_evidence=True),
    ]
    assert compute("evidence_compliance_rate", total(facts)).as_dict() == {
        "value": 1.0,
        "numerator": 1,
        "denominator": 1,
        "sample_size": 1,
    }


def test_fairness_flag_changes_only_the_fair_rates() -> None:
    flagged = fact(
        closed_at=h(1), satisfaction="dissatisfied", resolved=False, excluded_from_satisfaction=True
    )
    ok = fact(closed_at=h(1), satisfaction="satisfied", resolved=True)
    p = total([flagged, ok])
    assert compute("satisfaction_rate", p).value == 0.5
    assert compute("satisfaction_rate_fair", p).value == 1.0
    assert compute("resolution_rate_fair", p).value == 1.0
    assert compute("fairness_excluded_count", p).value == 1
    only_flagged = partial_of(flagged, natural)
    assert compute("satisfaction_rate_fair", only_flagged).value is None


def test_reopen_and_return_count_orders_once_and_events_in_total() -> None:
    p = partial_of(fact(dispatched_at=h(0.1), reopen_count=3, returned_count=2), natural)
    assert (p.reopened, p.reopen_events, p.returned, p.return_events) == (1, 3, 1, 2)


@pytest.mark.parametrize(
    ("code", "value", "shown"),
    [
        ("satisfaction_rate", 0.99171, "99.17%"),
        ("avg_handling_working_days", 1.2749, "1.27 个工作日"),
        ("p90_handling_working_hours", 9.5, "9.50 工作小时"),
        ("volume", 12, "12"),
        ("callback_rate", None, "—"),
    ],
)
def test_format_value_rounds_only_for_display(code: str, value: float | None, shown: str) -> None:
    assert format_value(code, value) == shown


# --------------------------------------------------------------------------------------------
# Registry and docs stay in sync
# --------------------------------------------------------------------------------------------


def test_registry_fields_exist() -> None:
    known = {*COUNTER_FIELDS, "handling_hist"}
    for d in KPIS.values():
        assert set(d.fields) <= known, d.code
        assert d.name_zh and d.numerator and d.exclusions


def test_docs_define_every_kpi_and_partial_field() -> None:
    text = DOCS.read_text(encoding="utf-8")
    codes = set(re.findall(r"`([a-z0-9_]+)`", text))
    assert set(KPIS) - codes == set()
    assert {*COUNTER_FIELDS, "handling_hist"} - codes == set()
    assert all(c in text for c in IMPORT_COLUMNS)


# --------------------------------------------------------------------------------------------
# from_row
# --------------------------------------------------------------------------------------------


def row(**kw: object) -> dict[str, object]:
    r: dict[str, object] = dict.fromkeys(IMPORT_COLUMNS, "")
    r.update(
        number="2026030200001",
        channel="phone",
        appeal_type="complaint",
        created_at="2026-03-02T09:00:00+08:00",
    )
    r.update(kw)
    return r


def test_from_row_parses_a_full_row() -> None:
    f = from_row(
        row(
            category="城市管理/市容",
            unit="城管局",
            dispatched_at="2026-03-02T09:10:00+08:00",
            replied_at="2026-03-03T01:00:00Z",
            satisfaction="基本满意",
            resolved="是",
            reopen_count="2",
            returned_count="",
            has_evidence="TRUE",
        )
    )
    assert f.created_at == T
    assert f.replied_at == datetime(2026, 3, 3, 1, tzinfo=UTC)
    assert f.satisfaction is Satisfaction.BASICALLY_SATISFIED
    assert (f.resolved, f.reopen_count, f.returned_count, f.has_evidence) == (True, 2, 0, True)
    assert f.effective and f.requires_evidence and f.derived_status is Status.REPLIED
    assert f.local_date(CST) == date(2026, 3, 2)


@pytest.mark.parametrize(
    ("kw", "attr", "expected"),
    [
        ({"channel": "电话"}, "channel", Channel.PHONE),
        ({"channel": " WEB "}, "channel", Channel.WEB),
        ({"appeal_type": "咨询"}, "appeal_type", AppealType.CONSULT),
        ({"satisfaction": "不满意"}, "satisfaction", Satisfaction.DISSATISFIED),
        ({"satisfaction": "Basically satisfied"}, "satisfaction", Satisfaction.BASICALLY_SATISFIED),
        ({"satisfaction": "basically-satisfied"}, "satisfaction", Satisfaction.BASICALLY_SATISFIED),
        ({"satisfaction": "basic"}, "satisfaction", Satisfaction.BASICALLY_SATISFIED),
        ({"satisfaction": "Not satisfied"}, "satisfaction", Satisfaction.DISSATISFIED),
        ({"satisfaction": "unsatisfied"}, "satisfaction", Satisfaction.DISSATISFIED),
        ({"satisfaction": "非常满意"}, "satisfaction", Satisfaction.SATISFIED),
        ({"resolved": ""}, "resolved", None),
        ({"resolved": "0"}, "resolved", False),
        ({"has_evidence": ""}, "has_evidence", False),
        ({"has_evidence": "否"}, "has_evidence", False),
        ({"status": "merged"}, "status", Status.MERGED),
        ({"void": "1"}, "status", Status.VOID),
        ({"region": "鼓楼区", "excluded_from_satisfaction": "true"}, "excluded_from_satisfaction", True),
        ({"requires_evidence": "false"}, "requires_evidence", False),
        ({"created_at": "2026-03-02 09:00:00+08:00"}, "created_at", T),
    ],
)
def test_from_row_values(kw: dict[str, object], attr: str, expected: object) -> None:
    assert getattr(from_row(row(**kw)), attr) == expected


@pytest.mark.parametrize(
    ("kw", "column"),
    [
        ({"channel": "fax"}, "channel"),
        ({"appeal_type": ""}, "appeal_type"),
        ({"created_at": ""}, "created_at"),
        ({"created_at": "2026-03-02T09:00:00"}, "created_at"),  # no offset
        ({"replied_at": "yesterday"}, "replied_at"),
        ({"satisfaction": "great"}, "satisfaction"),
        ({"satisfaction": "一般"}, "satisfaction"),  # ambiguous: refused, not guessed
        ({"resolved": "maybe"}, "resolved"),
        ({"reopen_count": "-1"}, "reopen_count"),
        ({"returned_count": "1.5"}, "returned_count"),
        ({"number": " "}, "number"),
    ],
)
def test_from_row_errors_name_the_column(kw: dict[str, object], column: str) -> None:
    with pytest.raises(FactError) as err:
        from_row(row(**kw), line=7)
    assert err.value.column == column
    assert column in str(err.value) and "line 7" in str(err.value)


def test_from_row_missing_column() -> None:
    r = row()
    del r["has_evidence"]
    with pytest.raises(FactError, match="has_evidence"):
        from_row(r)


def test_from_row_naive_times_need_an_explicit_zone() -> None:
    f = from_row(row(created_at="2026-03-02T09:00:00"), naive_tz=CST)
    assert f.created_at == T


def test_fact_refuses_naive_datetimes() -> None:
    with pytest.raises(FactError, match="dispatched_at"):
        fact(dispatched_at=datetime(2026, 3, 2, 9))
