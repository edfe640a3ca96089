"""Duplicate index: planted duplicates found, unrelated not, window honoured, sub-linear look-ups."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from functools import partial

import numpy as np
import pytest

from minxin.core.address import AddressResolver
from minxin.core.similarity import (
    MinHasher,
    ScoreWeights,
    combine_score,
    compact_signature,
    estimate_jaccard,
    exact_jaccard,
    normalise_text,
    shingles,
)
from minxin.intake.duplicates import DuplicateConfig, DuplicateIndex, DuplicateRecord
from minxin.intake.regions import load_package_divisions

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
HANZI = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研"


def random_text(rng: random.Random, lo: int, hi: int) -> str:
    return "".join(rng.choice(HANZI) for _ in range(rng.randint(lo, hi)))


def random_records(n: int, seed: int = 1) -> list[DuplicateRecord]:
    rng = random.Random(seed)
    return [
        DuplicateRecord(
            order_id=i,
            created_at=NOW - timedelta(days=rng.uniform(0, 365)),
            title=random_text(rng, 8, 20),
            content=random_text(rng, 30, 150),
            phone=f"1{rng.randint(3, 9)}{rng.randint(0, 10**9 - 1):09d}",
            address=f"随机小区{rng.randint(1, 10**6)}号楼",
            status=rng.choice(["closed", "registered"]),
        )
        for i in range(n)
    ]


HISTORY = [
    DuplicateRecord(1, NOW - timedelta(days=2), "兴华街幸福小区停水三天", "幸福小区3号楼从周一开始停水，已经三天了，物业说不清原因，老人孩子生活困难。", "13812345678", "沈阳市铁西区兴华街幸福小区3号楼", "dispatched", "210106"),
    DuplicateRecord(2, NOW - timedelta(days=40), "兴华街幸福小区停水三天", "幸福小区3号楼从周一开始停水，已经三天了，物业说不清原因。", "13900000000", "沈阳市铁西区兴华街幸福小区3号楼", "closed", "210106"),
    DuplicateRecord(3, NOW - timedelta(days=1), "咨询医保异地报销", "请问在外地住院的医保报销需要哪些材料？", "13700000000", "新民市", "closed", "210181"),
    DuplicateRecord(4, NOW - timedelta(days=3), "路灯不亮", "小区门口路灯坏了一个月。", "13812345678", "康平县某村", "closed", "210123"),
    DuplicateRecord(5, NOW - timedelta(days=5), "噪音扰民", "楼下饭店夜间噪音很大", "13600000000", "沈阳市铁西区兴华街幸福小区3号楼", "closed", "210106"),
]  # fmt: skip


@pytest.fixture
def index() -> DuplicateIndex:
    # The service passes the resolver's place key, so 沈阳市铁西区… and 铁西区… are the same place.
    resolver = AddressResolver.from_records(load_package_divisions())
    place_key = partial(resolver.place_key, default_city_code="2101")
    return DuplicateIndex.build(HISTORY, DuplicateConfig(window=timedelta(days=30)), address_key=place_key)


def test_retold_appeal_finds_the_original_with_reasons(index: DuplicateIndex) -> None:
    matches = index.query(
        "幸福小区停水好几天了",
        "兴华街幸福小区3号楼从周一开始停水已经三天了，物业说不清原因，没人管",
        "138-1234-5678",
        "铁西区兴华街幸福小区3号楼",
        NOW,
    )
    assert matches[0].order_id == 1
    assert matches[0].reasons == ("same_phone", "same_address", "similar_text")
    assert matches[0].score > 0.6
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    by_id = {m.order_id: m for m in matches}
    assert by_id[4].reasons == ("same_phone",)  # same caller, different matter: related
    assert by_id[5].reasons == ("same_address",)
    assert 3 not in by_id  # unrelated


def test_unrelated_appeal_finds_nothing(index: DuplicateIndex) -> None:
    assert index.query("公积金提取", "想咨询公积金提取的流程和材料", "13500000000", "法库县", NOW) == []


def test_window_is_honoured(index: DuplicateIndex) -> None:
    text = ("兴华街幸福小区停水三天", "幸福小区3号楼从周一开始停水，已经三天了，物业说不清原因。")
    assert 2 not in {m.order_id for m in index.query(*text, None, None, NOW)}
    assert 2 in {m.order_id for m in index.query(*text, None, None, NOW, timedelta(days=60))}
    # Order 1 is open, so it stays related even outside the window …
    assert 1 in {m.order_id for m in index.query(*text, None, None, NOW + timedelta(days=90))}
    # … unless the configuration says only the window counts.
    strict = DuplicateIndex.build(HISTORY, DuplicateConfig(include_open_beyond_window=False))
    assert strict.query(*text, None, None, NOW + timedelta(days=90)) == []


def test_add_remove_update_and_limit(index: DuplicateIndex) -> None:
    new = DuplicateRecord(
        9,
        NOW,
        "兴华街幸福小区停水",
        "幸福小区3号楼停水三天了，物业说不清原因",
        "13300000000",
        None,
        "registered",
    )
    index.add(new)
    assert 9 in {
        m.order_id for m in index.query(new.title, new.content, None, None, NOW + timedelta(hours=1))
    }
    assert index.query(new.title, new.content, None, None, NOW, limit=1)[0].order_id in {1, 9}
    assert 9 not in {
        m.order_id for m in index.query(new.title, new.content, None, None, NOW, exclude_order_id=9)
    }
    assert index.update_status(9, "merged")
    assert index.remove(9) and not index.remove(9)
    assert 9 not in {m.order_id for m in index.query(new.title, new.content, None, None, NOW)}
    assert len(index) == len(HISTORY)


def test_delta_and_compaction_give_the_same_answers() -> None:
    records = random_records(3000, seed=5)
    bulk = DuplicateIndex.build(records)
    incremental = DuplicateIndex(DuplicateConfig(compact_every=700))
    for r in records:
        incremental.add(r)
    rng = random.Random(3)
    for r in rng.sample(records, 50):
        q = (r.title, r.content[5:], r.phone, None, NOW)
        assert [m.order_id for m in bulk.query(*q)] == [m.order_id for m in incremental.query(*q)]


def test_naive_timezone_is_refused(index: DuplicateIndex) -> None:
    with pytest.raises(ValueError):
        index.query("a", "b", None, None, datetime(2026, 1, 1))


def test_query_on_50k_inspects_a_small_fraction() -> None:
    """Sub-linear: the number of rows a query looks at, not its time."""
    records = random_records(50_000)
    index = DuplicateIndex.build(records, DuplicateConfig(window=timedelta(days=400)))
    rng = random.Random(9)
    inspected = []
    for r in rng.sample(records, 200):
        res = index.search(r.title, r.content[: len(r.content) * 3 // 4] + "请尽快处理", r.phone, None, NOW)
        assert res.matches and res.matches[0].order_id == r.order_id
        inspected.append(res.candidates)
    for _ in range(100):
        res = index.search(random_text(rng, 8, 20), random_text(rng, 30, 150), None, None, NOW)
        inspected.append(res.candidates)
    assert max(inspected) < 0.002 * len(index)  # fewer than 100 of 50,000 rows
    assert index.memory_bytes() < 400 * len(index)


def test_minhash_estimates_jaccard() -> None:
    hasher = MinHasher(bands=40, rows=5)  # more permutations → tighter estimate
    rng = random.Random(2)
    for _ in range(20):
        a = random_text(rng, 60, 120)
        b = a[: rng.randint(20, 60)] + random_text(rng, 20, 60)
        sa, sb = (hasher.signature(shingles(normalise_text(t))) for t in (a, b))
        assert sa is not None and sb is not None
        est = float(estimate_jaccard(compact_signature(sa), compact_signature(sb))[0])
        assert abs(est - exact_jaccard(a, b)) < 0.15


def test_bulk_signatures_equal_single_ones() -> None:
    hasher = MinHasher()
    rng = random.Random(4)
    texts = [normalise_text(random_text(rng, 0, 300)) for _ in range(300)] + ["", "水"]
    sig, has = hasher.signatures(texts)
    for i, t in enumerate(texts):
        one = hasher.signature(shingles(t))
        assert (one is None) == (not has[i])
        if one is not None:
            assert np.array_equal(sig[i], one)
    assert np.array_equal(hasher.band_keys(sig)[0], hasher.band_keys(sig[0]))


def test_normalise_text() -> None:
    assert normalise_text("ＡＢＣ小区，１２３号！ 2026年") == "abc小区#号#年"
    assert normalise_text("x" * 1000, max_chars=10) == "x" * 10


def test_score_combination() -> None:
    w = ScoreWeights()
    assert combine_score(1.0, True, True, w) == 1.0
    assert combine_score(0.0, True, True, w) == 0.4
    assert combine_score(1.0, False, False, w) == 0.6


def test_bulk_build_keeps_the_last_copy_of_an_order() -> None:
    old = DuplicateRecord(7, NOW - timedelta(days=1), "路灯不亮", "路灯坏了", None, None, "registered")
    new = DuplicateRecord(7, NOW - timedelta(hours=1), "路灯不亮", "路灯坏了", None, None, "closed")
    index = DuplicateIndex.build([old, new])
    assert len(index) == 1
    assert [m.status for m in index.query("路灯不亮", "路灯坏了", None, None, NOW)] == ["closed"]
