"""Operations: liveness, readiness (database and Kafka) and Prometheus metrics.

``/ready`` needs no token, so what it says of a failure names no host, address or user
(the full reason is logged).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from connectors.bus.base import Bus
from workers.api.auth import BEARERS, Scope, TokenAuth, read_access
from workers.api.context import ApiContext, context
from workers.api.schemas import Check, Health
from workers.ops import metrics

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)
CHECK_TIMEOUT_S = 5.0


class NotReady(Exception):
    """A check's own finding, worded for anyone who may read ``/ready``."""


def _kafka_check(bus: Bus, queries_topic: str) -> str:
    """Ask the brokers for the topic list; the queries topic must exist."""
    from connectors.kafka import TopicAdmin  # noqa: PLC0415 - only in Kafka mode

    admin = TopicAdmin.from_config(bus.cfg)  # type: ignore[attr-defined]
    try:
        if queries_topic not in admin.existing():
            raise NotReady(f"topic {queries_topic!r} missing")
    finally:
        admin.close()
    return "brokers answer"  # where they are is the deployment's business, not /ready's


def _bus_check(ctx: ApiContext) -> str:
    if ctx.bus is None:
        return "no bus configured"
    if getattr(getattr(ctx.bus, "cfg", None), "bootstrap", ""):
        return _kafka_check(ctx.bus, ctx.publisher.topic)
    return "in-process bus"


async def _run_check(work: Any) -> Check:
    try:
        detail = await asyncio.wait_for(run_in_threadpool(work), CHECK_TIMEOUT_S)
    except TimeoutError:
        return Check(ok=False, detail=f"no answer within {CHECK_TIMEOUT_S:g} s")
    except NotReady as exc:
        return Check(ok=False, detail=str(exc)[:300])
    except Exception as exc:  # readiness reports any failure instead of raising
        # /ready needs no token: a driver's message (host, address, port, user) goes to
        # the log only
        log.warning("readiness check failed: %s: %s", type(exc).__name__, exc)
        return Check(ok=False, detail=f"{type(exc).__name__} (the reason is in the API's log)")
    return Check(ok=True, detail=detail or "")


@router.get("/health", response_model=Health, summary="Liveness (no token needed)")
async def health() -> Health:
    """200 while the process serves requests; checks nothing else."""
    return Health(status="ok")


@router.get(
    "/ready",
    response_model=Health,
    summary="Readiness: database and Kafka",
    responses={503: {"model": Health, "description": "A dependency is down"}},
)
async def ready(response: Response, ctx: ApiContext = Depends(context)) -> Health:
    """200 when the database answers and (in Kafka mode) the brokers list the queries topic."""
    checks = {
        "database": await _run_check(ctx.data.ping),
        "bus": await _run_check(lambda: _bus_check(ctx)),
    }
    ok = all(c.ok for c in checks.values())
    if not ok:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Health(status="ok" if ok else "unavailable", checks=checks)


@router.get(
    "/metrics",
    dependencies=[read_access],
    response_class=Response,
    summary="Prometheus metrics",
    responses={200: {"content": {"text/plain": {}}}},
)
async def prometheus() -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)


class TokenScopes(BaseModel):
    scopes: list[Scope]


@router.get("/api/token", response_model=TokenScopes, dependencies=[read_access],
            summary="What the presented token may do")
async def token_scopes(
    request: Request, creds: HTTPAuthorizationCredentials | None = Depends(BEARERS[Scope.read])
) -> TokenScopes:
    """The scopes of the token sent (``read``, or ``read`` and ``write``): the dashboard
    disables its write actions for a read token instead of letting each one fail."""
    auth: TokenAuth = request.app.state.auth
    return TokenScopes(scopes=sorted(auth.scopes(creds.credentials if creds else None)))
