"""``risk.scan``: run the four detectors over new order events, merge into live alerts, persist.

Single: a scan first claims the DB lease (``risk_scan_leases``, one conditional UPDATE of
``owner``/``expires_at``: free, expired or already ours). A second scanner, in this process or
another, gets ``{"skipped": …}`` and does nothing. The write transaction re-checks ownership
(``SELECT … FOR UPDATE``) before persisting and frees the lease in the same commit that stores the
alerts and the new ``watermark``; a live alert's ``dedup_key`` is also unique in the database
(partial unique index), so even a scanner whose lease expired mid-scan cannot create a duplicate.

Incremental: detector state lives in this process (:class:`Scanner`, one per database). A warm
scanner feeds only the events since its cursor (re-reading ``OVERLAP`` before it and skipping
events already fed, so a transaction that committed late is still seen). A cold one (first scan
in this process, or after an error) rebuilds its detectors from the database: spike history as
daily counts (one ``GROUP BY``, ``SPIKE_HISTORY``), then order events of each detector's window
(repeat 30 days, cluster 7 days, spike 14 days, chain 90 days; from ``FIRST_SCAN_LOOKBACK`` before
now when no scan ever ran, or from the last watermark when it is older). Candidates detected
before ``watermark − OVERLAP`` were handled by an earlier scan and are dropped, so a restart never
re-raises a closed alert; the rest go to :func:`minxin.core.risk.alerts.merge_into_live`, where
orders already attached are no-ops. An episode whose alert was closed as a false alarm stays quiet
(its dedup key is ignored for ``FALSE_ALARM_QUIET``); one closed as resolved that goes on (more
calls) is raised again as a new alert. Detector looks happen at every ``SCAN_EVERY`` boundary
(hourly, as the core's stated delays assume), whatever the job's interval.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from minxin.core.risk.alerts import AlertCandidate, Detector, EventKind, OrderEvent, merge_into_live
from minxin.core.risk.baseline import china_calendar_sets
from minxin.core.risk.cluster import ClusterDetector
from minxin.core.risk.repeat import OverdueChainDetector, RepeatAppealDetector
from minxin.core.risk.spike import SpikeDetector
from minxin.core.risk.taxonomy import Taxonomy
from minxin.db.session import Database
from minxin.risk import alert_repository as alert_repo
from minxin.risk import alerts, queue, queue_repository, tagger, taxonomy_service
from minxin.risk import repository as risk_repo
from minxin.risk import scan_repository as feed_repo
from minxin.workorders import repository as orders_repository

LEASE_NAME = "risk.scan"
LEASE_TTL = timedelta(minutes=15)
OVERLAP = timedelta(minutes=10)
SCAN_EVERY = timedelta(hours=1)
FIRST_SCAN_LOOKBACK = timedelta(days=60)
MAX_REPLAY = timedelta(days=90)
NEEDS = {"spike": timedelta(days=14), "cluster": timedelta(days=7), "repeat": timedelta(days=30),
         "chain": timedelta(days=90)}
SPIKE_HISTORY = timedelta(days=400)
BACKFILL_WINDOW = timedelta(days=400)
BACKFILL_BATCH = 300
MAX_OVERDUE_RETAG = 200
#: an episode (dedup key) whose alert was closed as a false alarm is not raised again for this long
FALSE_ALARM_QUIET = timedelta(days=30)
CHUNK = 900
_KIND_RANK = {EventKind.CREATED: 0, EventKind.RETURNED: 1, EventKind.REOPENED: 1, EventKind.OVERDUE: 2}


class LeaseLost(RuntimeError):
    """The lease expired and another scanner took it while this one computed; nothing is written."""


@dataclass
class _Feed:
    detector: Detector
    start: datetime
    next_scan: datetime | None = None


@dataclass
class _State:
    feeds: list[_Feed]
    cursor: datetime
    fed: dict[tuple[Any, ...], datetime] = field(default_factory=dict)


def _boundary_after(at: datetime) -> datetime:
    step = SCAN_EVERY.total_seconds()
    return datetime.fromtimestamp((at.timestamp() // step + 1) * step, tz=at.tzinfo)


def _feed(feed: _Feed, events: Iterable[OrderEvent], until: datetime) -> list[AlertCandidate]:
    """Observe events in time order, looking at every ``SCAN_EVERY`` boundary, then up to ``until``."""
    out: list[AlertCandidate] = []
    det = feed.detector
    for ev in events:
        if ev.at < feed.start:
            continue
        if feed.next_scan is None:
            feed.next_scan = _boundary_after(ev.at)
        while ev.at >= feed.next_scan:
            out.extend(det.scan(feed.next_scan))
            feed.next_scan += SCAN_EVERY
        out.extend(det.observe(ev))
    if feed.next_scan is None:
        feed.next_scan = _boundary_after(until)
    while feed.next_scan <= until:
        out.extend(det.scan(feed.next_scan))
        feed.next_scan += SCAN_EVERY
    return out


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def _event_key(ev: OrderEvent) -> tuple[Any, ...]:
    return (ev.kind.value, ev.order_id, ev.at.isoformat())


class Scanner:
    """One process's detector state for one database; see the module doc. Thread-safe."""

    def __init__(self, db: Database, *, tz: str = "Asia/Shanghai", owner: str | None = None) -> None:
        self.db = db
        self.tz = ZoneInfo(tz)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._state: _State | None = None
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget the detector state (the next scan warms up from the database)."""
        self._state = None

    # ------------------------------------------------------------------------------- the run
    def run(self, now: datetime, *, since: datetime | None = None) -> dict[str, Any]:
        """One scan at ``now``. ``since`` forces a cold replay from that instant (replays, CLI)."""
        with self._lock:
            if since is not None:
                self._state = None
            with self.db.unit_of_work() as session:
                alert_repo.ensure_lease(session, LEASE_NAME)
            with self.db.unit_of_work() as session:
                acquired = alert_repo.try_acquire(session, LEASE_NAME, self.owner, now, now + LEASE_TTL)
            if not acquired:
                return {"skipped": "lease held by another scanner"}
            try:
                return self._locked_run(now, since)
            except BaseException as exc:
                self._state = None
                self._release_quietly(now, exc)
                raise

    def _locked_run(self, now: datetime, since: datetime | None) -> dict[str, Any]:
        queue.settle(self.db, timeout=5.0, strict=False)  # the detectors read tags and links
        backfilled = self._backfill(now)
        with self.db.reading() as session:
            lease = alert_repo.lease(session, LEASE_NAME)
            watermark = lease.watermark if lease else None
            if since is not None:
                keep = since
            elif watermark is not None:
                keep = min(watermark, now) - OVERLAP
            else:
                keep = now - FIRST_SCAN_LOOKBACK
            compiled, _ = taxonomy_service.active(session)
            events, cold = self._events(session, now, keep, explicit=since is not None, taxonomy=compiled.taxonomy)
            candidates: list[AlertCandidate] = []
            assert self._state is not None
            for feed in self._state.feeds:
                candidates.extend(c for c in _feed(feed, events, now) if c.detected_at >= keep)
            overdue = [int(e.order_id) for e in events if e.kind is EventKind.OVERDUE and e.at >= keep]
            numbers = feed_repo.numbers_of(session, [int(o) for c in candidates for o in c.order_ids])
        with self.db.unit_of_work() as session:
            lease = alert_repo.lease(session, LEASE_NAME, for_update=True)
            if lease is None or lease.owner != self.owner:
                raise LeaseLost("the risk.scan lease was taken over; results discarded")
            quiet = alert_repo.false_alarm_keys(session, now - FALSE_ALARM_QUIET)
            candidates = [c for c in candidates if c.dedup_key not in quiet]
            live, _ = alerts.live_view(session)
            merged = merge_into_live(candidates, live, now=now)
            counts = alerts.apply_merge(session, merged, compiled.taxonomy, numbers, now)
            retagged = self._retag_overdue(session, overdue, now)
            summary = {"events": len(events), "candidates": len(candidates), **counts, "backfilled": backfilled,
                       "overdue_retagged": retagged, "warmed_up": cold, "at": now.isoformat()}
            mark = max(now, watermark) if watermark is not None else now
            alert_repo.release(session, LEASE_NAME, self.owner, watermark=mark, result=summary)
        return summary

    def _release_quietly(self, now: datetime, exc: BaseException) -> None:
        try:
            with self.db.unit_of_work() as session:
                alert_repo.release(session, LEASE_NAME, self.owner, watermark=None,
                                   result={"error": type(exc).__name__, "at": now.isoformat()})
        except Exception:  # the lease expires on its own; the original error is what matters
            pass

    def _backfill(self, now: datetime) -> int:
        """Tag a batch of orders risk has not seen (registered before it was installed)."""
        with self.db.unit_of_work() as session:
            if not queue_repository.try_drain_lock(session):  # a drainer is tagging: next scan
                return 0
            orders = feed_repo.untagged_since(session, now - BACKFILL_WINDOW, BACKFILL_BATCH)
            for order in orders:
                tagger.tag_new_order(session, order, now=order.created_at)
            return len(orders)

    def _retag_overdue(self, session: Session, order_ids: Sequence[int], now: datetime) -> int:
        ids = list(dict.fromkeys(order_ids))[:MAX_OVERDUE_RETAG]
        counts = feed_repo.overdue_counts(session, ids)
        for order_id in ids:
            order = orders_repository.get_by_id(session, order_id)
            if order is not None:
                tagger.retag_order(session, order, now=now, overdue=counts.get(order_id, 1))
        return len(ids)

    # ---------------------------------------------------------------------------- the events
    def _events(self, session: Session, now: datetime, keep: datetime, *, explicit: bool,
                taxonomy: Taxonomy) -> tuple[list[OrderEvent], bool]:
        """The events to feed now; when cold, also fresh detectors, each starting its window's
        length (``NEEDS``) before ``keep`` (at most ``MAX_REPLAY`` back unless ``keep`` was given)."""
        # orders still waiting to be tagged are fed next time: nothing from their registration on
        held = queue_repository.oldest_queued_at(session)
        until = min(now, held - timedelta(microseconds=1)) if held is not None else now
        if self._state is not None:
            state = self._state
            events = [e for e in self._load(session, state.cursor - OVERLAP, until) if _event_key(e) not in state.fed]
            state.cursor = max(state.cursor, until)
            self._remember(state, events)
            return events, False
        anchor = keep if explicit else max(keep, now - MAX_REPLAY)
        feeds = []
        for det in self._detectors(session, now, taxonomy):
            start = anchor - NEEDS[det.name]
            if det.name == "spike":
                start = datetime.combine(start.astimezone(self.tz).date(), time(), self.tz)
                self._seed_spike(session, det, start)  # type: ignore[arg-type]
            feeds.append(_Feed(det, start))
        events = self._load(session, min(f.start for f in feeds), until)
        self._state = _State(feeds=feeds, cursor=until)
        self._remember(self._state, events)
        return events, True

    @staticmethod
    def _remember(state: _State, events: Sequence[OrderEvent]) -> None:
        horizon = state.cursor - OVERLAP
        for ev in events:
            if ev.at >= horizon:
                state.fed[_event_key(ev)] = ev.at
        for key in [k for k, at in state.fed.items() if at < horizon]:
            del state.fed[key]

    def _load(self, session: Session, since: datetime, until: datetime) -> list[OrderEvent]:
        rows = feed_repo.created_between(session, since, until)
        labels: dict[int, list[str]] = {}
        ids = [r.id for r in rows]
        for part in _chunks(ids):
            for order_id, label, _ in risk_repo.tag_summaries(session, part):
                labels.setdefault(order_id, []).append(label)
        events = [
            OrderEvent(str(r.id), r.at, EventKind.CREATED, r.region, r.category, r.text, r.subjects,
                       tuple(labels.get(r.id, ())), str(r.parent_id) if r.parent_id else None)
            for r in rows
        ]
        steps = feed_repo.steps_between(session, since, until)
        overdue = feed_repo.overdue_between(session, since, until)
        info: dict[int, feed_repo.OrderRow] = {}
        for part in _chunks(list({o for o, *_ in steps} | {o for o, *_ in overdue})):
            info.update(feed_repo.orders_by_ids(session, part))
        for order_id, at, action, _seq in steps:
            kind = EventKind.RETURNED if action == "return" else EventKind.REOPENED
            events.append(self._step(info.get(order_id), order_id, at, kind))
        for order_id, at, _round in overdue:
            events.append(self._step(info.get(order_id), order_id, at, EventKind.OVERDUE))
        events.sort(key=lambda e: (e.at, _KIND_RANK[e.kind], e.order_id))
        return events

    @staticmethod
    def _step(row: feed_repo.OrderRow | None, order_id: int, at: datetime, kind: EventKind) -> OrderEvent:
        if row is None:
            return OrderEvent(str(order_id), at, kind)
        return OrderEvent(str(order_id), at, kind, row.region, row.category, "", row.subjects, (),
                          str(row.parent_id) if row.parent_id else None)

    # ------------------------------------------------------------------------- the detectors
    def _detectors(self, session: Session, now: datetime, taxonomy: Taxonomy) -> list[Detector]:
        holidays, makeup, names = self._calendar_sets(session, now)
        severities = {label.code: label.severity for label in taxonomy.labels}
        return [
            SpikeDetector(holidays=holidays, makeup_workdays=makeup, holiday_names=names, tz=str(self.tz)),
            ClusterDetector(label_severity=severities),
            RepeatAppealDetector(),
            OverdueChainDetector(),
        ]

    @staticmethod
    def _calendar_sets(session: Session, now: datetime) -> tuple[set[date], set[date], dict[date, str]]:
        """Holidays and make-up days: the ``chinesecalendar`` package plus the admin's entries."""
        start, end = date(now.year - 4, 1, 1), date(now.year + 1, 12, 31)
        hol, makeup, names = china_calendar_sets(start, end)
        holidays, workdays, named = set(hol), set(makeup), dict(names)
        try:
            from minxin.sla import repository as sla_repository

            for row in sla_repository.calendar_days(session):
                if row.kind == "holiday":
                    holidays.add(row.day)
                    workdays.discard(row.day)
                    named[row.day] = row.name or named.get(row.day, "")
                else:
                    holidays.discard(row.day)
                    if row.day.weekday() >= 5:
                        workdays.add(row.day)
        except ImportError:  # pragma: no cover - the SLA domain is not installed
            pass
        return holidays, workdays, {d: n for d, n in named.items() if n}

    def _seed_spike(self, session: Session, det: SpikeDetector, start: datetime) -> None:
        offset = int((start.utcoffset() or timedelta()).total_seconds() // 3600)
        for day, category, region, count in feed_repo.daily_counts(session, start - SPIKE_HISTORY, start, offset):
            det.seed_daily_count(category, region, day, count)


_scanners: weakref.WeakKeyDictionary[Database, Scanner] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def scanner_for(db: Database, tz: str = "Asia/Shanghai") -> Scanner:
    """This process's scanner of ``db`` (created on first use)."""
    with _registry_lock:
        scanner = _scanners.get(db)
        if scanner is None:
            scanner = Scanner(db, tz=tz)
            _scanners[db] = scanner
        return scanner
