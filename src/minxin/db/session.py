"""Engines, sessions and the unit of work: one commit per request or job.

SQLite notes: the file runs in WAL mode with a busy timeout, and *write* units of work start
with ``BEGIN IMMEDIATE``. Without it two writers can both read under a deferred transaction
and then fail to upgrade to a write lock ("database is locked") instead of waiting their turn.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use psycopg 3 for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        if parsed.database in (None, "", ":memory:"):
            raise ValueError("an in-memory SQLite database cannot be shared; use a file")
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 20)
    # no pre-ping (a round trip per checkout); recycle connections instead
    kwargs.setdefault("pool_recycle", 1800)
    return create_engine(url, **kwargs)


#: SQLite result codes: the database is locked; a read transaction's snapshot is out of date
_SQLITE_BUSY, _SQLITE_BUSY_SNAPSHOT = 5, 517


class StaleSnapshot(Exception):
    """An optimistic unit of work could not write: another writer committed after its reads
    (see :meth:`Database.optimistic_unit_of_work`). Nothing was written."""


class _WriterFileLock:
    """An exclusive ``flock`` on ``<database>-writer.lock``, taken around each SQLite write unit of
    work (under the process's writer lock, so one thread per process asks at a time).

    Why: with several server processes on one SQLite file (``uvicorn --workers N``), a writer
    that finds the database locked sleeps in SQLite's busy handler (1, 2, 5 … 100 ms) and often
    wakes after the lock was free and taken again: the file sat idle between writes and the p99
    of intake was 4.5 s at 32 clients with two processes against 1.1 s with one. A blocking
    ``flock`` wakes the next writer as soon as the lock is released. Re-entrant per thread (a unit
    of work inside another only counts); a no-op where ``fcntl`` is missing (Windows)."""

    def __init__(self, database: str | None) -> None:
        self.path = f"{database}-writer.lock" if database and fcntl is not None else None
        self._fd: int | None = None
        self._depth = threading.local()

    def acquire(self) -> bool:
        """Take the lock; True if this call took it (the outermost unit of work of the thread)."""
        if self.path is None:
            return False
        depth = getattr(self._depth, "n", 0)
        self._depth.n = depth + 1
        if depth:
            return False
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return True

    def release(self) -> None:
        self._depth.n = 0
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


class Database:
    """An engine plus two session factories: read (deferred) and write (immediate on SQLite)."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalise_url(url)
        self.engine = create_db_engine(self.url, **engine_kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        write_bind = self.engine.execution_options(sqlite_immediate=True) if self.is_sqlite else self.engine
        self._read = sessionmaker(bind=self.engine, expire_on_commit=False, autoflush=True)
        self._write = sessionmaker(bind=write_bind, expire_on_commit=False, autoflush=True)
        #: SQLite allows one writer at a time; writers of this process queue here, in order,
        #: instead of spinning in SQLite's sleep-and-retry busy handler (long, unfair tails)
        self._writer = threading.RLock() if self.is_sqlite else None
        #: ... and the processes sharing the file queue on an advisory lock beside it
        self._writer_file = _WriterFileLock(self.engine.url.database) if self.is_sqlite else None

    def session(self, *, write: bool = False) -> Session:
        return (self._write if write else self._read)()

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A write transaction: commits once on success, rolls back on any exception."""
        if self._writer is not None:
            self._writer.acquire()
        outermost = self._writer_file is not None and self._writer_file.acquire()
        session = self.session(write=True)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            if outermost:
                self._writer_file.release()  # type: ignore[union-attr]
            if self._writer is not None:
                self._writer.release()

    @contextmanager
    def optimistic_unit_of_work(self) -> Iterator[tuple[Session, Callable[[], None]]]:
        """A write transaction that reads first and takes the write lock only for its writes.

        Yields ``(session, lock)``: the caller reads (and computes) first, calls ``lock()``, then
        writes; the transaction commits at the end of the block, as :meth:`unit_of_work` does.

        Why: on SQLite one writer at a time holds the database, so a unit of work that computes
        for 10 ms between its reads and its writes makes every other writer wait 10 ms. Here the
        reads run under a deferred ``BEGIN`` (a WAL snapshot, no lock), and only ``lock()`` queues
        for the writer locks. Invariant (SQLite's own rule): the first write upgrades the snapshot
        to the write lock only if no other connection committed since the snapshot was taken;
        otherwise it fails at once, the transaction rolls back and :class:`StaleSnapshot` is raised
        (retry, or use :meth:`unit_of_work`). So what was written was computed from data that was
        still current: serializable, as with ``BEGIN IMMEDIATE``. Writes before ``lock()`` are a
        bug (they would take the lock without queueing). PostgreSQL: a plain :meth:`unit_of_work`
        (row locks taken by the reads hold until commit), and ``lock()`` does nothing."""
        if self._writer is None:
            with self.unit_of_work() as session:
                yield session, lambda: None
            return
        held = {"writer": False, "file": False}

        def lock() -> None:
            if not held["writer"]:
                self._writer.acquire()  # type: ignore[union-attr]
                held["writer"] = True
                held["file"] = self._writer_file is not None and self._writer_file.acquire()

        session = self.session(write=False)  # deferred BEGIN
        try:
            yield session, lock
            session.commit()
        except OperationalError as exc:
            session.rollback()
            code = getattr(exc.orig, "sqlite_errorcode", None)
            if held["writer"] and code in (_SQLITE_BUSY, _SQLITE_BUSY_SNAPSHOT):
                raise StaleSnapshot("another writer committed after this transaction's reads") from exc
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            if held["file"]:
                self._writer_file.release()  # type: ignore[union-attr]
            if held["writer"]:
                self._writer.release()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session; never commits. Closing (not rolling back) keeps loaded objects
        readable after the block, detached."""
        session = self.session(write=False)
        try:
            yield session
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


@lru_cache(maxsize=8)
def database_for(url: str) -> Database:
    return Database(url)
