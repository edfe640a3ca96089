"""Browser fixtures: headless Chromium (Debian's ``chromium``) driven by Playwright.

``console`` opens one browser context per user (their own cookies), records every request
any page makes (tests assert they all stay on 127.0.0.1) and saves screenshots under
``test-artifacts/screenshots/``. Tests are skipped cleanly when Chromium or Playwright is
absent; ``.ci/run`` installs Chromium.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PASSWORD, REPO, LiveServer

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"


def _chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or ""):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = _chromium()
    if executable is None:
        pytest.skip("browser tests need Chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    playwright = sync_api.sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
    except Exception as exc:  # a broken browser install is an environment problem, not a failure
        playwright.stop()
        pytest.skip(f"Chromium did not start: {exc}")
    yield chromium
    chromium.close()
    playwright.stop()


@dataclass
class Console:
    """Pages as given users, on the live server, with every request recorded."""

    server: LiveServer
    browser: Any
    token_for: Callable[[str], str]
    requests: list[str] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def _context(self, **options: Any) -> Any:
        context = self.browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **options)
        context.set_default_timeout(20_000)
        context.on("request", lambda request: self.requests.append(request.url))
        self.contexts.append(context)
        return context

    def anonymous(self, **options: Any) -> Any:
        return self._context(**options).new_page()

    def page_as(self, username: str, **options: Any) -> Any:
        """A page already logged in as ``username`` (session cookie set like the login form does)."""
        context = self._context(**options)
        context.add_cookies(
            [{"name": "minxin_session", "value": self.token_for(username), "url": self.url, "httpOnly": True, "sameSite": "Lax"}]
        )
        return context.new_page()

    def login(self, username: str, password: str = PASSWORD, **options: Any) -> Any:
        """A page logged in through the real login form."""
        page = self.anonymous(**options)
        page.goto(f"{self.url}/login")
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{self.url}/")
        return page

    def goto(self, page: Any, path: str) -> Any:
        response = page.goto(f"{self.url}{path}")
        assert response is not None
        return response

    def shot(self, page: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def external_requests(self) -> list[str]:
        local = (f"{self.url}/", "http://127.0.0.1:")
        return [u for u in self.requests if not u.startswith(local) and not u.startswith(("data:", "blob:"))]


@pytest.fixture
def console(server: LiveServer, browser: Any, token_for: Callable[[str], str]) -> Iterator[Console]:
    live = Console(server=server, browser=browser, token_for=token_for)
    yield live
    for context in live.contexts:
        context.close()
