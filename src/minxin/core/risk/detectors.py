"""One import point for the four detectors, the alert-merging helpers and a default pipeline.

Every detector offers the streaming :class:`~minxin.core.risk.alerts.Detector` interface:
``observe(event) -> list[AlertCandidate]`` (event-driven detectors answer at once) and
``scan(now) -> list[AlertCandidate]`` (the spike detector tests on a timer; the others expire
state). Hand the candidates to :func:`merge_into_live` (or an :class:`AlertBook`) so that
duplicates of a live alert attach to it.

Stated detection delays with the defaults and hourly scans: repeat appeals and handling loops at
the event that crosses the threshold (the Nth call, the Kth return/reopen); clusters at the call
that makes the burst test pass (typically the 7th–10th of a 30-call incident, within the hour);
spikes at the first hourly look at which the excess is significant, at the latest at the
end-of-day look made by the first scan after midnight (≤ 24 h).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta

from minxin.core.risk.alerts import (
    AlertBook,
    AlertCandidate,
    Attachment,
    Detector,
    EventKind,
    LiveAlert,
    MergeResult,
    OrderEvent,
    merge_into_live,
    replay,
)
from minxin.core.risk.baseline import china_calendar_sets
from minxin.core.risk.cluster import ClusterDetector
from minxin.core.risk.repeat import (
    DEFAULT_REPEAT_RULES,
    OverdueChainDetector,
    RepeatAppealDetector,
    RepeatRule,
)
from minxin.core.risk.spike import SpikeDetector, SpikeResult

__all__ = [
    "DEFAULT_REPEAT_RULES",
    "AlertBook",
    "AlertCandidate",
    "Attachment",
    "ClusterDetector",
    "Detector",
    "EventKind",
    "LiveAlert",
    "MergeResult",
    "OrderEvent",
    "OverdueChainDetector",
    "RepeatAppealDetector",
    "RepeatRule",
    "SpikeDetector",
    "SpikeResult",
    "default_detectors",
    "detect",
    "merge_into_live",
    "replay",
]


def default_detectors(*, holidays: Iterable[date] = (), makeup_workdays: Iterable[date] = (),
                      holiday_names: Mapping[date, str] | None = None,
                      tz: str = "Asia/Shanghai") -> list[Detector]:
    """The four detectors with their documented defaults (spike alpha 0.01/day, hourly looks)."""
    return [
        SpikeDetector(holidays=holidays, makeup_workdays=makeup_workdays, holiday_names=holiday_names, tz=tz),
        ClusterDetector(),
        RepeatAppealDetector(),
        OverdueChainDetector(),
    ]


def detect(events: Sequence[OrderEvent], *, detectors: Sequence[Detector] | None = None,
           scan_every: timedelta = timedelta(hours=1), until: datetime | None = None,
           book: AlertBook | None = None) -> AlertBook:
    """Replay time-ordered events through the detectors into an alert board, one candidate at a time.

    Without ``detectors`` the defaults are built with the official holidays (``chinesecalendar``)
    of the years the events span. The end of the stream gets one more day of scans (or scans until
    ``until``), so the last day's end-of-day spike look happens.
    """
    if detectors is None:
        if events:
            first, last = events[0].at.date(), events[-1].at.date()
            hol, makeup, names = china_calendar_sets(date(first.year - 3, 1, 1), date(last.year, 12, 31))
        else:
            hol, makeup, names = frozenset(), frozenset(), {}
        detectors = default_detectors(holidays=hol, makeup_workdays=makeup, holiday_names=names)
    events = sorted(events, key=lambda e: e.at)
    board = book if book is not None else AlertBook()
    if until is None and events:
        until = events[-1].at + timedelta(days=1, hours=1)
    for cand in replay(detectors, events, scan_every=scan_every, until=until):
        board.apply([cand], cand.detected_at)
    return board
