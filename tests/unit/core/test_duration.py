"""Durations: parsing, text round trip, kinds and descriptions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minxin.core.duration import (
    ClockKind,
    CountingRule,
    Duration,
    DurationParseError,
    DurationUnit,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "amount", "unit", "kind"),
    [
        ("30m", 30, DurationUnit.MINUTES, ClockKind.NATURAL),
        ("2h", 2, DurationUnit.HOURS, ClockKind.NATURAL),
        ("3d", 3, DurationUnit.DAYS, ClockKind.NATURAL),
        ("8wh", 8, DurationUnit.WORKING_HOURS, ClockKind.WORKING),
        ("1wd", 1, DurationUnit.WORKING_DAYS, ClockKind.WORKING),
        ("5wd", 5, DurationUnit.WORKING_DAYS, ClockKind.WORKING),
        (" 5WD ", 5, DurationUnit.WORKING_DAYS, ClockKind.WORKING),
        ("0m", 0, DurationUnit.MINUTES, ClockKind.NATURAL),
        ("45 m", 45, DurationUnit.MINUTES, ClockKind.NATURAL),
    ],
)
def test_parse(text: str, amount: int, unit: DurationUnit, kind: ClockKind) -> None:
    d = parse_duration(text)
    assert (d.amount, d.unit, d.kind) == (amount, unit, kind)
    assert Duration.parse(text) == d


@pytest.mark.parametrize(
    "text", ["", "5", "wd", "1.5h", "-2h", "+2h", "3w", "2 hours", "5wdx", "1d2h", "１h"]
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(DurationParseError, match="duration"):
        parse_duration(text)


def test_parse_rejects_non_string() -> None:
    with pytest.raises(DurationParseError):
        parse_duration(5)  # type: ignore[arg-type]


def test_constructor_validates() -> None:
    with pytest.raises(ValueError):
        Duration(-1, DurationUnit.HOURS)
    with pytest.raises(TypeError):
        Duration(1.5, DurationUnit.HOURS)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Duration(1, "weeks")  # type: ignore[arg-type]
    assert Duration(2, "wh").unit is DurationUnit.WORKING_HOURS  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("2h", 7200), ("3d", 259200), ("8wh", 28800)])
def test_seconds(text: str, seconds: int) -> None:
    assert parse_duration(text).seconds == seconds


def test_working_days_have_no_fixed_length() -> None:
    with pytest.raises(ValueError, match="working days"):
        _ = parse_duration("1wd").seconds


@pytest.mark.parametrize(
    ("text", "rule", "en", "zh"),
    [
        (
            "1wd",
            CountingRule.NEXT_DAY,
            "1 working day, counted from the next day (次日起算)",
            "1个工作日（次日起算）",
        ),
        (
            "5wd",
            CountingRule.INCLUSIVE,
            "5 working days, counting the start day (含本数)",
            "5个工作日（含本数）",
        ),
        ("8wh", None, "8 working hours", "8个工作小时"),
        ("30m", None, "30 natural minutes", "30分钟"),
        ("1h", None, "1 natural hour", "1小时"),
        ("3d", None, "3 natural days", "3个自然日"),
    ],
)
def test_describe(text: str, rule: CountingRule | None, en: str, zh: str) -> None:
    d = parse_duration(text)
    assert d.describe(rule) == en
    assert d.describe_zh(rule) == zh


@given(st.integers(min_value=0, max_value=999_999), st.sampled_from(list(DurationUnit)))
def test_text_round_trip(amount: int, unit: DurationUnit) -> None:
    d = Duration(amount, unit)
    assert parse_duration(str(d)) == d
    assert str(parse_duration(str(d))) == str(d)
