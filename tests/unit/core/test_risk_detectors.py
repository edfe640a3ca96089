"""Detectors and alert merging: planted events raise exactly one alert, ordinary traffic stays quiet."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from minxin.core.risk.alerts import (
    AlertBook,
    AlertCandidate,
    EventKind,
    LiveAlert,
    OrderEvent,
    merge_into_live,
    replay,
)
from minxin.core.risk.baseline import BaselineConfig, china_calendar_sets, day_type
from minxin.core.risk.cluster import ClusterDetector, text_similarity
from minxin.core.risk.detectors import detect
from minxin.core.risk.repeat import OverdueChainDetector, RepeatAppealDetector
from minxin.core.risk.spike import SpikeDetector, nb_upper_tail

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2024, 9, 2, 9, 0, tzinfo=TZ)


def ev(oid: str, at: datetime, **kw: object) -> OrderEvent:
    return OrderEvent(oid, at, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ repeat / chain
def test_repeat_caller_alerts_at_the_third_call_and_later_calls_attach() -> None:
    det, book = RepeatAppealDetector(), AlertBook()
    subj = ("caller:13800138000", "addr:幸福里5栋2单元301")
    for i, days in enumerate([0, 4, 9, 15]):
        at = T0 + timedelta(days=days)
        got = det.observe(ev(f"o{i}", at, subjects=subj, region="D1", category="noise", text="噪音"))
        assert (len(got) == 1) is (i >= 2)  # caller and address cross together: one candidate
        book.apply(got, at)
    [(alert, cand)] = book.alerts
    assert alert.order_ids == {"o0", "o1", "o2", "o3"}
    assert cand.label_code == "repeat_unresolved.repeat_caller" and cand.evidence["count"] == 4


REPEAT_QUIET = [
    ("spread over more than 30 days", [0, 20, 40, 60], EventKind.CREATED),
    ("two calls only", [0, 1], EventKind.CREATED),
    ("reopens are chain steps, not appeals", [0, 1, 2], EventKind.REOPENED),
]


@pytest.mark.parametrize(("case", "days", "kind"), REPEAT_QUIET, ids=[r[0] for r in REPEAT_QUIET])
def test_repeat_stays_quiet(case: str, days: list[int], kind: EventKind) -> None:
    det = RepeatAppealDetector()
    out = []
    for i, d in enumerate(days):
        out += det.observe(ev("o0" if kind != EventKind.CREATED else f"o{i}", T0 + timedelta(days=d),
                              kind=kind, subjects=("caller:139",)))
    assert out == []


def test_repeat_episode_restarts_after_a_quiet_gap() -> None:
    det = RepeatAppealDetector()
    keys = set()
    for i, d in enumerate([0, 1, 2, 100, 101, 102]):
        for c in det.observe(ev(f"o{i}", T0 + timedelta(days=d), subjects=("caller:139",))):
            keys.add(c.dedup_key)
    assert len(keys) == 2


def test_handling_loop_alerts_once_per_chain_including_follow_ups() -> None:
    det, book = OverdueChainDetector(), AlertBook()
    stream = [
        ev("a", T0, region="D1", category="water"),
        ev("a", T0 + timedelta(days=1), kind=EventKind.RETURNED),
        ev("b", T0 + timedelta(days=2), parent_order_id="a"),  # a follow-up order joins the chain
        ev("b", T0 + timedelta(days=3), kind=EventKind.RETURNED),
        ev("a", T0 + timedelta(days=4), kind=EventKind.REOPENED),
        ev("b", T0 + timedelta(days=5), kind=EventKind.OVERDUE),
        ev("x", T0, region="D2"), ev("x", T0 + timedelta(days=1), kind=EventKind.RETURNED),
    ]
    fired = []
    for e in stream:
        got = det.observe(e)
        fired += got
        book.apply(got, e.at)
    assert [c.evidence["total"] for c in fired] == [3, 4]
    [(alert, cand)] = book.alerts
    assert alert.order_ids == {"a", "b"} and cand.region == "D1" and cand.dedup_key == "chain:a"


# ----------------------------------------------------------------------------------- cluster
OUTAGE = ["幸福里{b}栋突然停电了", "幸福里整个小区都停电了什么时候来电", "我家在幸福里，刚才一下子全黑了，没电了",
          "幸福里这边停电{n}分钟了，冰箱里东西要坏了", "人民路幸福里附近一片都停电了", "请问幸福里停电是怎么回事"]
BACKGROUND = ["{c}楼下烧烤店噪音扰民", "{c}物业乱收停车费", "咨询养老保险缴费", "{c}{b}栋水压太低",
              "{c}门口垃圾堆放", "建议{r}增设红绿灯", "{r}违章停车严重", "{c}{b}栋电表跳闸后一直没电"]
PLACES = ["锦绣花园", "阳光新城", "金桂苑", "翠湖湾", "华庭雅苑", "丽景华庭", "书香门第", "学府佳苑"]
ROADS = ["人民路", "解放路", "中山路", "建设路", "滨江路"]
CATS = {0: "noise", 1: "property", 2: "social", 3: "water", 4: "city", 5: "traffic", 6: "traffic", 7: "power"}


def background(rng: np.random.Generator, start: datetime, hours: int, per_hour: float) -> list[OrderEvent]:
    """Ordinary traffic in two regions, all from a handful of templates (similar wording by design)."""
    out = []
    for h in range(hours):
        for _ in range(rng.poisson(per_hour)):
            k = int(rng.integers(len(BACKGROUND)))
            text = BACKGROUND[k].format(c=PLACES[rng.integers(len(PLACES))], r=ROADS[rng.integers(len(ROADS))],
                                        b=int(rng.integers(1, 30)))
            at = start + timedelta(hours=h, seconds=int(rng.integers(3600)))
            out.append(ev(f"bg{len(out)}-{h}", at, region=f"D{rng.integers(1, 3)}", category=CATS[k], text=text))
    return out


def run_cluster(events: list[OrderEvent]) -> AlertBook:
    det, book = ClusterDetector(), AlertBook()
    for e in sorted(events, key=lambda e: e.at):
        book.apply(det.observe(e), e.at)
    return book


def test_thirty_outage_calls_in_an_hour_are_one_alert_with_all_thirty_orders() -> None:
    rng = np.random.default_rng(7)
    events = background(rng, T0 - timedelta(days=2), 72, 6.0)
    outage = [ev(f"out{i}", T0 + timedelta(days=1, hours=5, minutes=2 * i), region="D1", category="power",
                 text=OUTAGE[i % len(OUTAGE)].format(b=i % 20 + 1, n=i + 3)) for i in range(30)]
    book = run_cluster(events + outage)
    alerts = [(a, c) for a, c in book.alerts if a.order_ids & {e.order_id for e in outage}]
    assert len(book.alerts) == 1 and len(alerts) == 1
    alert, cand = alerts[0]
    assert {e.order_id for e in outage} <= alert.order_ids
    assert cand.region == "D1" and cand.category == "power" and cand.evidence["p_value"] < 1e-6


def test_ordinary_templated_traffic_raises_no_cluster() -> None:
    rng = np.random.default_rng(11)
    assert run_cluster(background(rng, T0, 24 * 7, 8.0)).alerts == []


def test_similar_calls_in_different_regions_do_not_cluster() -> None:
    calls = [ev(f"c{i}", T0 + timedelta(minutes=i), region=f"R{i}", category="power", text="幸福里突然停电了")
             for i in range(10)]
    assert run_cluster(calls).alerts == []
    assert text_similarity("幸福里停电了", "幸福里停电了") == 1.0 and text_similarity("", "x") == 0.0


def test_default_pipeline_gives_one_alert_per_planted_event_and_nothing_else() -> None:
    rng = np.random.default_rng(21)
    events = background(rng, T0 - timedelta(days=3), 96, 6.0)
    outage = [ev(f"out{i}", T0 + timedelta(hours=5, minutes=i), region="D2", category="power",
                 text=OUTAGE[i % len(OUTAGE)].format(b=i % 20 + 1, n=i + 3)) for i in range(25)]
    caller = [ev(f"rep{i}", T0 + timedelta(days=i, hours=2), region="D1", category="noise",
                 subjects=("caller:13900000001",), text="又来反映金桂苑楼下烧烤店噪音") for i in range(3)]
    loop = [ev("loop", T0, region="D1", category="water", text="咨询水费")] + [
        ev("loop", T0 + timedelta(days=d), kind=k)
        for d, k in ((1, EventKind.RETURNED), (2, EventKind.RETURNED), (3, EventKind.REOPENED))]
    book = detect(events + outage + caller + loop)
    got = sorted((c.detector, frozenset(a.order_ids)) for a, c in book.alerts)
    assert [d for d, _ in got] == ["chain", "cluster", "repeat"]
    assert {e.order_id for e in outage} <= got[1][1] and got[2][1] == {"rep0", "rep1", "rep2"}


# ------------------------------------------------------------------------------------- spike
HOL, MAKEUP, NAMES = china_calendar_sets(date(2022, 1, 1), date(2024, 12, 31))
WEEKDAY = np.array([1.0, 1.0, 1.0, 1.0, 1.05, 0.6, 0.55])
CELLS = {("power", "D1"): 12.0, ("power", "D2"): 8.0, ("noise", "D1"): 10.0, ("noise", "D2"): 6.0,
         ("consumer", "D1"): 9.0, ("consumer", "D2"): 5.0}
HOLIDAY_EFFECT = {"power": 0.6, "noise": 1.4, "consumer": 2.5}  # differs by category, as in real life


def mean(cell: tuple[str, str], d: date) -> float:
    m = CELLS[cell]
    if d in HOL:
        return m * HOLIDAY_EFFECT[cell[0]]
    return m * (1.0 if d in MAKEUP else WEEKDAY[d.weekday()])


def draw(rng: np.random.Generator, d: date, dispersion: float = 0.03) -> dict[tuple[str, str], int]:
    return {c: int(rng.poisson(rng.gamma(1 / dispersion, mean(c, d) * dispersion))) for c in CELLS}


def seeded(history_end: date, *, calendar: bool = True, seed: int = 1, looks_per_day: int = 1,
           **kw: object) -> SpikeDetector:
    """A detector that has seen two years of ordinary days; ``calendar=False`` is the control that
    knows neither holidays nor previous years."""
    if not calendar:
        kw["config"] = BaselineConfig(years=0)
    det = SpikeDetector(holidays=HOL if calendar else (), makeup_workdays=MAKEUP if calendar else (),
                        holiday_names=NAMES if calendar else None, looks_per_day=looks_per_day,
                        **kw)  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    d = date(2022, 9, 1)
    while d < history_end:
        for (cat, region), y in draw(rng, d).items():
            det.seed_daily_count(cat, region, d, y)
        d += timedelta(days=1)
    return det


def test_day_types_know_holidays_and_makeup_days() -> None:
    assert day_type(date(2024, 10, 3), HOL, MAKEUP) == 7 and day_type(date(2024, 9, 29), HOL, MAKEUP) == 8
    assert day_type(date(2024, 10, 9), HOL, MAKEUP) == 2 and NAMES[date(2024, 10, 3)] == "National Day"


def test_nb_tail_matches_poisson_at_zero_dispersion() -> None:
    p = nb_upper_tail(np.array([10, 10]), np.array([3.0, 3.0]), np.array([0.0, 0.5]))
    assert p[0] == pytest.approx(0.0011025, rel=1e-3) and p[1] > p[0]


def test_planted_spike_is_found_and_the_rest_of_the_week_is_quiet() -> None:
    det = seeded(date(2024, 9, 2))
    rng = np.random.default_rng(3)
    alarms = []
    for k in range(7):
        d = date(2024, 9, 2) + timedelta(days=k)
        counts = draw(rng, d)
        if k == 2:
            counts[("noise", "D2")] += 25  # about five times the usual Wednesday
        alarms += [(r.day, r.category, r.region) for r in det.test_counts(d, counts) if r.alarm]
        for (cat, region), y in counts.items():
            det.seed_daily_count(cat, region, d, y)
    assert alarms == [(date(2024, 9, 4), "noise", "D2")]


HOLIDAY_CASES = [("usual Golden Week volume", 1.0, 0), ("Golden Week at twice its usual volume", 2.0, 3)]


@pytest.mark.parametrize(("case", "factor", "min_alarm_days"), HOLIDAY_CASES, ids=[c[0] for c in HOLIDAY_CASES])
def test_national_day_is_judged_against_national_day_not_against_weekdays(case: str, factor: float,
                                                                          min_alarm_days: int) -> None:
    """Consumer complaints run at 2.5× the weekday level during Golden Week every year (and power
    at 0.6×): that is expected, not a spike. The same week at twice its usual holiday volume is."""
    det = seeded(date(2024, 10, 1), seed=5)
    rng = np.random.default_rng(9)
    alarm_days = 0
    for k in range(7):
        d = date(2024, 10, 1) + timedelta(days=k)
        counts = {c: round(mean(c, d) * (factor if c[0] == "consumer" else 1.0)) for c in CELLS}
        alarm_days += any(r.alarm for r in det.test_counts(d, counts))
        for (cat, region), y in draw(rng, d).items():
            det.seed_daily_count(cat, region, d, y)
    if min_alarm_days == 0:
        assert alarm_days == 0
    else:
        assert alarm_days >= min_alarm_days


def test_false_alarm_rate_over_many_ordinary_days_stays_below_alpha() -> None:
    alpha = 0.05
    det = seeded(date(2024, 3, 4), alpha=alpha, seed=2)
    rng = np.random.default_rng(12)
    days = alarmed = 0
    for k in range(28):  # four ordinary weeks (incl. Qingming), 60 replicate days each
        d = date(2024, 3, 4) + timedelta(days=k)
        for _ in range(60):
            alarmed += any(r.alarm for r in det.test_counts(d, draw(rng, d)))
            days += 1
        for (cat, region), y in draw(rng, d).items():
            det.seed_daily_count(cat, region, d, y)
    rate = alarmed / days
    assert rate <= 1.3 * alpha, rate  # Bonferroni + discreteness: at or below alpha, with sampling slack


def test_streaming_scan_finds_an_intraday_surge_and_keeps_one_key() -> None:
    det = seeded(date(2024, 9, 2), min_profile_events=0, looks_per_day=24, seed=4)
    rng = np.random.default_rng(5)
    events: list[OrderEvent] = []
    for k in range(3):
        d = date(2024, 9, 2) + timedelta(days=k)
        for (cat, region), y in draw(rng, d).items():
            extra = 30 if (k == 1 and (cat, region) == ("power", "D2")) else 0
            for i in range(y + extra):
                hour = 9 + (i * 7) % 10 if not (extra and i >= y) else 10 + (i - y) / 15
                at = datetime(d.year, d.month, d.day, tzinfo=TZ) + timedelta(hours=hour)
                events.append(ev(f"{d}-{cat}-{region}-{i}", at, region=region, category=cat))
    events.sort(key=lambda e: e.at)
    cands = replay([det], events, scan_every=timedelta(hours=1), until=datetime(2024, 9, 5, 1, tzinfo=TZ))
    assert {c.dedup_key for c in cands} == {"spike:power:D2:2024-09-03"}
    assert min(c.detected_at for c in cands) <= datetime(2024, 9, 3, 13, tzinfo=TZ)


def test_spike_needs_history() -> None:
    det = SpikeDetector()
    assert det.baseline(date(2024, 1, 1)) == {} and det.test_counts(date(2024, 1, 1), {("a", "b"): 99}) == []
    with pytest.raises(ValueError):
        SpikeDetector(alpha=0)
    assert BaselineConfig().level_days == 28


# ------------------------------------------------------------------------------------- merge
def cand(key: str, orders: tuple[str, ...], det: str = "cluster", region: str = "D1", minute: int = 0) -> AlertCandidate:
    at = T0 + timedelta(minutes=minute)
    return AlertCandidate(det, key, "x.y", region, "power", 2, orders, {"n": len(orders)}, T0, at)


def test_merge_attaches_by_key_and_by_overlap_and_is_idempotent() -> None:
    live = [LiveAlert("A1", "cluster:D1:o1", "D1", frozenset({"o1", "o2", "o3"}), T0)]
    res = merge_into_live([
        cand("cluster:D1:o1", ("o1", "o2", "o3", "o4")),                # same key → attach o4
        cand("spike:power:D1:2024-09-02", ("o1", "o2", "o5"), "spike"),  # ⅔ already in A1 → attach o5
        cand("repeat:caller:1:o9", ("o9", "o10", "o11"), "repeat"),      # unrelated → new
        cand("repeat:caller:1:o9", ("o9", "o10", "o11", "o12"), "repeat", minute=5),  # same batch → combined
    ], live)
    assert [(a.alert_id, a.new_order_ids) for a in res.attach] == [("A1", ("o4", "o5"))]
    assert len(res.new) == 1 and res.new[0].order_ids == ("o9", "o10", "o11", "o12")
    assert res.attach[0].candidate.evidence["also_detected_by"] == ["spike"]
    again = merge_into_live([cand("cluster:D1:o1", ("o1", "o2"))], live)
    assert again.attach == () and again.new == ()


def test_merge_ignores_other_regions_and_stale_alerts() -> None:
    live = [LiveAlert("A1", "k", "D1", frozenset({"o1", "o2"}), T0)]
    assert len(merge_into_live([cand("other", ("o1", "o2"), region="D2")], live).new) == 1
    res = merge_into_live([cand("k", ("o3",))], live, now=T0 + timedelta(days=10), stale_after=timedelta(days=7))
    assert len(res.new) == 1 and res.attach == ()


def test_a_closed_alert_does_not_absorb_a_new_episode() -> None:
    book = AlertBook()
    book.apply([cand("k", ("o1",))], T0)
    book.close("A1")
    book.apply([cand("k", ("o2",))], T0 + timedelta(hours=1))
    assert [a.alert_id for a, _ in book.alerts] == ["A1", "A2"]


def test_a_spike_over_the_cell_day_of_a_live_cluster_attaches_to_it() -> None:
    live = [LiveAlert("A1", "cluster:D1:o1", "D1", frozenset({"o1", "o2", "o3", "o4"}), T0, category="power")]
    spike = cand("spike:power:D1:2024-09-02", tuple(f"o{i}" for i in range(1, 21)), "spike")
    assert [a.alert_id for a in merge_into_live([spike], live).attach] == ["A1"]
    other_category = LiveAlert("A1", "k", "D1", frozenset({"o1", "o2", "o3", "o4"}), T0, category="water")
    assert len(merge_into_live([spike], [other_category]).new) == 1


def test_replay_since_drops_candidates_of_an_earlier_scan() -> None:
    calls = [ev(f"r{i}", T0 + timedelta(days=i), subjects=("caller:1",)) for i in range(4)]
    assert len(replay([RepeatAppealDetector()], calls, scan_every=timedelta(hours=1))) == 2
    late = replay([RepeatAppealDetector()], calls, scan_every=timedelta(hours=1), since=T0 + timedelta(days=3))
    assert [c.order_ids for c in late] == [("r0", "r1", "r2", "r3")]
