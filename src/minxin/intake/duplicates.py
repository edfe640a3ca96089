"""In-memory index of recent and open orders for "is this appeal a duplicate or related?".

Why in memory and not SQL: the question is a similarity search (same caller, same place, or a
text with bigram Jaccard ≳ 0.4) that must answer in milliseconds with a million orders; SQL
can do the exact keys but not the text. The service rebuilds the index from the database at
start (:meth:`DuplicateIndex.build`, vectorised) and adds each order as it is registered.

Layout (column store, row = insertion order; ``order_id → row`` is unique among live rows):

* per row: order id, created_at (epoch s), status, region, phone key, address key (64-bit
  BLAKE2b of the normalised value, 0 = none), compact MinHash signature (1 byte × 60), flags;
* *static* part: for each of the 20 LSH bands, phone and address keys and order ids, a sorted
  key array with the matching rows: a look-up is a binary search (O(log n));
* *delta* part: rows added since the last compaction are compared directly (at most
  ``compact_every`` rows, so this stays bounded); past that, :meth:`compact` merges them into
  the static part (about a second per million rows).

A query therefore inspects only the rows in its own buckets, never the history. Each bucket is
read from its newest end and capped at ``bucket_cap`` rows, so a text that thousands of orders
share (咨询停电) cannot make a query slow. Memory: about 300 bytes per order
(:meth:`memory_bytes`, measured in ``bench/duplicates_bench.py``).

Thread safety: every public method takes the index lock; queries are short (sub-millisecond).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

import numpy as np
import numpy.typing as npt

from minxin.core.address import normalise_address
from minxin.core.pii import normalise_phone
from minxin.core.similarity import (
    MinHasher,
    ScoreWeights,
    combine_score,
    compact_signature,
    estimate_jaccard,
    normalise_text,
    shingles,
)
from minxin.core.vocabulary import FINAL_STATUSES
from minxin.intake.column import Column as _Column

I32 = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class DuplicateRecord:
    """What the index needs of an order. ``created_at`` must be timezone-aware."""

    order_id: int
    created_at: datetime
    title: str = ""
    content: str = ""
    phone: str | None = None
    address: str | None = None
    status: str = "registered"
    region_code: str | None = None


@dataclass(frozen=True, slots=True)
class Match:
    order_id: int
    score: float
    reasons: tuple[str, ...]  # subset of ("same_phone", "same_address", "similar_text"), in that order
    text_similarity: float
    created_at: datetime
    status: str
    region_code: str | None


@dataclass(frozen=True, slots=True)
class QueryResult:
    matches: list[Match]
    candidates: int  # distinct rows looked at (bucket members), the cost of the query
    indexed: int  # live rows in the index when queried


@dataclass(frozen=True)
class DuplicateConfig:
    window: timedelta = timedelta(days=30)
    text_threshold: float = 0.3
    limit: int = 10
    include_open_beyond_window: bool = True
    bucket_cap: int = 2000
    compact_every: int = 20_000
    max_chars: int = 400
    closed_statuses: frozenset[str] = frozenset(str(s) for s in FINAL_STATUSES)
    weights: ScoreWeights = field(default_factory=ScoreWeights)


def _key(value: str) -> int:
    """64-bit key of a normalised value; 0 means "none" and is never a bucket."""
    if not value:
        return 0
    return int.from_bytes(hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest(), "little") or 1


def _epoch(ts: datetime) -> int:
    if ts.tzinfo is None:
        raise ValueError("created_at/now must be timezone-aware")
    return int(ts.timestamp())


class DuplicateIndex:
    """Sub-linear duplicate / related-order search. See the module docstring for the layout."""

    def __init__(
        self,
        config: DuplicateConfig | None = None,
        *,
        hasher: MinHasher | None = None,
        address_key: Callable[[str], str] = normalise_address,
    ) -> None:
        self.config = config or DuplicateConfig()
        self.hasher = hasher or MinHasher()
        self._address_key = address_key
        self._lock = threading.RLock()
        k, b = self.hasher.num_perm, self.hasher.bands
        self._order = _Column(np.int64)
        self._created = _Column(np.int64)
        self._status = _Column(np.int16)
        self._region = _Column(np.int32)
        self._phone = _Column(np.uint64)
        self._addr = _Column(np.uint64)
        self._sig = _Column(np.uint8, k)
        self._bandkey = _Column(np.uint32, b)  # delta rows only: row r is at r - self._static_n
        self._has_text = _Column(np.bool_)
        self._alive = _Column(np.bool_)
        self._statuses: list[str] = []
        self._status_ids: dict[str, int] = {}
        self._regions: list[str | None] = [None]
        self._region_ids: dict[str | None, int] = {None: 0}
        self._static_n = 0
        self._band_sorted = np.empty((b, 0), dtype=np.uint32)
        self._band_rows = np.empty((b, 0), dtype=np.int32)
        self._exact: dict[str, tuple[np.ndarray, I32]] = {}
        self._live = 0
        self._closed = np.zeros(0, dtype=bool)

    # ---------------------------------------------------------------- building
    @classmethod
    def build(
        cls,
        records: Iterable[DuplicateRecord],
        config: DuplicateConfig | None = None,
        *,
        chunk: int = 50_000,
        **kw,
    ) -> DuplicateIndex:
        """Bulk build (vectorised signatures, one sort per key): the start-up path."""
        index = cls(config, **kw)
        it: Iterator[DuplicateRecord] = iter(records)
        with index._lock:
            while batch := list(islice(it, chunk)):
                index._append(batch)
            index.compact()
            for column in (
                index._order,
                index._created,
                index._status,
                index._region,
                index._phone,
                index._addr,
            ):
                column.trim()
            for column in (index._sig, index._has_text, index._alive):
                column.trim()
        return index

    def _intern(self, table: list, ids: dict, value: object) -> int:
        i = ids.get(value)
        if i is None:
            i = ids[value] = len(table)
            table.append(value)
        return i

    def _append(self, batch: list[DuplicateRecord]) -> None:
        texts = [normalise_text(f"{r.title} {r.content}", self.config.max_chars) for r in batch]
        sig, has = self.hasher.signatures(texts)
        self._bandkey.extend(self.hasher.band_keys(sig))
        self._sig.extend(compact_signature(sig))
        self._has_text.extend(has)
        self._order.extend([r.order_id for r in batch])
        self._created.extend([_epoch(r.created_at) for r in batch])
        self._status.extend([self._intern(self._statuses, self._status_ids, r.status) for r in batch])
        self._region.extend([self._intern(self._regions, self._region_ids, r.region_code) for r in batch])
        self._phone.extend([_key(normalise_phone(r.phone or "")) for r in batch])
        self._addr.extend([_key(self._address_key(r.address or "")) for r in batch])
        self._alive.extend(np.ones(len(batch), dtype=bool))
        self._live += len(batch)

    def add(self, record: DuplicateRecord) -> None:
        """Add (or replace) one order. Compacts when the delta part reaches ``compact_every``."""
        with self._lock:
            self._kill(record.order_id)
            self._append([record])
            if self._order.n - self._static_n >= self.config.compact_every:
                self.compact()

    def remove(self, order_id: int) -> bool:
        with self._lock:
            return self._kill(order_id)

    def update_status(self, order_id: int, status: str) -> bool:
        with self._lock:
            rows = self._rows_of(order_id)
            self._status.data[rows] = self._intern(self._statuses, self._status_ids, status)
            return bool(len(rows))

    def _closed_flags(self) -> npt.NDArray[np.bool_]:
        """Per interned status, whether it is closed (cached; statuses are only ever appended)."""
        if len(self._closed) != len(self._statuses):
            self._closed = np.array([s in self.config.closed_statuses for s in self._statuses], dtype=bool)
        return self._closed

    def _rows_of(self, order_id: int) -> I32:
        rows = self._exact_rows("order", np.int64(order_id), cap=None)
        return rows[self._alive.data[rows]]

    def _kill(self, order_id: int) -> bool:
        rows = self._rows_of(order_id)
        self._alive.data[rows] = False
        self._live -= len(rows)
        return bool(len(rows))

    def compact(self) -> None:
        """Merge the delta part into the sorted static part, dropping removed rows."""
        with self._lock:
            n = self._order.n
            alive = self._alive.view
            # A bulk build may carry an order twice: the later row wins, like add() does.
            live_rows = np.flatnonzero(alive).astype(np.int32)
            ids = self._order.view[live_rows]
            by_id = np.argsort(ids, kind="stable")
            older = by_id[:-1][ids[by_id][1:] == ids[by_id][:-1]]
            if len(older):
                alive[live_rows[older]] = False
                self._live -= len(older)
                live_rows = np.flatnonzero(alive).astype(np.int32)
            b = self.hasher.bands
            old_rows, old_keys = self._band_rows, self._band_sorted
            new = np.arange(self._static_n, n, dtype=np.int32)
            new = new[self._has_text.view[self._static_n :] & alive[self._static_n :]]
            sorted_keys = np.empty((b, 0), dtype=np.uint32)
            sorted_rows = np.empty((b, 0), dtype=np.int32)
            for j in range(b):
                keep = alive[old_rows[j]] if old_rows.shape[1] else np.zeros(0, dtype=bool)
                rows = np.concatenate([old_rows[j][keep], new])
                keys = np.concatenate([old_keys[j][keep], self._bandkey.data[new - self._static_n, j]])
                # Stable sort keeps (key, row) order: old rows are sorted that way and precede new ones.
                order = np.argsort(keys, kind="stable")
                if j == 0:
                    sorted_keys = np.empty((b, len(rows)), dtype=np.uint32)
                    sorted_rows = np.empty((b, len(rows)), dtype=np.int32)
                sorted_keys[j], sorted_rows[j] = keys[order], rows[order]
            self._band_sorted, self._band_rows = sorted_keys, sorted_rows
            for name, column in (("order", self._order), ("phone", self._phone), ("addr", self._addr)):
                values = column.view[live_rows]
                if name != "order":
                    nz = values != 0
                    values, rows = values[nz], live_rows[nz]
                else:
                    rows = live_rows
                order = np.argsort(values, kind="stable")
                self._exact[name] = (values[order], rows[order])
            self._static_n = n
            self._bandkey = _Column(np.uint32, b)  # static rows' band keys live in the sorted arrays

    # ---------------------------------------------------------------- querying
    def _exact_rows(self, name: str, key: np.generic, cap: int | None) -> I32:
        keys, rows = self._exact.get(name, (np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int32)))
        lo, hi = np.searchsorted(keys, key, "left"), np.searchsorted(keys, key, "right")
        if cap is not None:
            lo = max(lo, hi - cap)
        column = {"order": self._order, "phone": self._phone, "addr": self._addr}[name]
        delta = (
            np.flatnonzero(column.data[self._static_n : column.n] == key).astype(np.int32) + self._static_n
        )
        return np.concatenate([rows[lo:hi], delta])

    def query(
        self,
        title: str,
        content: str,
        phone: str | None,
        address: str | None,
        now: datetime,
        window: timedelta | None = None,
        *,
        limit: int | None = None,
        exclude_order_id: int | None = None,
    ) -> list[Match]:
        """Related orders, best first. See :meth:`search` for the counts behind them."""
        return self.search(
            title, content, phone, address, now, window, limit=limit, exclude_order_id=exclude_order_id
        ).matches

    def search(
        self,
        title: str,
        content: str,
        phone: str | None,
        address: str | None,
        now: datetime,
        window: timedelta | None = None,
        *,
        limit: int | None = None,
        exclude_order_id: int | None = None,
    ) -> QueryResult:
        """Orders with the same phone, the same address or a similar text that are created within
        ``window`` before ``now`` (or, by default, still open at any age)."""
        cfg = self.config
        window = cfg.window if window is None else window
        limit = cfg.limit if limit is None else limit
        sig = self.hasher.signature(shingles(normalise_text(f"{title} {content}", cfg.max_chars)))
        phone_key = np.uint64(_key(normalise_phone(phone or "")))
        addr_key = np.uint64(_key(self._address_key(address or "")))
        with self._lock:
            parts: list[np.ndarray] = []
            if sig is not None:
                bands = self.hasher.band_keys(sig)
                for j in range(self.hasher.bands):
                    keys = self._band_sorted[j]
                    lo, hi = np.searchsorted(keys, bands[j], "left"), np.searchsorted(keys, bands[j], "right")
                    parts.append(self._band_rows[j][max(lo, hi - cfg.bucket_cap) : hi])
                delta = self._bandkey.view
                if len(delta):
                    parts.append(
                        np.flatnonzero((delta == bands).any(axis=1)).astype(np.int32) + self._static_n
                    )
            if phone_key:
                parts.append(self._exact_rows("phone", phone_key, cfg.bucket_cap))
            if addr_key:
                parts.append(self._exact_rows("addr", addr_key, cfg.bucket_cap))
            rows = np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int32)
            inspected = len(rows)
            rows = rows[self._alive.data[rows]]
            if exclude_order_id is not None:
                rows = rows[self._order.data[rows] != exclude_order_id]
            created = self._created.data[rows]
            recent = (created >= _epoch(now - window)) & (created <= _epoch(now))
            if cfg.include_open_beyond_window and len(rows):
                recent |= ~self._closed_flags()[self._status.data[rows]]
            rows = rows[recent]
            if sig is not None and len(rows):
                sims = (
                    estimate_jaccard(compact_signature(sig), self._sig.data[rows]) * self._has_text.data[rows]
                )
            else:
                sims = np.zeros(len(rows))
            same_phone = (self._phone.data[rows] == phone_key) & bool(phone_key)
            same_addr = (self._addr.data[rows] == addr_key) & bool(addr_key)
            similar = sims >= cfg.text_threshold
            keep = same_phone | same_addr | similar
            matches = [
                Match(
                    order_id=int(self._order.data[r]),
                    score=combine_score(float(s), bool(p), bool(a), cfg.weights),
                    reasons=tuple(
                        n for n, on in (("same_phone", p), ("same_address", a), ("similar_text", t)) if on
                    ),
                    text_similarity=round(float(s), 3),
                    created_at=datetime.fromtimestamp(int(self._created.data[r]), tz=now.tzinfo),
                    status=self._statuses[self._status.data[r]],
                    region_code=self._regions[self._region.data[r]],
                )
                for r, s, p, a, t in zip(
                    rows[keep], sims[keep], same_phone[keep], same_addr[keep], similar[keep], strict=True
                )
            ]
            matches.sort(key=lambda m: (-m.score, -m.created_at.timestamp(), m.order_id))
            return QueryResult(matches[:limit], inspected, self._live)

    # ---------------------------------------------------------------- introspection
    def __len__(self) -> int:
        return self._live

    def memory_bytes(self) -> int:
        """Bytes held by the index's arrays (allocated capacity), excluding interned tables."""
        cols = (self._order, self._created, self._status, self._region, self._phone, self._addr, self._sig)
        total = sum(c.data.nbytes for c in cols) + self._has_text.data.nbytes + self._alive.data.nbytes
        total += self._bandkey.data.nbytes + self._band_sorted.nbytes + self._band_rows.nbytes
        return total + sum(k.nbytes + r.nbytes for k, r in self._exact.values())
