"""The FastAPI application: ``create_app(settings, store, bus)``.

The app owns no I/O of its own: the store (SQL) and the bus (Kafka or in-process)
arrive ready. The embedded run may also pass its camera status registry and answer
notifier so the dashboard shows live stream state and answers without delay. Given a
bus but no registry (``feedwatch api --kafka``), the app follows the bus's camera
status topic into its own registry while it is served (see
:mod:`workers.api.status_follow`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.utils import is_body_allowed_for_status_code
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.bus.base import Bus
from connectors.store import Store
from connectors.store.reads import Reads
from pipeline import __version__
from pipeline.errors import StoreDataError, StoreError
from workers.api import (
    routes_alerts,
    routes_answers,
    routes_backfills,
    routes_cameras,
    routes_clips,
    routes_deadletters,
    routes_feedback,
    routes_history,
    routes_ops,
    routes_queries,
    routes_query_cameras,
    routes_state,
    routes_summary,
)
from workers.api.auth import TokenAuth, refuse_example_tokens
from workers.api.context import ApiContext
from workers.api.guard import AuthThrottle, StreamSlots
from workers.api.limits import BodyLimit, short_errors, storable_params
from workers.api.live import AnswerNotifier, CameraStatusRegistry
from workers.api.openapi import exact_openapi
from workers.api.publish import QueryPublisher
from workers.api.status_follow import StatusFollower
from workers.config import Settings, secret_box
from workers.history.service import HistoryService
from workers.ops.metrics import HTTP_LATENCY

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
DESCRIPTION = """Standing natural-language questions on live camera feeds.

Reads need a bearer token with the read (or write) scope and writes one with the write
scope, once any token is configured (`FEEDWATCH_API_READ_TOKENS`,
`FEEDWATCH_API_WRITE_TOKENS`). `/health` and `/ready` are always open. Times are UTC
epoch seconds."""


class RequestMetrics:
    """Pure ASGI middleware timing each request to its response headers, per route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = getattr(scope.get("route"), "path", "other")
                HTTP_LATENCY.labels(scope["method"], route, str(message["status"])).observe(
                    time.perf_counter() - start
                )
            await send(message)

        await self.app(scope, receive, timed_send)


def _queries_topic(settings: Settings, bus: Bus | None) -> str:
    """The compacted queries topic: the Kafka bus's own settings win over the root's."""
    cfg = getattr(bus, "cfg", None) or settings.kafka
    return f"{cfg.topic_prefix}{cfg.queries_topic}"


def _status_topic(settings: Settings, bus: Bus | None) -> str:
    """The compacted camera-status topic, named like the queries topic."""
    cfg = getattr(bus, "cfg", None) or settings.kafka
    return f"{cfg.topic_prefix}{getattr(cfg, 'status_topic', 'status')}"


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def _lifespan(follower: StatusFollower | None, history: HistoryService) -> Lifespan:
    """Start the status follower and the backfill runner with the server, stop them on
    shutdown (a running backfill goes back to the queue for the next runner)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if follower is not None:
            follower.start()
        history.runner.start()
        try:
            yield
        finally:
            await run_in_threadpool(history.runner.stop)
            if follower is not None:
                follower.stop()

    return lifespan


def _add_page(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)


class SafeJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped: a lone surrogate sent in a request (echoed back in
    a 422, or stored) must not make the UTF-8 encoder raise and turn it into a 500."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        return text.encode()


async def _safe_validation(_request: Request, exc: Exception) -> Response:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return SafeJSONResponse({"detail": jsonable_encoder(short_errors(errors))}, status_code=422)


async def _safe_http(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    if not is_body_allowed_for_status_code(exc.status_code):
        return Response(status_code=exc.status_code, headers=headers)
    detail = short_errors(exc.detail) if isinstance(exc.detail, list) else exc.detail
    return SafeJSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)


async def _store_failed(_request: Request, exc: Exception) -> Response:
    """A value the store refused is the client's (422); anything else an outage (503).
    Neither says more than that: no SQL, no parameters, no addresses."""
    if isinstance(exc, StoreDataError):
        log.info("store refused a value: %s", exc)
        detail = [{"loc": ["request"], "type": "value_error", "msg": "the store cannot hold a "
                   "value of this request (it conflicts with a stored row, or holds a character "
                   "such as NUL the store refuses)"}]
        return SafeJSONResponse({"detail": detail}, status_code=422)
    log.warning("store unavailable: %s", exc)
    return SafeJSONResponse({"detail": "store unavailable"}, status_code=503)


def create_app(
    settings: Settings,
    store: Store,
    bus: Bus | None = None,
    *,
    registry: CameraStatusRegistry | None = None,
    notifier: AnswerNotifier | None = None,
    queries_topic: str | None = None,
) -> FastAPI:
    """The API and dashboard over ``store``; queries are also published on ``bus``.

    With ``bus`` and no ``registry``, camera status comes from the bus's status topic.
    """
    refuse_example_tokens(settings.api.read_tokens, settings.api.write_tokens)
    auth = TokenAuth.from_secrets(settings.api.read_tokens, settings.api.write_tokens)
    auth.warn_if_open()
    follower = None
    if bus is not None and registry is None:
        registry = CameraStatusRegistry()
        follower = StatusFollower(bus, _status_topic(settings, bus), registry)
    history = HistoryService(store, settings.perception, settings.api)
    app = FastAPI(
        title="feedwatch",
        version=__version__,
        description=DESCRIPTION,
        default_response_class=SafeJSONResponse,
        lifespan=_lifespan(follower, history),
        dependencies=[Depends(storable_params)],
    )
    app.state.auth = auth
    app.state.auth_throttle = AuthThrottle(settings.api.auth_failures, settings.api.auth_window_s)
    app.state.stream_slots = StreamSlots(settings.api.streams_per_token)
    app.state.status_follower = follower
    app.state.fw = ApiContext(
        settings=settings.api,
        data=Reads(store),
        bus=bus,
        publisher=QueryPublisher(bus, queries_topic or _queries_topic(settings, bus)),
        registry=registry or CameraStatusRegistry(),
        notifier=notifier or AnswerNotifier(),
        auth=auth,
    )
    app.state.hooks_settings = settings.hooks
    app.state.secret_box = secret_box(settings)
    app.state.clips = routes_clips.ClipAccess(settings, store)
    app.state.history = history
    # summary and runs go before routes_answers, whose /api/answers/{answer_id} would take them
    routers = (routes_ops, routes_cameras, routes_queries, routes_backfills, routes_state,
               routes_query_cameras,
               routes_summary, routes_answers, routes_feedback, routes_history,
               routes_deadletters)
    for module in (*routers, routes_alerts, routes_clips):
        app.include_router(module.router)
    exact_openapi(app, settings.api)
    app.add_exception_handler(StoreError, _store_failed)
    app.add_exception_handler(RequestValidationError, _safe_validation)
    app.add_exception_handler(StarletteHTTPException, _safe_http)
    _add_page(app)
    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.api.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        )
    app.add_middleware(BodyLimit, limit=settings.api.max_body_bytes)
    app.add_middleware(RequestMetrics)
    return app
