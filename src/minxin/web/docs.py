"""Offline API docs: ``/docs`` served with the Swagger UI vendored under ``static/vendor``.

FastAPI's default ``/docs`` page loads Swagger UI from a CDN and ``/redoc`` loads ReDoc plus
Google Fonts; neither works on a government intranet. ``install`` swaps ``/docs`` for the
same page built from local files (validator badge off, so it never calls out) and sends
``/redoc`` to ``/docs``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from minxin.web.render import asset

SWAGGER = "vendor/swagger-ui-5.35.0"


def install(app: FastAPI) -> None:
    docs_url, redoc_url, openapi_url = app.docs_url, app.redoc_url, app.openapi_url
    if not docs_url or not openapi_url:
        return
    if any(getattr(r, "name", "") == "offline_docs" for r in app.router.routes):
        return
    replaced = {docs_url, redoc_url}
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) not in replaced]

    def offline_docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - API",
            swagger_js_url=asset(f"{SWAGGER}/swagger-ui-bundle.js"),
            swagger_css_url=asset(f"{SWAGGER}/swagger-ui.css"),
            swagger_favicon_url=asset("img/favicon.png"),
            oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
            swagger_ui_parameters={"validatorUrl": None},
        )

    app.add_api_route(docs_url, offline_docs, methods=["GET"], include_in_schema=False, name="offline_docs")
    if redoc_url:
        app.add_api_route(
            redoc_url, lambda: RedirectResponse(docs_url), methods=["GET"], include_in_schema=False, name="offline_redoc"
        )
