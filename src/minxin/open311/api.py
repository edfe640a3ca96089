"""Open311 GeoReport v2 (+ mySociety's servicerequestupdates) over HTTP.

Production endpoint ``/open311/v2/``, test endpoint ``/open311/test/v2/`` (answers every read
exactly like production and validates every write — key, jurisdiction, service, attributes,
location — without creating anything), discovery at ``/open311/discovery.{xml,json}``.

Every answer, errors included, is in the format of the path's suffix with the spec's shapes
(``render``); errors are ``<errors>`` / a JSON array with 400 (bad or missing parameter),
403 (api_key missing, invalid, revoked or without the ``open311`` scope), 404 (unknown
jurisdiction, service, request, token or method), 429 (rate limit). Nothing a client sends
produces a 500.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from minxin.accounts.principal import Principal
from minxin.api.deps import State
from minxin.api.state import AppState
from minxin.errors import DomainError
from minxin.integrations import auth
from minxin.integrations.models import ApiKey
from minxin.open311 import catalog, forms, render, service, updates
from minxin.open311.forms import Params
from minxin.open311.schemas import Open311Error, Submission, parse_submission

log = logging.getLogger("minxin.open311")

Handler = Callable[[], Response]


def _format(fmt: str) -> str:
    return fmt.lower() if fmt.lower() in render.FORMATS else "xml"


def answer(fmt: str, handler: Handler) -> Response:
    """Run ``handler``; turn every failure into the spec's error body in the requested format."""
    out = _format(fmt)
    try:
        if fmt.lower() not in render.FORMATS:
            raise Open311Error(404, f"unknown format '{fmt}': use xml or json")
        return handler()
    except Open311Error as exc:
        return render.errors(out, exc.status, exc.descriptions, exc.headers)
    except DomainError as exc:
        status = exc.status_code if exc.status_code in (403, 404, 409, 429) else 400
        return render.errors(out, status, [f"{exc.message_en} ({exc.code})"])
    except (IntegrityError, StaleDataError):
        return render.errors(out, 409, ["conflicts with a concurrent change; retry"])
    except OperationalError:
        return render.errors(out, 503, ["database busy; retry shortly"])
    except Exception:
        log.exception("Open311 handler failed")
        return render.errors(out, 500, ["internal error (logged)"])


def _key(state: AppState, request: Request, params: Params, *, required: bool) -> tuple[ApiKey | None, Principal | None]:
    raw = params.get("api_key")
    if raw is None:
        if required:
            raise Open311Error(403, "api_key is required")
        return None, None
    client = request.client.host if request.client else None
    check = auth.check_key(state, raw, scope="open311", method=request.method, path=request.url.path, client=client)
    if check.error is not None:
        if check.error.status_code == 429:
            raise Open311Error(429, check.error.message_en, headers={"Retry-After": str(check.retry_after or 1)})
        raise Open311Error(403, f"api_key refused: {check.error.message_en}")
    return check.key, check.principal


def _jurisdiction(cfg: catalog.Config, params: Params) -> None:
    value = params.get("jurisdiction_id")
    if not cfg.jurisdiction_ok(value):
        raise Open311Error(404, f"jurisdiction_id {value} not found")


def _routes(prefix: str, *, sandbox: bool) -> APIRouter:
    r = APIRouter(prefix=prefix, tags=["open311"] if not sandbox else ["open311 (test endpoint)"],
                  include_in_schema=not sandbox)

    @r.get("/services.{fmt}", summary="GET Service List", response_class=Response)
    def services(fmt: str, request: Request, state: State) -> Response:
        def run() -> Response:
            params = forms.from_query(request)
            with state.db.reading() as session:
                _jurisdiction(catalog.config(session), params)
                items = catalog.services(session)
            return render.collection(_format(fmt), "services", "service", items)

        return answer(fmt, run)

    @r.get("/services/{code}.{fmt}", summary="GET Service Definition", response_class=Response)
    def definition(code: str, fmt: str, request: Request, state: State) -> Response:
        def run() -> Response:
            params = forms.from_query(request)
            with state.db.reading() as session:
                _jurisdiction(catalog.config(session), params)
                category = catalog.find_category(session, code)
                if category is None:
                    raise Open311Error(404, f"service_code {code} not found")
                body = catalog.definition(category)
            return render.document(_format(fmt), "service_definition", body)

        return answer(fmt, run)

    @r.post("/requests.{fmt}", summary="POST Service Request", response_class=Response)
    async def create_request(fmt: str, request: Request, state: State) -> Response:
        params = await forms.from_request(request, max_file_bytes=state.settings.max_upload_bytes)
        return await run_in_threadpool(answer, fmt, lambda: _create(state, request, params, fmt, sandbox))

    @r.get("/requests.{fmt}", summary="GET Service Requests", response_class=Response)
    def list_requests(fmt: str, request: Request, state: State) -> Response:
        def run() -> Response:
            params = forms.from_query(request)
            _, principal = _key(state, request, params, required=False)
            with state.db.reading() as session:
                _jurisdiction(catalog.config(session), params)
                items = service.find(
                    session, ids=params.get("service_request_id"), service_code=params.get("service_code"),
                    status=params.get("status"), start=params.get("start_date"), end=params.get("end_date"),
                    principal=principal, now=state.clock.now(), tz=state.tz,
                )
            return render.collection(_format(fmt), "service_requests", "request", items)

        return answer(fmt, run)

    @r.get("/requests/{request_id}.{fmt}", summary="GET Service Request", response_class=Response)
    def get_request(request_id: str, fmt: str, request: Request, state: State) -> Response:
        def run() -> Response:
            params = forms.from_query(request)
            _, principal = _key(state, request, params, required=False)
            with state.db.reading() as session:
                _jurisdiction(catalog.config(session), params)
                item = service.find_one(session, request_id, principal, state.tz)
            return render.collection(_format(fmt), "service_requests", "request", [item])

        return answer(fmt, run)

    @r.get("/tokens/{token}.{fmt}", summary="GET request_id from a token", response_class=Response)
    def token(token: str, fmt: str, request: Request, state: State) -> Response:
        def run() -> Response:
            params = forms.from_query(request)
            if sandbox:
                raise Open311Error(404, f"token {token} not found (the test endpoint creates nothing)")
            with state.db.unit_of_work() as session:
                _jurisdiction(catalog.config(session), params)
                item = service.resolve_token(session, token, now=state.clock.now(), settings=state.order_settings)
            return render.collection(_format(fmt), "service_requests", "request", [item])

        return answer(fmt, run)

    @r.get("/servicerequestupdates.{fmt}", summary="GET Service Request Updates (mySociety)", response_class=Response)
    def list_updates(fmt: str, request: Request, state: State) -> Response:
        def run() -> Response:
            params = forms.from_query(request)
            _, principal = _key(state, request, params, required=False)
            with state.db.reading() as session:
                _jurisdiction(catalog.config(session), params)
                items = updates.list_updates(session, start=params.get("start_date"), end=params.get("end_date"),
                                             principal=principal, now=state.clock.now(), tz=state.tz)
            return render.collection(_format(fmt), "service_request_updates", "request_update", items)

        return answer(fmt, run)

    @r.post("/servicerequestupdates.{fmt}", summary="POST Service Request Update (mySociety)", response_class=Response)
    async def post_update(fmt: str, request: Request, state: State) -> Response:
        params = await forms.from_request(request, max_file_bytes=state.settings.max_upload_bytes)
        return await run_in_threadpool(answer, fmt, lambda: _update(state, request, params, fmt, sandbox))

    return r


def _create(state: AppState, request: Request, params: Params, fmt: str, sandbox: bool) -> Response:
    if params.problem:
        raise Open311Error(400, params.problem)
    key, principal = _key(state, request, params, required=True)
    assert key is not None and principal is not None
    now = state.clock.now()
    with state.db.unit_of_work() as session:
        _jurisdiction(catalog.config(session), params)
        code = params.get("service_code")
        submission = parse_submission(params, catalog.find_category(session, code) if code else None, state.tz)
        if sandbox:
            item: dict[str, Any] = {"service_request_id": f"test-{secrets.token_hex(6)}",
                                    "service_notice": "测试端点：已校验，未创建工单 / test endpoint: validated, nothing created"}
        else:
            service.store_files(session, params.files, submission, actor=principal, now=now,
                                root=state.settings.attachments_dir, max_bytes=state.settings.max_upload_bytes)
            item = service.create(session, submission, key=key, actor=principal, now=now, settings=state.order_settings)
    item = {k: v for k, v in item.items() if v is not None}
    return render.collection(_format(fmt), "service_requests", "request", [item])


def _update(state: AppState, request: Request, params: Params, fmt: str, sandbox: bool) -> Response:
    if params.problem:
        raise Open311Error(400, params.problem)
    key, principal = _key(state, request, params, required=True)
    assert key is not None and principal is not None
    now = state.clock.now()
    with state.db.unit_of_work() as session:
        _jurisdiction(catalog.config(session), params)
        if sandbox:
            with session.begin_nested() as nested:
                updates.post_update(session, params, key=key, actor=principal, now=now, settings=state.order_settings,
                                    tz=state.tz)
                nested.rollback()
            item = {"update_id": f"test-{secrets.token_hex(6)}"}
        else:
            ids: list[str] = []
            if params.files:
                holder = Submission(service_code="")
                service.store_files(session, params.files, holder, actor=principal, now=now,
                                    root=state.settings.attachments_dir, max_bytes=state.settings.max_upload_bytes)
                ids = holder.attachment_ids
            item = updates.post_update(session, params, key=key, actor=principal, now=now, settings=state.order_settings,
                                       tz=state.tz, attachment_ids=ids)
    return render.collection(_format(fmt), "service_request_updates", "request_update", [item])


router = APIRouter()
router.include_router(_routes("/open311/v2", sandbox=False))
router.include_router(_routes("/open311/test/v2", sandbox=True))


@router.get("/open311/discovery.{fmt}", tags=["open311"], summary="Service discovery", response_class=Response)
def discovery(fmt: str, request: Request, state: State) -> Response:
    def run() -> Response:
        with state.db.unit_of_work() as session:
            body = catalog.discovery(session, base_url=str(request.base_url), now=state.clock.now(), tz=state.tz)
        return render.document(_format(fmt), "discovery", body)

    return answer(fmt, run)


@router.api_route("/open311/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def not_found(rest: str, request: Request) -> Response:
    """Anything else under /open311/ answers the spec's 404 in the suffix's format."""
    fmt = rest.rsplit(".", 1)[-1] if "." in rest else "xml"
    return render.errors(_format(fmt), 404, [f"no such Open311 method: {request.method} /open311/{rest}"])
