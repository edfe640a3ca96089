"""Risk early-warning evaluation: replay a seeded synthetic hotline stream with planted events,
then cluster the real Teddy Cup 2020 C hot-issue messages.

    .venv/bin/python bench/risk_eval.py            # full run (≈1–2 min on 2 cores)
    .venv/bin/python bench/risk_eval.py --quick    # 3 eval weeks, no real data

Synthetic stream (seed 20240902): 12 districts × 16 business categories, ~950 orders/day with
weekday, holiday (named: Spring Festival much quieter, National Day busier for consumer/tourism),
seasonal (summer power, school start, heating in late October) and negative-binomial noise.
History 2021-09-01 → 2024-08-04 is seeded as daily counts, 2024-08-05 → 2024-09-01 is replayed
order by order as warm-up, 2024-09-02 → 2024-10-27 (8 weeks incl. Mid-Autumn, National Day and
two 调休 Sundays/Saturdays) is evaluated. Planted: spikes (extra orders in one category ×
district over a day), clusters (20–40 calls about one incident within an hour), repeat callers
(3–5 calls in ≤ 25 days), handling loops (3 returns/reopens/overdue). Background has natural
second calls and single returns/reopens so the thresholds are exercised. A second replay without
planted events measures ordinary-weeks false alarms, and replicated ordinary days measure the
spike test's per-day family-wise false-alarm rate against alpha. A naive fixed-multiplier spike
rule (count ≥ 2 × 28-day mean and ≥ 5, end of day) runs on the same stream as the reference.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from minxin.core.risk.alerts import AlertBook, AlertCandidate, EventKind, OrderEvent
from minxin.core.risk.baseline import BaselineConfig, china_calendar_sets
from minxin.core.risk.cluster import ClusterDetector
from minxin.core.risk.repeat import OverdueChainDetector, RepeatAppealDetector
from minxin.core.risk.spike import SpikeDetector
from minxin.core.risk.subjects import subject_keys
from minxin.core.risk.tagging import OrderSnapshot, compile_taxonomy, tag
from minxin.risk.taxonomy_file import load_taxonomy_file

TZ = ZoneInfo("Asia/Shanghai")
HIST_START, WARM_START, EVAL_START = date(2021, 9, 1), date(2024, 8, 5), date(2024, 9, 2)
REAL = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "teddycup2020c_hotspot_fj3" / "附件3.csv"
)
HOLIDAYS, MAKEUP, NAMES = china_calendar_sets(HIST_START, date(2024, 12, 31))

REGIONS = [f"D{i:02d}" for i in range(1, 13)]
REGION_W = np.array([0.14, 0.12, 0.11, 0.10, 0.09, 0.09, 0.08, 0.07, 0.06, 0.06, 0.04, 0.04])
COMMUNITIES = [
    "幸福里",
    "锦绣花园",
    "阳光新城",
    "金桂苑",
    "翠湖湾",
    "华庭雅苑",
    "丽景华庭",
    "书香门第",
    "学府佳苑",
    "滨江一号",
    "城市花园",
    "枫林绿洲",
    "紫荆苑",
    "梧桐郡",
    "香樟园",
    "龙湖春江",
    "万科城",
    "保利香槟",
    "中海国际",
    "碧桂园",
    "金色家园",
    "和平小区",
    "红星新村",
    "建设新村",
    "纺织宿舍",
    "铁路新村",
    "电力小区",
    "教师公寓",
    "水岸名居",
    "凤凰城",
    "星河湾",
    "御景湾",
    "天鹅湖",
    "春天花园",
    "南湖小区",
    "北苑小区",
    "西城佳园",
    "东湖雅居",
    "荷塘月色",
    "桃源居",
    "怡景苑",
    "嘉和园",
    "世纪花城",
    "青年公寓",
    "白鹭洲",
    "清水湾",
    "玉兰苑",
    "丹桂园",
]
ROADS = [
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "滨江路",
    "长江路",
    "黄河路",
    "朝阳路",
    "新华路",
    "胜利路",
    "五一路",
    "八一路",
    "芙蓉路",
    "湘江路",
    "劳动路",
    "东风路",
    "迎宾路",
    "车站路",
]
PRE = ["", "您好，", "我想反映一下，", "市民来电反映：", "来电人称", "你好，我是附近居民，"]
POST = ["", "，请尽快处理", "，希望相关部门管一管", "，谢谢", "，麻烦核实一下", "，请给个答复"]


@dataclass(frozen=True)
class Cat:
    code: str
    base: float  # city-wide orders per ordinary weekday
    weekend: float
    holiday: float
    night: bool
    templates: tuple[str, ...]
    season: tuple[tuple[int, float], ...] = ()  # (month, multiplier)
    by_name: tuple[tuple[str, float], ...] = (("Spring Festival", 0.55),)


CATS = [
    Cat(
        "power",
        120,
        0.9,
        0.8,
        False,
        (
            "{c}{b}栋家里突然停电了",
            "{c}电压不稳，灯一闪一闪的",
            "{r}电线杆上的电线垂下来了",
            "申请{c}{b}栋电表更换",
            "咨询这个月电费为什么这么高",
            "{c}{b}栋电表跳闸后一直没电",
        ),
        ((7, 1.6), (8, 1.5), (1, 1.2)),
    ),
    Cat(
        "water",
        60,
        0.9,
        0.8,
        False,
        (
            "{c}{b}栋停水了没有接到通知",
            "{c}水压太低，楼上没水",
            "{r}自来水管漏水",
            "自来水发黄，{c}{b}栋",
            "咨询{c}水费缴纳",
        ),
    ),
    Cat(
        "gas",
        30,
        0.9,
        0.8,
        False,
        ("{c}燃气费缴纳咨询", "燃气灶打不着火，{c}{b}栋", "申请开通燃气", "{c}燃气表故障"),
        ((12, 1.3), (1, 1.4), (2, 1.3)),
    ),
    Cat(
        "heating",
        4,
        1,
        1,
        False,
        ("{c}{b}栋暖气不热，室温只有{n}度", "什么时候开始供暖", "{c}暖气漏水"),
        ((10, 2.0), (11, 8.0), (12, 6.0), (1, 6.0), (2, 5.0), (3, 2.0)),
    ),
    Cat(
        "noise",
        90,
        1.3,
        1.2,
        True,
        (
            "{c}楼下烧烤店噪音扰民，晚上{n}点还很吵",
            "{r}工地夜间施工噪音大",
            "{c}{b}栋楼上装修噪音太大",
            "{c}广场舞音响太大声",
        ),
        ((6, 1.2), (7, 1.3), (8, 1.3)),
    ),
    Cat(
        "property",
        100,
        0.7,
        0.6,
        False,
        (
            "小区物业不作为，楼道垃圾没人清理，{c}",
            "小区物业乱收停车费（{c}）",
            "{c}{b}栋电梯经常出故障，物业不修",
            "{c}的物业费上涨不合理",
            "{c}小区绿化被破坏",
        ),
    ),
    Cat(
        "traffic",
        70,
        0.8,
        1.3,
        False,
        (
            "{r}和{r2}路口经常堵车",
            "{r}公交站台损坏",
            "{r}{n}路公交车不按时发车",
            "{r}违章停车严重",
            "建议{r}增设红绿灯",
        ),
    ),
    Cat(
        "consumer",
        80,
        1.1,
        1.3,
        False,
        (
            "在{r}商场买的衣服质量有问题商家不退货",
            "{c}附近超市卖过期食品",
            "网购商品质量问题投诉",
            "{r}餐馆收费不明码标价",
            "{r}的手机维修点乱收费",
        ),
        (),
        (("Spring Festival", 1.0), ("National Day", 1.9)),
    ),
    Cat(
        "tourism",
        15,
        1.5,
        2.5,
        False,
        ("{r}景区门票价格不合理", "旅行社强制购物", "景区停车收费过高", "酒店预订后被取消"),
        (),
        (("Spring Festival", 0.8), ("National Day", 1.6)),
    ),
    Cat(
        "labour",
        60,
        0.4,
        0.3,
        False,
        ("公司拖欠我{n}个月工资", "单位不给交社保", "被公司无故辞退要求补偿", "工地老板拖欠工钱"),
        ((1, 2.0), (12, 1.4)),
    ),
    Cat(
        "housing",
        50,
        0.5,
        0.4,
        False,
        ("{c}开发商延期交房", "{c}房屋质量问题墙面渗水", "{c}{b}栋办不了房产证", "咨询公租房申请条件"),
    ),
    Cat(
        "environment",
        40,
        1,
        0.9,
        False,
        ("{r}附近工厂排放废气", "{c}附近垃圾站臭味很大", "{r}河道有污水排放", "{r}建筑工地扬尘严重"),
    ),
    Cat(
        "education",
        40,
        0.5,
        0.4,
        False,
        ("咨询{c}对口小学入学", "{r}学校周边交通拥堵", "学校乱收费", "幼儿园学位紧张"),
        ((8, 1.8), (9, 1.5), (7, 0.7)),
    ),
    Cat(
        "health",
        40,
        0.7,
        0.6,
        False,
        ("{r}医院挂号难", "医保报销咨询", "{c}社区卫生服务中心服务态度差", "疫苗接种咨询"),
    ),
    Cat(
        "city_mgmt",
        100,
        0.8,
        0.8,
        False,
        ("{r}占道经营严重", "{c}门口垃圾堆放", "{r}路灯坏了", "{r}人行道破损", "{c}违章搭建"),
    ),
    Cat(
        "social_security",
        50,
        0.3,
        0.2,
        False,
        ("咨询养老保险缴费", "社保卡办理咨询", "医保异地就医备案", "失业金申领咨询"),
    ),
]
CAT = {c.code: c for c in CATS}
DAY_HOURS = np.array(
    [0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.6, 2, 6, 9, 9.5, 8, 5, 6, 8, 8.5, 8, 7, 4, 3.5, 3.5, 3, 2, 1]
)
NIGHT_HOURS = np.array([6, 4, 2, 1, 0.5, 0.3, 0.3, 0.8, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3.5, 4, 5, 7, 9, 10, 9])
DISPERSION = 0.04

INCIDENTS = {  # planted clusters: category and caller phrasings of one incident at {X} / {R}
    "power": (
        "{X}{b}栋突然停电了",
        "{X}整个小区都停电了什么时候来电",
        "我家在{X}，刚才一下子全黑了，没电了",
        "{X}这边停电{n}分钟了，冰箱里东西要坏了",
        "{R}{X}附近一片都停电了",
        "请问{X}停电是怎么回事",
        "{X}又停电了，家里有老人",
        "{X}{b}栋没电了，电梯也停了",
    ),
    "water": (
        "{R}路面冒水，水管爆了",
        "{R}{X}门口自来水管爆裂，水流成河",
        "{X}突然停水了，听说{R}爆管了",
        "{R}上到处是水，管道爆裂了",
        "{R}靠近{X}的地方水管破了，水很大",
        "{X}停水了，{R}在冒水",
    ),
    "gas": (
        "{X}{b}栋楼道里有很浓的煤气味",
        "{X}闻到煤气味，是不是燃气泄漏",
        "{X}{b}栋附近燃气味很重",
        "{X}这边一股煤气味，很担心",
        "{R}{X}燃气管道好像漏气了",
    ),
    "traffic": (
        "{R}和{R2}路口红绿灯不亮了，车都堵死了",
        "{R}{R2}交叉口信号灯坏了",
        "{R}与{R2}路口红绿灯故障，很危险",
        "{R2}{R}路口没有红绿灯了，交通乱",
    ),
    "city_mgmt": (
        "{R}{X}那边冒浓烟，好像着火了",
        "{X}旁边有一栋楼在冒烟",
        "{R}上看到{X}方向浓烟滚滚",
        "{X}附近着火了，烟很大",
    ),
}


@dataclass
class Planted:
    kind: str  # spike | cluster | repeat | chain
    orders: set[str]
    start: datetime
    due: datetime  # the earliest moment the event is detectable (3rd call, 3rd step; start otherwise)
    info: str
    cell: tuple[str, str] | None = None  # (category, region) of a spike or cluster
    day: date | None = None


class Stream:
    """Seeded generator of order events (background + planted)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.n = 0
        self.callers: list[tuple[str, str, str, datetime, str]] = []  # phone, address, region, at, category

    def mean(self, cat: Cat, day: date) -> float:
        """City-wide expected count of ``cat`` on ``day`` (weekday × holiday × season × trend)."""
        m = cat.base * (1 + 0.04 * (day - HIST_START).days / 365)
        if day in HOLIDAYS:
            m *= cat.holiday * dict(cat.by_name).get(NAMES.get(day, ""), 1.0)
        elif day.weekday() >= 5 and day not in MAKEUP:
            m *= cat.weekend
        season = dict(cat.season)
        m *= season.get(day.month, 1.0)
        if cat.code == "heating" and day.month == 10:  # ramp inside October
            m *= 0.5 + 3 * max(0, day.day - 15) / 16
        return m

    def counts(self, day: date) -> dict[tuple[str, str], int]:
        out = {}
        for cat in CATS:
            mu = self.mean(cat, day) * REGION_W
            lam = self.rng.gamma(1 / DISPERSION, mu * DISPERSION)
            for region, y in zip(REGIONS, self.rng.poisson(lam), strict=True):
                out[(cat.code, region)] = int(y)
        return out

    def _text(self, templates: tuple[str, ...], **slots: str) -> str:
        r = self.rng
        t = templates[r.integers(len(templates))]
        fill = {
            "c": COMMUNITIES[r.integers(len(COMMUNITIES))],
            "r": ROADS[r.integers(len(ROADS))],
            "r2": ROADS[r.integers(len(ROADS))],
            "b": str(r.integers(1, 30)),
            "n": str(r.integers(2, 12)),
        }
        fill.update(slots)
        return PRE[r.integers(len(PRE))] + t.format(**fill) + POST[r.integers(len(POST))]

    def order(
        self,
        at: datetime,
        cat: str,
        region: str,
        text: str,
        phone: str | None = None,
        address: str | None = None,
    ) -> OrderEvent:
        self.n += 1
        r = self.rng
        phone = phone or f"1{r.integers(3, 9)}{r.integers(10**8, 10**9)}"
        address = address or (
            f"{region}区{ROADS[r.integers(len(ROADS))]}{COMMUNITIES[r.integers(len(COMMUNITIES))]}"
            f"{r.integers(1, 30)}栋{r.integers(1, 5)}单元{r.integers(101, 2999)}室"
        )
        return OrderEvent(
            f"O{self.n}", at, EventKind.CREATED, region, cat, text, subject_keys(phone, address, text)
        )

    def day_events(self, day: date, counts: dict[tuple[str, str], int]) -> list[OrderEvent]:
        """Background orders of one day plus natural second calls and single chain steps."""
        r = self.rng
        out: list[OrderEvent] = []
        t0 = datetime(day.year, day.month, day.day, tzinfo=TZ)
        for (code, region), y in counts.items():
            cat = CAT[code]
            prof = NIGHT_HOURS if cat.night else DAY_HOURS
            hours = r.choice(24, size=y, p=prof / prof.sum())
            for h in hours:
                at = t0 + timedelta(hours=int(h), seconds=int(r.integers(3600)))
                text = self._text(cat.templates)
                if self.callers and r.random() < 0.04:  # a natural second call (never a third)
                    i = int(r.integers(len(self.callers)))
                    phone, addr, reg, first, c0 = self.callers.pop(i)
                    if (at - first).days <= 20 and reg == region and c0 == code:
                        out.append(self.order(at, code, region, "再次反映：" + text, phone, addr))
                        continue
                ev = self.order(at, code, region, text)
                out.append(ev)
                if r.random() < 0.1:
                    self.callers.append((ev.subjects[0][7:], ev.subjects[1][5:], region, at, code))
                step = r.random()
                steps = (
                    (EventKind.RETURNED,)
                    if step < 0.06
                    else (EventKind.REOPENED,)
                    if step < 0.08
                    else (EventKind.OVERDUE,)
                    if step < 0.095
                    else (EventKind.RETURNED, EventKind.REOPENED)
                    if step < 0.1
                    else ()
                )
                for kind in steps:  # at most two steps: below the chain threshold of 3
                    out.append(
                        OrderEvent(
                            ev.order_id, at + timedelta(days=1 + int(r.integers(4))), kind, region, code
                        )
                    )
        self.callers = [c for c in self.callers if (t0 - c[3]).days <= 20][-3000:]
        return out


# ------------------------------------------------------------------------------------- planting
def _at(day: date, hour: float) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=TZ) + timedelta(hours=hour)


def plant(stream: Stream, eval_days: list[date]) -> tuple[list[OrderEvent], list[Planted]]:
    """Planted events spread over the evaluated weeks (fixed days, seeded details)."""
    r, out, planted = stream.rng, [], []
    last = eval_days[-1]
    spikes = [
        ("property", "D02", 8),
        ("noise", "D05", 19),
        ("consumer", "D01", 31),
        ("environment", "D07", 27),
        ("water", "D04", 44),
        ("education", "D09", 2),
        ("labour", "D03", 51),
        ("traffic", "D06", 37),
    ]
    for code, region, k in spikes:
        day = EVAL_START + timedelta(days=k)
        if day > last:
            continue
        mean = stream.mean(CAT[code], day) * REGION_W[REGIONS.index(region)]
        extra = round(2.5 * mean + 8)
        evs = [
            stream.order(_at(day, float(h)), code, region, stream._text(CAT[code].templates))
            for h in np.sort(r.uniform(8, 20, extra))
        ]
        out += evs
        planted.append(
            Planted(
                "spike", {e.order_id for e in evs}, evs[0].at, evs[0].at, f"{code}×{region} +{extra} on {day}",
                (code, region), day,
            )
        )
    clusters = [
        ("power", "D03", 5, 14.2, 30),
        ("water", "D08", 16, 9.5, 24),
        ("gas", "D01", 23, 19.0, 20),
        ("traffic", "D10", 34, 17.5, 22),
        ("city_mgmt", "D02", 41, 11.0, 26),
        ("power", "D11", 48, 20.5, 40),
    ]
    for code, region, k, hour, n in clusters:
        day = EVAL_START + timedelta(days=k)
        if day > last:
            continue
        x, rr, r2 = (
            COMMUNITIES[r.integers(len(COMMUNITIES))],
            ROADS[r.integers(len(ROADS))],
            ROADS[r.integers(len(ROADS))],
        )
        times = np.sort(r.uniform(0, 0.75, n)) + hour
        evs = [
            stream.order(
                _at(day, float(t)),
                code,
                region,
                stream._text(INCIDENTS[code], X=x, R=rr, R2=r2),
                address=f"{region}区{rr}{x}{r.integers(1, 30)}栋{r.integers(101, 2999)}室",
            )
            for t in times
        ]
        out += evs
        planted.append(
            Planted(
                "cluster",
                {e.order_id for e in evs},
                evs[0].at,
                evs[0].at,
                f"{code} incident in {region}: {n} calls",
                (code, region),
                day,
            )
        )
    for i in range(8):
        code = ["noise", "property", "water", "housing", "labour", "environment", "city_mgmt", "noise"][i]
        region = REGIONS[(i * 5) % 12]
        phone, addr = f"1390000{i:04d}", f"{region}区{ROADS[i]}{COMMUNITIES[i]}{i + 1}栋{101 + i}室"
        start = _at(EVAL_START + timedelta(days=2 + 6 * i), 9 + i)
        offs = np.sort(r.uniform(0, 20, 2 + int(r.integers(1, 4))))
        core = stream._text(CAT[code].templates)
        evs = [stream.order(start, code, region, core, phone, addr)]
        evs += [
            stream.order(
                start + timedelta(days=float(o) + 0.1), code, region, f"第{j + 2}次反映：{core}", phone, addr
            )
            for j, o in enumerate(offs)
        ]
        if evs[2].at.date() > last:
            continue
        out += evs
        planted.append(
            Planted(
                "repeat", {e.order_id for e in evs}, evs[0].at, evs[2].at, f"caller with {len(evs)} calls"
            )
        )
    for i in range(6):
        code, region = CATS[i * 2].code, REGIONS[(i * 7) % 12]
        created = _at(EVAL_START + timedelta(days=3 + 8 * i), 10)
        ev = stream.order(created, code, region, stream._text(CAT[code].templates))
        kinds = [EventKind.RETURNED, EventKind.RETURNED, EventKind.REOPENED if i % 2 else EventKind.OVERDUE]
        steps = [
            OrderEvent(ev.order_id, created + timedelta(days=d), k, region, code)
            for d, k in zip((1, 2.5, 6), kinds, strict=True)
        ]
        if steps[-1].at.date() > last:
            continue
        out += [ev, *steps]
        planted.append(
            Planted("chain", {ev.order_id}, created, steps[-1].at, f"order returned/reopened ×3 ({code})")
        )
    return out, planted


# ------------------------------------------------------------------------------------- replay
def build_stream(seed: int, weeks: int, with_plants: bool):
    """History daily counts, warm-up + eval events (time-ordered) and the planted events."""
    stream = Stream(seed)
    history: dict[tuple[str, str], dict[date, int]] = defaultdict(dict)
    d = HIST_START
    while d < WARM_START:
        for cell, y in stream.counts(d).items():
            history[cell][d] = y
        d += timedelta(days=1)
    eval_days = [EVAL_START + timedelta(days=i) for i in range(7 * weeks)]
    events: list[OrderEvent] = []
    background = {cell: dict(series) for cell, series in history.items()}
    d = WARM_START
    while d <= eval_days[-1]:
        counts = stream.counts(d)
        for cell, y in counts.items():
            background[cell][d] = y
        events += stream.day_events(d, counts)
        d += timedelta(days=1)
    planted: list[Planted] = []
    if with_plants:
        extra, planted = plant(stream, eval_days)
        events += extra
    end = _at(eval_days[-1] + timedelta(days=1), 1)
    events = sorted((e for e in events if e.at < end), key=lambda e: e.at)
    return history, events, planted, eval_days, background


def make_detectors(history) -> dict[str, object]:
    spike = SpikeDetector(alpha=0.01, holidays=HOLIDAYS, makeup_workdays=MAKEUP, holiday_names=NAMES)
    nocal = SpikeDetector(alpha=0.01, config=BaselineConfig(years=0))  # ablation: no holidays, no past years
    for (cat, region), series in history.items():
        for day, y in series.items():
            spike.seed_daily_count(cat, region, day, y)
            nocal.seed_daily_count(cat, region, day, y)
    return {
        "spike": spike,
        "spike_nocal": nocal,
        "cluster": ClusterDetector(),
        "repeat": RepeatAppealDetector(),
        "chain": OverdueChainDetector(),
    }


def replay_all(history, events: list[OrderEvent]) -> tuple[dict[str, list[AlertCandidate]], dict, float]:
    """Run every detector over the stream (hourly scans); candidates from the eval period only."""
    dets = make_detectors(history)
    cands: dict[str, list[AlertCandidate]] = defaultdict(list)
    daily: dict[tuple[str, str], Counter[date]] = defaultdict(Counter)
    start_eval = _at(EVAL_START, 0)
    next_scan = _at(WARM_START, 1)
    t0 = time.perf_counter()
    for ev in events:
        while ev.at >= next_scan:
            for name, det in dets.items():
                got = det.scan(next_scan)
                if next_scan > start_eval:
                    cands[name] += got
            next_scan += timedelta(hours=1)
        if ev.kind == EventKind.CREATED:
            daily[(ev.category, ev.region)][ev.at.astimezone(TZ).date()] += 1
        for name, det in dets.items():
            got = det.observe(ev)
            if ev.at >= start_eval:
                cands[name] += got
    for name, det in dets.items():
        cands[name] += det.scan(next_scan)
    return cands, daily, (time.perf_counter() - t0) / max(1, len(events)) * 1e6


def naive_spikes(daily, eval_days: list[date]) -> list[tuple[str, str, date, list]]:
    """Reference: end-of-day count ≥ 2 × the cell's 28-day mean, ≥ 5 and ≥ mean + 3."""
    out = []
    for cell, series in daily.items():
        for d in eval_days:
            y = series.get(d, 0)
            mean = sum(series.get(d - timedelta(days=k), 0) for k in range(1, 29)) / 28
            if y >= 5 and y >= 2 * mean and y >= mean + 3:
                out.append((cell[0], cell[1], d, []))
    return out


# ----------------------------------------------------------------------------------- evaluation
BUDGET = {
    "spike": timedelta(hours=24),
    "cluster": timedelta(hours=1),
    "repeat": timedelta(hours=1),
    "chain": timedelta(hours=1),
}


def match(orders: set[str] | frozenset[str], p: Planted) -> bool:
    """An alert (or candidate) is about planted event p when it holds at least half of the smaller set."""
    inter = len(p.orders & orders)
    return inter >= max(1, min(len(orders), len(p.orders)) // 2)


def evaluate(cands: list[AlertCandidate], planted: list[Planted], kind: str | None) -> dict:
    """Apply candidates to an AlertBook in time order; score alerts against planted events."""
    book = AlertBook()
    first: dict[int, datetime] = {}
    for c in sorted(cands, key=lambda c: c.detected_at):
        book.apply([c], c.detected_at)
        ids = set(c.order_ids)
        for i, p in enumerate(planted):
            if i not in first and match(ids, p):
                first[i] = c.detected_at
    alerts = [a for a, _ in book.alerts]
    scope = [i for i, p in enumerate(planted) if kind is None or p.kind == kind]
    hits = [i for i in scope if i in first and first[i] - planted[i].due <= BUDGET[planted[i].kind]]
    delays = [(first[i] - planted[i].due).total_seconds() / 60 for i in hits]
    exact = [i for i in scope if sum(match(a.order_ids, planted[i]) for a in alerts) == 1]
    true_alerts = sum(any(match(a.order_ids, p) for p in planted) for a in alerts)
    return {
        "alerts": len(alerts),
        "true_alerts": true_alerts,
        "events": len(scope),
        "found": len(hits),
        "exactly_one": len(exact),
        "median_delay_min": statistics.median(delays) if delays else None,
        "max_delay_min": max(delays) if delays else None,
        "by_detector": Counter(c.detector for _, c in book.alerts),
        "book": book,
    }


def fwer(background, stream_seed: int, days: list[date], reps: int) -> tuple[float, int]:
    """Per-day family-wise false-alarm rate of one end-of-day look (looks_per_day=1) on ordinary days:
    the detector learns the real history up to each day, then tests ``reps`` fresh draws of that day."""
    det = SpikeDetector(
        alpha=0.01, looks_per_day=1, holidays=HOLIDAYS, makeup_workdays=MAKEUP, holiday_names=NAMES
    )
    for (cat, region), series in background.items():
        for day, y in series.items():
            if day < days[0]:
                det.seed_daily_count(cat, region, day, y)
    sim = Stream(stream_seed + 1)
    alarms = total = 0
    for d in days:
        if d != days[0]:
            for (cat, region), series in background.items():
                det.seed_daily_count(cat, region, d - timedelta(days=1), series.get(d - timedelta(days=1), 0))
        for _ in range(reps):
            res = det.test_counts(d, sim.counts(d))
            alarms += any(r.alarm for r in res)
            total += 1
    return alarms / total, total


# ------------------------------------------------------------------------------------ real data
def _parse_time(s: str) -> datetime | None:
    s = s.strip()
    for fmt in (
        "%Y/%m/%d %H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d",
        "%Y-%m-%d",
    ):
        try:
            return datetime.strptime(s, fmt).replace(tzinfo=TZ)
        except ValueError:
            continue
    return None


def naive_tag_us(texts: list[str], taxonomy) -> float:
    """Reference: test every phrase of every rule with ``in`` (no automaton, no negation)."""
    rules = [(lb.code, r) for lb in taxonomy.taxonomy.labels for r in lb.rules if r.keywords]
    t0 = time.perf_counter()
    for text in texts:
        norm = "".join(text.lower().split())
        _ = [c for c, r in rules if any(k in norm for k in r.keywords) and (not r.require or any(k in norm for k in r.require))]
    return (time.perf_counter() - t0) / len(texts) * 1e6


def real_hot_issues(path: Path, top: int = 8) -> dict | None:
    """Cluster the Teddy Cup 附件3 messages (30-day window, city-wide) and rank clusters by likes."""
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    taxonomy = compile_taxonomy(load_taxonomy_file())
    label_counts: Counter[str] = Counter()
    events, info = [], {}
    texts = [row["留言主题"].strip() + "。" + " ".join(row["留言详情"].split()) for row in rows]
    t0 = time.perf_counter()
    for row, text in zip(rows, texts, strict=True):
        label_counts.update(t.label_code for t in tag(OrderSnapshot(row["留言编号"], text), taxonomy))
    tag_us = (time.perf_counter() - t0) / len(rows) * 1e6
    naive_us = naive_tag_us(texts, taxonomy)
    for row in rows:
        at = _parse_time(row["留言时间"])
        if at is None:
            continue
        oid = row["留言编号"]
        info[oid] = (row["留言主题"].strip(), int(row["点赞数"] or 0), at)
        events.append(OrderEvent(oid, at, EventKind.CREATED, "A市", "", row["留言主题"].strip()))
    events.sort(key=lambda e: e.at)
    # messages of a year, not calls of an hour: a 30-day window, a 180-day background, no peak factor,
    # titles only (details are long and dilute the shared words), a stricter link threshold
    det = ClusterDetector(window=timedelta(days=30), background=timedelta(days=180), peak_factor=1.0,
                          keep=timedelta(days=90), threshold=0.4, idf_horizon=timedelta(days=400),
                          p_threshold=1e-6)
    book = AlertBook()
    for ev in events:
        got = det.observe(ev)
        if got:
            book.apply(got, ev.at)
    clustered = {o for a, _ in book.alerts for o in a.order_ids}
    car_loan = [o for o, (title, _, _) in info.items() if "58车贷" in title]
    ranked = []
    for alert, _ in book.alerts:
        ids = sorted(alert.order_ids, key=lambda o: -info[o][1])
        likes = sum(info[o][1] for o in ids)
        times = sorted(info[o][2] for o in ids)
        heat = len(ids) + math.log1p(likes) * 3
        ranked.append(
            (heat, len(ids), likes, times[0].date(), times[-1].date(), [info[o][0] for o in ids[:3]])
        )
    ranked.sort(reverse=True)
    return {
        "rows": len(rows),
        "clusters": len(ranked),
        "top": ranked[:top],
        "tag_us": tag_us,
        "naive_us": naive_us,
        "mean_chars": sum(map(len, texts)) / len(texts),
        "liked_outside": sorted(((info[o][1], info[o][0]) for o in info if o not in clustered), reverse=True)[:5],
        "labels": label_counts.most_common(8),
        "tagged": sum(label_counts.values()),
        "car_loan": (len(car_loan), sum(o in clustered for o in car_loan), sum(info[o][1] for o in car_loan)),
        "in_clusters": len(clustered),
    }


# ------------------------------------------------------------------------------------------ main
def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.0f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=20240902)
    ap.add_argument("--weeks", type=int, default=8)
    ap.add_argument("--quick", action="store_true", help="3 weeks, few FWER replicates, no real data")
    ap.add_argument("--fwer-reps", type=int, default=60)
    args = ap.parse_args(argv)
    weeks = 3 if args.quick else args.weeks
    t_start = time.perf_counter()
    print(f"# Risk early-warning evaluation (seed {args.seed}, {weeks} eval weeks from {EVAL_START})\n")
    history, events, planted, eval_days, _ = build_stream(args.seed, weeks, True)
    n_created = sum(e.kind == EventKind.CREATED for e in events)
    cands, daily, us = replay_all(history, events)
    print(
        f"stream: {n_created} orders replayed ({len(events)} events incl. returns/reopens), "
        f"{len(planted)} planted events; {us:.0f} µs per event for all five detectors\n"
    )
    print(
        "| detector | planted | found in budget | exactly one alert | alerts | true alerts | precision | "
        "median delay (min) | max delay (min) | budget |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, kind in (
        ("spike", "spike"),
        ("spike_nocal", "spike"),
        ("cluster", "cluster"),
        ("repeat", "repeat"),
        ("chain", "chain"),
    ):
        r = evaluate(cands[name], planted, kind)
        prec = r["true_alerts"] / r["alerts"] if r["alerts"] else float("nan")
        print(
            f"| {name} | {r['events']} | {r['found']} | {r['exactly_one']} | {r['alerts']} | {r['true_alerts']} | "
            f"{prec:.2f} | {_fmt(r['median_delay_min'])} | {_fmt(r['max_delay_min'])} | "
            f"{BUDGET[kind] / timedelta(hours=1):.0f} h |"
        )
    naive = naive_spikes(daily, eval_days)
    planted_days = {(p.cell, p.day) for p in planted if p.kind == "spike"}
    event_days = {(p.cell, p.day) for p in planted if p.cell}
    naive_found = sum(1 for c, rg, d, _ in naive if ((c, rg), d) in planted_days)
    naive_true = sum(1 for c, rg, d, _ in naive if ((c, rg), d) in event_days)
    print(
        f"| naive 2×28-day mean (end of day) | {len(planted_days)} | {naive_found} | – | {len(naive)} | "
        f"{naive_true} | {naive_true / max(1, len(naive)):.2f} | end of day | end of day | 24 h |"
    )
    combined = [c for n in ("spike", "cluster", "repeat", "chain") for c in cands[n]]
    r = evaluate(combined, planted, None)
    print(
        f"\ncombined board (spike+cluster+repeat+chain, one AlertBook): {r['events']} planted events, "
        f"{r['found']} found in budget, {r['exactly_one']} with exactly one alert; {r['alerts']} alerts, "
        f"{r['alerts'] - r['true_alerts']} not about a planted event; alerts by first detector {dict(r['by_detector'])}"
    )

    history0, events0, _, _, background0 = build_stream(args.seed, weeks, False)
    cands0, daily0, _ = replay_all(history0, events0)
    quiet = {
        n: evaluate(cands0[n], [], None)["alerts"]
        for n in ("spike", "spike_nocal", "cluster", "repeat", "chain")
    }
    naive0 = naive_spikes(daily0, eval_days)
    print(
        f"\nordinary weeks (same generator, nothing planted, {weeks} weeks incl. holidays): false alarms "
        f"{quiet} ; naive 2× rule: {len(naive0)}"
    )
    holiday_naive = sum(1 for _, _, d, _ in naive0 if d in HOLIDAYS)
    print(f"  of the naive rule's false alarms, {holiday_naive} fall on statutory holidays")
    reps = 10 if args.quick else args.fwer_reps
    rate, n = fwer(background0, args.seed, eval_days, reps)
    print(
        f"\nspike test, one end-of-day look, alpha = 0.01 per day over all {len(CATS) * len(REGIONS)} cells: "
        f"observed family-wise false-alarm rate {rate:.4f} over {n} simulated ordinary days"
    )

    if not args.quick:
        real = real_hot_issues(REAL.resolve())
        if real is None:
            print("\nreal data: ../shared/data/teddycup2020c_hotspot_fj3/ absent, skipped")
        else:
            print(
                f"\nreal data: {real['rows']} Teddy Cup 附件3 messages (title + full text, mean "
                f"{real['mean_chars']:.0f} chars); tagging {real['tag_us']:.0f} µs/message against 122 labels "
                f"(naive substring scan of the same phrases: {real['naive_us']:.0f} µs, "
                f"{real['naive_us'] / real['tag_us']:.1f}× slower), {real['tagged']} tags; top labels {real['labels']}"
            )
            n58, c58, l58 = real["car_loan"]
            print(
                f"{real['clusters']} clusters (≥5 similar titles within 30 days, burst test) holding "
                f"{real['in_clusters']} messages; the 58车贷 case: {n58} titles with {l58} likes, {c58} clustered"
            )
            print("top hot issues, ranked by size + 3·ln(1 + likes):\n")
            print("| # | messages | likes | first | last | sample titles |\n|---|---|---|---|---|---|")
            for i, (_, size, likes, first, last, titles) in enumerate(real["top"], 1):
                print(f"| {i} | {size} | {likes} | {first} | {last} | {' / '.join(t[:28] for t in titles)} |")
            print("\nmost-liked messages outside any cluster: "
                  + "; ".join(f"{title[:26]} ({likes})" for likes, title in real["liked_outside"]))
    print(f"\ntotal wall time {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
