"""Offline API docs: ``/docs`` served with the Swagger UI that the ``fastapi-offline`` wheel ships.

FastAPI's default ``/docs`` page loads Swagger UI from a CDN and ``/redoc`` loads ReDoc plus
Google Fonts; neither works on a government intranet. ``install`` swaps ``/docs`` for the
same page built from local files (validator badge off, so it never calls out) and sends
``/redoc`` to ``/docs``. The files come from an installed package (Swagger UI 5, which reads
the OpenAPI 3.1 that FastAPI writes) rather than a copy in this repository; only its static
folder is used, mounted at ``SWAGGER_URL``, not its app factory.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from minxin.web.render import asset

SWAGGER_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
SWAGGER_URL = "/static-swagger"


@cache
def swagger_asset(name: str) -> str:
    """``SWAGGER_URL/<name>?v=<content hash>`` (cached for a year by the browser, like ``asset``)."""
    digest = hashlib.sha256((SWAGGER_DIR / name).read_bytes()).hexdigest()[:10]
    return f"{SWAGGER_URL}/{name}?v={digest}"


def install(app: FastAPI) -> None:
    docs_url, redoc_url, openapi_url = app.docs_url, app.redoc_url, app.openapi_url
    if not docs_url or not openapi_url:
        return
    if any(getattr(r, "name", "") == "offline_docs" for r in app.router.routes):
        return
    from minxin.web import _static_files

    if not any(getattr(r, "name", "") == "swagger_static" for r in app.router.routes):
        app.mount(SWAGGER_URL, _static_files(SWAGGER_DIR), name="swagger_static")
    replaced = {docs_url, redoc_url}
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) not in replaced]

    def offline_docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - API",
            swagger_js_url=swagger_asset("swagger-ui-bundle.js"),
            swagger_css_url=swagger_asset("swagger-ui.css"),
            swagger_favicon_url=asset("img/favicon.png"),
            oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
            swagger_ui_parameters={"validatorUrl": None},
        )

    app.add_api_route(docs_url, offline_docs, methods=["GET"], include_in_schema=False, name="offline_docs")
    if redoc_url:
        app.add_api_route(
            redoc_url, lambda: RedirectResponse(docs_url), methods=["GET"], include_in_schema=False, name="offline_redoc"
        )
