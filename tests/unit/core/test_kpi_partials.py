"""Additivity: partials merged in any grouping and order give the KPIs of the whole set, and equal
a naive reference written straight from docs/kpis.md; the p90 sketch stays within its precision."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minxin.core.kpi import (
    DEFAULT_POLICY,
    EMPTY_PARTIAL,
    KPIS,
    CellKey,
    HandlingHistogram,
    KpiPartial,
    OrderFact,
    aggregate,
    as_of_adjustment,
    compute_all,
    merge,
    partial_of,
    rollup,
    subtract,
    sum_partials,
)
from minxin.core.kpi.histogram import bucket_of
from minxin.core.vocabulary import AppealType, Channel, Satisfaction, Status

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 1, 31, 22, 0, tzinfo=CST)


def weekday_seconds(a: datetime, b: datetime) -> float:
    """A crude working-time stand-in (whole weekdays count): different from natural time."""
    if b <= a:
        return (b - a).total_seconds()
    seconds, cursor = 0.0, a
    while cursor < b:
        step = min(b, cursor + timedelta(hours=6))
        if cursor.astimezone(CST).weekday() < 5:
            seconds += (step - cursor).total_seconds()
        cursor = step
    return seconds


minutes = st.integers(min_value=0, max_value=60 * 24 * 20)
maybe_minutes = st.none() | minutes


@st.composite
def facts(draw: st.DrawFn) -> OrderFact:
    created = T0 + timedelta(minutes=draw(st.integers(0, 60 * 24 * 40)))

    def at(offset: int | None) -> datetime | None:
        return None if offset is None else created + timedelta(minutes=offset)

    return OrderFact(
        number=f"N{draw(st.integers(0, 10**9))}",
        channel=draw(st.sampled_from(Channel)),
        appeal_type=draw(st.sampled_from(AppealType)),
        created_at=created,
        category=draw(st.sampled_from(["", "c1", "c2"])),
        unit=draw(st.sampled_from(["", "u1", "u2", "u3"])),
        region=draw(st.sampled_from(["", "r1", "r2"])),
        status=draw(st.sampled_from([None, None, None, Status.MERGED, Status.VOID, Status.CLOSED])),
        dispatched_at=at(draw(maybe_minutes)),
        signed_at=at(draw(maybe_minutes)),
        replied_at=at(draw(maybe_minutes)),
        closed_at=at(draw(maybe_minutes)),
        dispatch_due_at=at(draw(maybe_minutes)),
        sign_due_at=at(draw(maybe_minutes)),
        handle_due_at=at(draw(maybe_minutes)),
        callback_at=at(draw(maybe_minutes)),
        satisfaction=draw(st.none() | st.sampled_from(Satisfaction)),
        resolved=draw(st.none() | st.booleans()),
        reopen_count=draw(st.integers(0, 3)),
        returned_count=draw(st.integers(0, 3)),
        has_evidence=draw(st.booleans()),
        requires_evidence=draw(st.booleans()),
        excluded_from_satisfaction=draw(st.booleans()),
        callback_reachable=draw(st.none() | st.booleans()),
    )


# --------------------------------------------------------------------------------------------
# A naive reference, one KPI at a time, from the written definitions (docs/kpis.md §4).
# --------------------------------------------------------------------------------------------


def reference(orders: list[OrderFact], ws, as_of: datetime | None) -> dict[str, tuple[object, ...]]:
    eff = [f for f in orders if f.status not in (Status.MERGED, Status.VOID)]
    fin = lambda f: f.replied_at is not None or f.closed_at is not None  # noqa: E731
    disp = [f for f in eff if f.dispatched_at is not None]

    def rate(num: list[OrderFact], den: list[OrderFact]) -> tuple[object, ...]:
        return (len(num) / len(den) if den else None, len(num), len(den))

    def dispatch_due(f: OrderFact) -> datetime:
        return f.dispatch_due_at or f.created_at + timedelta(minutes=30)

    d_den = [f for f in disp] + [
        f for f in eff if f.dispatched_at is None and as_of and not fin(f) and dispatch_due(f) < as_of
    ]
    d_num = [f for f in disp if f.dispatched_at <= dispatch_due(f)]

    def sign_ok(f: OrderFact) -> bool:
        if f.sign_due_at is not None:
            return f.signed_at <= f.sign_due_at
        return ws(f.dispatched_at, f.signed_at) <= 7200

    def sign_late_open(f: OrderFact) -> bool:
        if f.sign_due_at is not None:
            return f.sign_due_at < as_of
        return ws(f.dispatched_at, as_of) > 7200

    signed = [f for f in disp if f.signed_at is not None]
    s_den = signed + [f for f in disp if f.signed_at is None and as_of and not fin(f) and sign_late_open(f)]
    s_num = [f for f in signed if sign_ok(f)]

    due = [f for f in eff if f.handle_due_at is not None]
    c_den = [f for f in due if f.replied_at is not None] + [
        f for f in due if f.replied_at is None and f.closed_at is None and as_of and f.handle_due_at < as_of
    ]
    c_num = [f for f in due if f.replied_at is not None and f.replied_at <= f.handle_due_at]

    handled = sorted(
        max(0, round(ws(f.dispatched_at, f.replied_at))) for f in disp if f.replied_at is not None
    )
    n = len(handled)
    p90 = handled[-(-9 * n // 10) - 1] if n else None

    answered = [f for f in eff if f.satisfaction is not None]
    content = [f for f in answered if f.satisfaction is not Satisfaction.DISSATISFIED]
    fair_answered = [f for f in answered if not f.excluded_from_satisfaction]
    fair_content = [f for f in content if not f.excluded_from_satisfaction]
    res = [f for f in eff if f.resolved is not None]
    fair_res = [f for f in res if not f.excluded_from_satisfaction]
    finished = [f for f in eff if fin(f)]
    replied_req = [f for f in eff if f.replied_at is not None and f.requires_evidence]
    return {
        "volume": (len(eff),),
        "volume_all": (len(orders),),
        "merged_count": (sum(f.status is Status.MERGED for f in orders),),
        "void_count": (sum(f.status is Status.VOID for f in orders),),
        "dispatch_on_time_rate": rate(d_num, d_den),
        "sign_on_time_rate": rate(s_num, s_den),
        "on_time_completion_rate": rate(c_num, c_den),
        "overdue_count": (len(c_den) - len(c_num),),
        "avg_handling_working_days": (sum(handled) / n / 27000 if n else None,),
        "avg_handling_working_hours": (sum(handled) / n / 3600 if n else None,),
        "p90_handling_working_days": ("p90", p90, 27000),
        "p90_handling_working_hours": ("p90", p90, 3600),
        "direct_answer_rate": rate([f for f in eff if f.dispatched_at is None and f.closed_at], eff),
        "callback_rate": rate([f for f in finished if f.callback_at is not None], finished),
        "satisfaction_rate": rate(content, answered),
        "satisfaction_rate_fair": rate(fair_content, fair_answered),
        "fairness_excluded_count": (sum(f.excluded_from_satisfaction for f in eff),),
        "resolution_rate": rate([f for f in res if f.resolved], res),
        "resolution_rate_fair": rate([f for f in fair_res if f.resolved], fair_res),
        "reopen_rate": rate([f for f in disp if f.reopen_count], disp),
        "reopened_count": (sum(f.reopen_count > 0 for f in disp),),
        "return_rate": rate([f for f in disp if f.returned_count], disp),
        "returned_count": (sum(f.returned_count > 0 for f in disp),),
        "evidence_compliance_rate": rate([f for f in replied_req if f.has_evidence], replied_req),
        "dissatisfied_count": (len(answered) - len(content),),
        "praise_count": (sum(f.appeal_type is AppealType.PRAISE for f in eff),),
    }


def assert_matches_reference(partial: KpiPartial, ref: dict[str, tuple[object, ...]]) -> None:
    assert set(ref) == set(KPIS)
    for code, value in compute_all(partial).items():
        expected = ref[code]
        if expected[0] == "p90":
            exact, scale = expected[1], expected[2]
            if exact is None:
                assert value.value is None, code
            else:
                assert abs(value.value * scale - exact) <= max(0.01 * exact, 60) + 1e-6, code
        elif len(expected) == 3:
            assert (value.value, value.numerator, value.denominator) == expected, code
        elif expected[0] is None:
            assert value.value is None, code
        else:
            assert value.value == pytest.approx(expected[0], rel=1e-12), code


@settings(max_examples=150, deadline=None)
@given(st.lists(facts(), max_size=40), st.sampled_from([None, 0, 60 * 24 * 30]), st.booleans())
def test_partials_match_the_written_definitions(orders: list[OrderFact], as_of_min, office) -> None:
    ws = weekday_seconds if office else (lambda a, b: (b - a).total_seconds())
    as_of = None if as_of_min is None else T0 + timedelta(minutes=as_of_min)
    total = sum_partials(partial_of(f, ws, as_of=as_of) for f in orders)
    assert_matches_reference(total, reference(orders, ws, as_of))


def natural(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


@settings(max_examples=100, deadline=None)
@given(st.lists(facts(), max_size=40), st.randoms(use_true_random=False))
def test_any_grouping_and_order_gives_the_same_partial(orders: list[OrderFact], rnd: random.Random) -> None:
    parts = [partial_of(f, natural) for f in orders]
    whole = sum_partials(parts)
    rnd.shuffle(parts)
    groups: list[list[KpiPartial]] = [[] for _ in range(rnd.randint(1, 5))]
    for p in parts:
        rnd.choice(groups).append(p)
    assert merge(*(sum_partials(g) for g in groups)) == whole
    assert compute_all(merge(*(sum_partials(g) for g in reversed(groups)))) == compute_all(whole)


@settings(max_examples=60, deadline=None)
@given(st.lists(facts(), max_size=40), st.lists(st.sampled_from(["day", "month", "unit", "channel",
                                                                   "appeal_type", "category", "region"]),
                                               max_size=3, unique=True))  # fmt: skip
def test_rollup_by_any_dimensions_sums_to_the_total(orders: list[OrderFact], dims: list[str]) -> None:
    cells = aggregate(orders, natural)
    whole = sum_partials(partial_of(f, natural) for f in orders)
    groups = rollup(cells, dims)
    assert sum_partials(groups.values()) == whole
    if orders:
        assert all(len(k) == len(dims) for k in groups)


@settings(max_examples=60, deadline=None)
@given(st.lists(facts(), max_size=20), st.lists(facts(), max_size=20))
def test_subtract_undoes_merge(a: list[OrderFact], b: list[OrderFact]) -> None:
    pa = sum_partials(partial_of(f, natural) for f in a)
    pb = sum_partials(partial_of(f, natural) for f in b)
    assert subtract(merge(pa, pb), pb) == pa
    assert subtract(pa, pa) == EMPTY_PARTIAL


@settings(max_examples=100, deadline=None)
@given(facts(), st.integers(0, 60 * 24 * 60))
def test_as_of_adjustment_completes_the_clock_free_partial(fact: OrderFact, as_of_min: int) -> None:
    as_of = T0 + timedelta(minutes=as_of_min)
    stored = partial_of(fact, weekday_seconds)
    adjusted = merge(stored, as_of_adjustment(fact, weekday_seconds, as_of))
    assert adjusted == partial_of(fact, weekday_seconds, as_of=as_of)


def test_subtract_refuses_a_non_member() -> None:
    one = partial_of(
        OrderFact("N1", "phone", "help", T0, dispatched_at=T0, replied_at=T0 + timedelta(hours=3)), natural
    )
    with pytest.raises(ValueError, match="not part of the total"):
        subtract(EMPTY_PARTIAL, one)
    other = partial_of(
        OrderFact("N2", "phone", "help", T0, dispatched_at=T0, replied_at=T0 + timedelta(hours=9)), natural
    )
    with pytest.raises(ValueError, match="histogram"):  # counters alone would allow 9 h − 3 h
        subtract(other, one)


def test_columns_round_trip() -> None:
    f = OrderFact("N1", "phone", "help", T0, dispatched_at=T0, replied_at=T0 + timedelta(hours=3), unit="u")
    p = partial_of(f, natural)
    assert KpiPartial.from_columns(p.columns(), p.handling_hist.as_mapping()) == p
    with pytest.raises(ValueError, match="unknown partial fields"):
        KpiPartial.from_columns({"nope": 1})


def test_cell_key_uses_the_local_date() -> None:
    # 2026-01-31 22:00 +08:00 is 14:00 UTC the same day; 02:00 +08:00 on Feb 1 is Jan 31 in UTC.
    f = OrderFact("N1", "web", "consult", datetime(2026, 2, 1, 2, 0, tzinfo=CST), unit="u", region="r")
    (key,) = aggregate([f], natural)
    assert key == CellKey(datetime(2026, 2, 1).date(), "u", "", "web", "consult", "r")
    assert key.month == datetime(2026, 2, 1).date()
    with pytest.raises(ValueError, match="unknown dimension"):
        rollup({key: EMPTY_PARTIAL}, ["weekday"])


# --------------------------------------------------------------------------------------------
# The p90 sketch
# --------------------------------------------------------------------------------------------


def exact_percentile(values: list[int], percent: int) -> int:
    ordered = sorted(values)
    return ordered[max(1, -(-percent * len(ordered) // 100)) - 1]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 2_000_000) | st.integers(0, 120), min_size=1, max_size=200),
    st.sampled_from([50, 90, 99, 100]),
)
def test_percentile_is_within_one_percent_or_one_minute(values: list[int], percent: int) -> None:
    hist = HandlingHistogram()
    for v in values:
        hist = hist.merge(HandlingHistogram.of(v))
    exact = exact_percentile(values, percent)
    estimate = hist.percentile_seconds(percent)
    assert estimate is not None
    assert abs(estimate - exact) < max(0.01 * exact, HIST_FLOOR) + 1e-9


HIST_FLOOR = 60


@given(st.integers(0, 10_000_000), st.integers(1, 50))
def test_percentile_is_exact_for_a_single_distinct_value(value: int, copies: int) -> None:
    hist = HandlingHistogram.from_mapping({bucket_of(value): (copies, copies * value)})
    assert hist.percentile_seconds(90) == value


@given(st.integers(60, 10**9))
def test_bucket_bounds(value: int) -> None:
    k = bucket_of(value)
    assert 60 * 1.01 ** (k - 1) <= value * (1 + 1e-12)
    assert value < 60 * 1.01**k * (1 + 1e-12)


def test_empty_histogram_and_bad_percent() -> None:
    assert HandlingHistogram().percentile_seconds(90) is None
    with pytest.raises(ValueError):
        HandlingHistogram.of(5).percentile_seconds(0)


def test_default_policy_is_the_documented_one() -> None:
    assert DEFAULT_POLICY.dispatch_deadline == timedelta(minutes=30)
    assert DEFAULT_POLICY.sign_deadline_working_seconds == 2 * 3600
