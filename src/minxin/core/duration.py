"""Durations of SLA clocks: natural time and working time, and how working days are counted.

A :class:`Duration` is an integer amount of one :class:`DurationUnit`:

========  ======================  =================================================
``m``     natural minutes         elapsed wall time, every second counts
``h``     natural hours           elapsed wall time
``d``     natural days            exactly ``N × 24`` hours of elapsed time
``wh``    working hours           only seconds inside business hours on working days count
``wd``    working days            end of business of the Nth working day (see CountingRule)
========  ======================  =================================================

Text form is ``<amount><unit>`` (``"30m"``, ``"2h"``, ``"3d"``, ``"8wh"``, ``"5wd"``) and
``str(parse_duration(s)) == s`` for every canonical ``s``. Amounts are non-negative integers, so
maths on durations is exact; use ``90m`` rather than ``1.5h``.

Working days are counted by a :class:`CountingRule`:

* 次日起算 (``next_day``, the default, as in 《民法典》第二百零一条: the start day is not counted):
  ``N wd`` ends at the end of business of the Nth working day *after* the start's local date.
* 含本数 (``inclusive``): the start's local date counts as day 1 when it is a working day and the
  start is before its end of business; otherwise day 1 is the first working day after it (a clock
  started after closing time, or on a holiday, cannot be due before it starts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ClockKind",
    "CountingRule",
    "Duration",
    "DurationParseError",
    "DurationUnit",
    "parse_duration",
]


class DurationUnit(StrEnum):
    """The unit of a :class:`Duration`; the value is its suffix in the text form."""

    MINUTES = "m"
    HOURS = "h"
    DAYS = "d"
    WORKING_HOURS = "wh"
    WORKING_DAYS = "wd"


class ClockKind(StrEnum):
    """Which time a clock measures: every second (natural) or business seconds (working)."""

    NATURAL = "natural"
    WORKING = "working"


class CountingRule(StrEnum):
    """How ``N wd`` is counted. See the module docstring."""

    NEXT_DAY = "next_day"  # 次日起算
    INCLUSIVE = "inclusive"  # 含本数

    @property
    def zh(self) -> str:
        """The Chinese term for the rule."""
        return "次日起算" if self is CountingRule.NEXT_DAY else "含本数"

    @property
    def text(self) -> str:
        """English description used in explanations."""
        if self is CountingRule.NEXT_DAY:
            return "counted from the next day (次日起算)"
        return "counting the start day (含本数)"


_NATURAL_SECONDS = {DurationUnit.MINUTES: 60, DurationUnit.HOURS: 3600, DurationUnit.DAYS: 86400}
_EN = {
    DurationUnit.MINUTES: ("natural minute", "natural minutes"),
    DurationUnit.HOURS: ("natural hour", "natural hours"),
    DurationUnit.DAYS: ("natural day", "natural days"),
    DurationUnit.WORKING_HOURS: ("working hour", "working hours"),
    DurationUnit.WORKING_DAYS: ("working day", "working days"),
}
_ZH = {
    DurationUnit.MINUTES: "{n}分钟",
    DurationUnit.HOURS: "{n}小时",
    DurationUnit.DAYS: "{n}个自然日",
    DurationUnit.WORKING_HOURS: "{n}个工作小时",
    DurationUnit.WORKING_DAYS: "{n}个工作日",
}
_PATTERN = re.compile(r"^\s*([0-9]{1,6})\s*(wd|wh|m|h|d)\s*$", re.IGNORECASE)


class DurationParseError(ValueError):
    """Raised by :func:`parse_duration` for text that is not a duration; the message says why."""


@dataclass(frozen=True, slots=True)
class Duration:
    """An SLA duration: a non-negative integer ``amount`` of ``unit``.

    Invariants: ``amount >= 0``; ``Duration.parse(str(d)) == d``.
    """

    amount: int
    unit: DurationUnit

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError(f"Duration amount must be an int, got {self.amount!r}")
        if self.amount < 0:
            raise ValueError(f"Duration amount must be >= 0, got {self.amount}")
        object.__setattr__(self, "unit", DurationUnit(self.unit))

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Same as :func:`parse_duration`."""
        return parse_duration(text)

    def __str__(self) -> str:
        return f"{self.amount}{self.unit.value}"

    @property
    def kind(self) -> ClockKind:
        """``working`` for ``wh``/``wd``, ``natural`` otherwise."""
        if self.unit in (DurationUnit.WORKING_HOURS, DurationUnit.WORKING_DAYS):
            return ClockKind.WORKING
        return ClockKind.NATURAL

    @property
    def is_working(self) -> bool:
        """True for working hours and working days."""
        return self.kind is ClockKind.WORKING

    @property
    def seconds(self) -> int:
        """Length in seconds of natural time (m/h/d) or of working time (wh).

        Working days have no fixed length (it depends on the start and the counting rule),
        so this raises ``ValueError`` for ``wd``.
        """
        if self.unit is DurationUnit.WORKING_HOURS:
            return self.amount * 3600
        if self.unit is DurationUnit.WORKING_DAYS:
            raise ValueError("working days have no fixed length in seconds; use WorkingCalendar.add")
        return self.amount * _NATURAL_SECONDS[self.unit]

    def describe(self, rule: CountingRule | None = None) -> str:
        """English text, e.g. ``"1 working day, counted from the next day (次日起算)"``.

        ``rule`` is only mentioned for working days (the default rule is 次日起算).
        """
        singular, plural = _EN[self.unit]
        text = f"{self.amount} {singular if self.amount == 1 else plural}"
        if self.unit is DurationUnit.WORKING_DAYS:
            text += ", " + (rule or CountingRule.NEXT_DAY).text
        return text

    def describe_zh(self, rule: CountingRule | None = None) -> str:
        """Chinese text, e.g. ``"1个工作日（次日起算）"``."""
        text = _ZH[self.unit].format(n=self.amount)
        if self.unit is DurationUnit.WORKING_DAYS:
            text += f"（{(rule or CountingRule.NEXT_DAY).zh}）"
        return text


def parse_duration(text: str) -> Duration:
    """Parse ``"30m"``, ``"2h"``, ``"3d"``, ``"8wh"``, ``"1wd"``, ``"5wd"`` into a :class:`Duration`.

    Surrounding spaces and upper case are accepted (``" 5WD "``); fractions, signs and other
    units are refused with a :class:`DurationParseError` that names the accepted forms.
    """
    if not isinstance(text, str):
        raise DurationParseError(f"duration must be a string like '30m' or '5wd', got {text!r}")
    match = _PATTERN.match(text)
    if match is None:
        raise DurationParseError(
            f"invalid duration {text!r}: expected a whole number followed by a unit: "
            "m (minutes), h (hours), d (natural days), wh (working hours) or wd (working days), "
            "e.g. '30m', '2h', '3d', '8wh', '5wd'"
        )
    return Duration(int(match.group(1)), DurationUnit(match.group(2).lower()))
