"""The Chinese web console (issue #5): server-rendered pages on the API's port, no CDN.

Pages live in ``minxin.web.routes`` (listed in ``wiring.ROUTER_MODULES``). ``install(app)``
adds what a router cannot: the ``/static`` mount, the HTML error pages (so a browser never
sees JSON or a traceback) and the session-cookie authenticator that lets the console's own
scripts, ``<img>`` and ``<audio>`` tags call the JSON API; and ``/docs`` served from the Swagger
UI files of the ``fastapi-offline`` wheel instead of a CDN (``web.docs``). It is idempotent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"


def install(app: FastAPI) -> None:
    """Mount ``/static`` and register the HTML error renderer and the cookie authenticator."""
    from minxin.web import auth, docs, errors

    if not any(getattr(route, "name", None) == "static" for route in app.router.routes):
        app.mount("/static", _static_files(), name="static")
    errors.register()
    auth.register()
    docs.install(app)


def _static_files(directory: Path = STATIC_DIR) -> Any:
    """Static files; a URL carrying ``?v=<content hash>`` (``render.asset``) is cached for a
    year, so an office PC downloads the stylesheet and scripts once per release."""
    from fastapi.staticfiles import StaticFiles
    from starlette.responses import Response
    from starlette.types import Scope

    class VersionedStaticFiles(StaticFiles):
        def file_response(self, full_path: Any, stat_result: Any, scope: Scope, status_code: int = 200) -> Response:
            response = super().file_response(full_path, stat_result, scope, status_code)
            if b"v=" in scope.get("query_string", b""):
                response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
            return response

    return VersionedStaticFiles(directory=directory)
