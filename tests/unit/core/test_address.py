"""Address resolution: Liaoning counties, short forms, 铁西区 ambiguity, townships, normalisation.

Runs against the package table (cpca's bundled adcodes) and, where ../shared/data is present,
the NBS division table with townships.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minxin.core.address import AddressResolver, Division, DivisionLevel, division_aliases, normalise_address
from minxin.intake.regions import (
    RegionSourceError,
    divisions_from_adcodes,
    dump_simple_csv,
    load_nbs_directory,
    load_package_divisions,
    parse_simple_csv,
)

# tests/unit/core/ → repository root is parents[3]; ../shared sits beside it.
SHARED = Path(
    os.environ.get("MINXIN_SHARED_DATA") or Path(__file__).resolve().parents[3].parent / "shared" / "data"
)
NBS_DIR = SHARED / "cn_admin_divisions"


@lru_cache(maxsize=1)
def package_resolver() -> AddressResolver:
    try:
        return AddressResolver.from_records(load_package_divisions())
    except RegionSourceError as exc:  # pragma: no cover - cpca is a declared dependency
        pytest.skip(str(exc))


@lru_cache(maxsize=1)
def nbs_resolver() -> AddressResolver:
    return AddressResolver.from_records(load_nbs_directory(NBS_DIR))


def _sources() -> list:
    return [
        pytest.param("package", id="package"),
        pytest.param(
            "nbs",
            id="nbs",
            marks=[
                pytest.mark.data,
                pytest.mark.skipif(not NBS_DIR.is_dir(), reason="../shared/data absent"),
            ],
        ),
    ]


def resolver(source: str) -> AddressResolver:
    return package_resolver() if source == "package" else nbs_resolver()


LIAONING = [
    ("辽宁省本溪满族自治县小市镇", "210521", "本溪满族自治县"),
    ("本溪县草河口镇政府对面", "210521", "本溪县"),
    ("本溪满族自治县", "210521", "本溪满族自治县"),
    ("桓仁满族自治县桓仁镇", "210522", "桓仁满族自治县"),
    ("桓仁县八里甸子镇", "210522", "桓仁县"),
    ("本溪桓仁", "210522", "桓仁"),
    ("沈阳市辽中区蒲东街道", "210115", "辽中区"),
    ("辽中区", "210115", "辽中区"),
    ("沈阳新民市大民屯镇", "210181", "新民市"),
    ("新民市", "210181", "新民市"),
    ("康平县", "210123", "康平县"),
    ("沈阳市法库县秀水河子镇", "210124", "法库县"),
]


@pytest.mark.parametrize("source", _sources())
@pytest.mark.parametrize(("text", "county", "matched"), LIAONING)
def test_liaoning_counties(source: str, text: str, county: str, matched: str) -> None:
    m = resolver(source).resolve(text)
    assert m is not None and not m.ambiguous
    assert m.county is not None and m.county.code == county
    assert m.county.matched == matched
    assert m.city is not None and m.city.code == county[:4]
    assert m.province is not None and m.province.code == "21"
    assert 0 < m.confidence <= 1


@pytest.mark.parametrize("source", _sources())
def test_city_short_and_full_forms(source: str) -> None:
    r = resolver(source)
    for text in ("沈阳", "沈阳市", "辽宁沈阳"):
        m = r.resolve(text)
        assert m is not None and m.city is not None and m.city.code == "2101" and m.county is None
    # A bare 本溪 is the city, not 本溪满族自治县.
    m = r.resolve("本溪")
    assert m is not None and m.city is not None and m.city.code == "2105" and m.county is None


@pytest.mark.parametrize("source", _sources())
def test_tiexi_is_ambiguous_without_context(source: str) -> None:
    m = resolver(source).resolve("铁西区兴华街5号楼")
    assert m is not None and m.ambiguous
    assert {"210106", "210303", "220302"} <= {c.code for c in m.candidates}
    assert m.county is None and m.confidence <= 0.3


@pytest.mark.parametrize("source", _sources())
def test_tiexi_resolved_by_city_context_or_default_city(source: str) -> None:
    r = resolver(source)
    for text, code in (
        ("沈阳市铁西区", "210106"),
        ("鞍山铁西区", "210303"),
        ("吉林省四平市铁西区", "220302"),
    ):
        m = r.resolve(text)
        assert m is not None and not m.ambiguous and m.county is not None and m.county.code == code
    m = r.resolve("铁西区兴华街", default_city_code="2101")
    assert m is not None and m.county is not None and m.county.code == "210106" and m.used_default_city
    # A city written in the text beats the hotline's default city.
    m = r.resolve("鞍山市铁西区", default_city_code="2101")
    assert m is not None and m.county is not None and m.county.code == "210303" and not m.used_default_city


@pytest.mark.parametrize("source", _sources())
def test_roads_named_after_places_are_not_regions(source: str) -> None:
    r = resolver(source)
    assert r.resolve("中山路5号") is None
    assert r.resolve("新民小区3号楼") is None
    assert r.resolve("XX花园小区") is None


@pytest.mark.parametrize("source", _sources())
def test_span_points_into_original_text(source: str) -> None:
    text = "地址： 辽宁省 沈阳市 辽中区"
    m = resolver(source).resolve(text)
    assert m is not None and m.county is not None and m.county.span is not None
    start, end = m.county.span
    assert text[start:end] == "辽中区"
    assert m.matched == ("辽宁省", "沈阳市", "辽中区")


@pytest.mark.data
@pytest.mark.skipif(not NBS_DIR.is_dir(), reason="../shared/data absent")
def test_townships_from_nbs_table() -> None:
    r = nbs_resolver()
    m = r.resolve("沈阳市铁西区兴华街道兴华北街")
    assert m is not None and m.township is not None and m.township.code == "210106015"
    # 茨榆坨镇 became 茨榆坨街道: the old name still finds it when the county is given …
    m = r.resolve("辽中区茨榆坨镇")
    assert m is not None and m.township is not None and m.township.name == "茨榆坨街道"
    # … or when the hotline is Shenyang's (there is also a 茨榆坨镇 in Hebei).
    m = r.resolve("茨榆坨镇", default_city_code="2101")
    assert m is not None and m.county is not None and m.county.code == "210115"
    # A township alone implies its county, city and province.
    m = r.resolve("八里甸子镇")
    assert m is not None and m.county is not None and m.county.code == "210522"
    assert m.county.matched is None and m.township is not None and m.township.matched == "八里甸子镇"
    m = r.resolve("城关镇")  # dozens of them
    assert m is not None and m.ambiguous and len(m.candidates) > 10


@pytest.mark.data
@pytest.mark.skipif(not NBS_DIR.is_dir(), reason="../shared/data absent")
def test_package_and_nbs_codes_agree_for_liaoning() -> None:
    pkg = {d.code: d.name for d in load_package_divisions() if d.code.startswith("21")}
    nbs = {d.code: d.name for d in load_nbs_directory(NBS_DIR, townships=False) if d.code.startswith("21")}
    common = pkg.keys() & nbs.keys()
    assert len(common) > 100
    assert all(
        pkg[c] == nbs[c] for c in common if c in {"2101", "2105", "210521", "210522", "210115", "210181"}
    )


def test_placeholder_cities_and_municipalities() -> None:
    r = package_resolver()
    m = r.resolve("北京市朝阳区")
    assert m is not None and m.county is not None and m.county.code == "110105"
    assert m.city is not None and m.city.code == "1101" and m.city.name == "北京市"
    m = r.resolve("湖北省仙桃市")
    assert m is not None and m.county is not None and m.county.code == "429004"


def test_aliases() -> None:
    county = Division("210521", "本溪满族自治县", DivisionLevel.COUNTY, "2105")
    assert {a for a, _, _ in division_aliases(county)} == {"本溪满族自治县", "本溪县", "本溪"}
    assert division_aliases(Division("1101", "市辖区", DivisionLevel.CITY, "11")) == []
    town = {a for a, _, _ in division_aliases(Division("1", "茨榆坨街道", DivisionLevel.TOWNSHIP, None))}
    assert {"茨榆坨街道", "茨榆坨镇", "茨榆坨乡"} <= town and "茨榆坨" not in town


def test_from_plain_records_and_simple_csv_round_trip() -> None:
    records = [
        Division("21", "辽宁省", DivisionLevel.PROVINCE),
        Division("2101", "沈阳市", DivisionLevel.CITY, "21"),
        Division("210106", "铁西区", DivisionLevel.COUNTY, "2101"),
        Division("210106015", "兴华街道", DivisionLevel.TOWNSHIP, "210106"),
    ]
    again = parse_simple_csv(dump_simple_csv(records))
    assert again == records
    m = AddressResolver.from_records(again).resolve("铁西区兴华街道")
    assert m is not None and m.township is not None and m.township.code == "210106015"
    assert m.city is not None and m.city.matched is None
    with pytest.raises(RegionSourceError):
        parse_simple_csv("code,name,level,parent_code\n1,x,galaxy,\n")
    with pytest.raises(ValueError):
        AddressResolver.from_records(records + records[:1])


def test_adcodes_synthesise_missing_placeholder_city() -> None:
    divs = {
        d.code: d for d in divisions_from_adcodes([("110000000000", "北京市"), ("110105000000", "朝阳区")])
    }
    assert divs["1101"].name == "市辖区" and divs["110105"].parent_code == "1101"


def test_place_key_groups_the_same_place() -> None:
    r = package_resolver()
    a = r.place_key("沈阳市铁西区兴华街5号楼2单元301室")
    b = r.place_key("铁西区兴华街５栋２门３０１", default_city_code="2101")
    assert a == b == "210106|兴华街5栋2单元301"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("兴华街5号楼2单元301室", "兴华街 5栋2门301"),
        ("兴华街５号楼２单元３０１", "兴华街5-2-301"),
        ("兴华街五号楼二单元301", "兴华街5幢2单元301户"),
        ("和平街道办事处", "和平街道"),
        ("幸福小区（东门）", "幸福小区东门"),
    ],
)
def test_normalise_address_unifies_forms(a: str, b: str) -> None:
    assert normalise_address(a) == normalise_address(b)


@given(st.text(alphabet="沈阳市铁西区号楼栋单元门室户幢一二三十0123456789-— ，,（）()ＡＢａ５", max_size=40))
def test_normalise_address_is_idempotent(text: str) -> None:
    once = normalise_address(text)
    assert normalise_address(once) == once
