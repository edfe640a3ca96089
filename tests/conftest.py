"""Test fixtures: real databases (SQLite always, PostgreSQL when MINXIN_TEST_DATABASE_URL is
set), a real HTTP server on loopback, and logged-in clients for every demo role.

Every database-backed test runs once per backend (``backend`` is parametrised). Each test
gets its own database: a copy of a migrated, seeded template file on SQLite, and
``CREATE DATABASE ... TEMPLATE`` on PostgreSQL, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from minxin.api.state import AppState
from minxin.config import Settings
from minxin.core.clock import FixedClock, SystemClock
from minxin.db.migrate import upgrade
from minxin.db.session import Database, normalise_url
from minxin.main import build_state, create_app

#: the browser fixtures (``browser``, ``console``) for every package that drives Chromium
pytest_plugins = ["tests.browser_fixtures"]

PASSWORD = "pw-123456"
PG_URL = os.environ.get("MINXIN_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"]
REPO = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    return Path(os.environ.get("MINXIN_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("PostgreSQL tests need MINXIN_TEST_DATABASE_URL")
    return str(request.param)


def _seed(url: str) -> None:
    from minxin.categories import service as categories_service
    from minxin.demo.organisation import create_organisation

    db = Database(url)
    with db.unit_of_work() as session:
        create_organisation(session, password=PASSWORD, now=datetime(2026, 1, 1, tzinfo=UTC))
        categories_service.load_default_tree(session)
    db.dispose()


def _pg_admin_url() -> str:
    assert PG_URL
    return normalise_url(PG_URL)


def _pg_execute(sql: str) -> None:
    engine = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def _pg_url_for(dbname: str) -> str:
    return make_url(_pg_admin_url()).set(database=dbname).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def template(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database holding the demo organisation and the default categories."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        _seed(url)
        yield str(path)
        return
    name = f"minxin_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _pg_execute(f"CREATE DATABASE {name}")
    url = _pg_url_for(name)
    upgrade(url)
    _seed(url)
    yield name
    _pg_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def db_url(backend: str, template: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        target = tmp_path / "minxin.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    name = f"minxin_t_{uuid.uuid4().hex[:10]}"
    _pg_execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield _pg_url_for(name)
    _pg_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        secret_key="test-secret-key-not-for-production-0123456789",
        auto_migrate=False,
        worker_enabled=False,
    )


@pytest.fixture
def clock() -> SystemClock:
    return SystemClock()


@pytest.fixture
def state(settings: Settings, clock: SystemClock | FixedClock) -> Iterator[AppState]:
    st = build_state(settings, clock)
    yield st
    st.db.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """Uvicorn serving the app on loopback in a thread: tests talk real HTTP to it."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(state=state), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def server(state: AppState) -> Iterator[LiveServer]:
    live = LiveServer(state).start()
    yield live
    live.stop()


def login(base_url: str, username: str, password: str = PASSWORD) -> httpx.Client:
    response = httpx.post(f"{base_url}/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture
def token_for(state: AppState) -> Callable[[str], str]:
    """A bearer token for a demo user, issued like the login endpoint does (without argon2's cost)."""
    from minxin.accounts import repository as accounts_repository
    from minxin.accounts import tokens

    def issue(username: str) -> str:
        with state.db.reading() as session:
            user = accounts_repository.get_by_username(session, username)
            assert user is not None, username
            return tokens.issue(
                secret=state.secret_key, user_id=user.id, token_version=user.token_version, now=datetime.now(UTC), ttl_minutes=60
            )

    return issue


@pytest.fixture
def as_user(server: LiveServer, token_for: Callable[[str], str]) -> Iterator[Callable[[str], httpx.Client]]:
    """``as_user("dispatcher")`` → an httpx client with that demo user's bearer token (cached)."""
    clients: dict[str, httpx.Client] = {}

    def get(username: str) -> httpx.Client:
        if username not in clients:
            clients[username] = httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {token_for(username)}"}, timeout=30
            )
        return clients[username]

    yield get
    for client in clients.values():
        client.close()
