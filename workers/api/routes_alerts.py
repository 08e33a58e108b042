"""``/api/hooks``, ``/api/rules``, ``/api/incidents``, ``/api/deliveries``.

CRUD for alert hooks and rules (write scope), listings of incidents and deliveries
with their status (read scope). Hook URLs come back redacted and secrets never come
back. Include with ``app.include_router(routes_alerts.router)``; the private-target
policy is ``app.state.hooks_settings`` (``HooksSettings``) when set, else the
environment (``FEEDWATCH_HOOKS_ALLOW_PRIVATE``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from starlette.concurrency import run_in_threadpool

from connectors.store.alerts_repo import AlertStore
from pipeline.alerts.model import (
    INT32_MAX,
    MAX_RULE_HOOKS,
    PATTERN_MAX,
    Condition,
    ConditionKind,
    Rule,
)
from pipeline.errors import ConfigError
from workers.api.auth import read_access, write_access
from workers.api.context import ApiContext, context
from workers.api.guard import check_room
from workers.api.schemas import ErrorBody, FieldErrors, field_error
from workers.config import ApiSettings, HooksSettings

router = APIRouter(prefix="/api", tags=["alerts"])
Responses = dict[int | str, dict[str, Any]]
Endpoint = Callable[..., Any]
PORT = r"(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
"""Port 1-65535 when a colon is given (":" alone, ":0" and ":0080" are refused)."""
HOOK_URL = (
    r"^[hH][tT][tT][pP][sS]?://([^@/?#\[\]\x00-\x20\x7f]+@)?[A-Za-z0-9._~!$&'()*+,;=%-]+"
    + PORT
    + r"([/?#][^\x00-\x20\x7f]*)?$"
)
"""An http(s) URL with a host name or IPv4 address (what the target check can parse)."""
NOT_FOUND: Responses = {404: {"model": ErrorBody, "description": "No such hook or rule"}}
TARGET_REFUSED: Responses = {
    403: {
        "model": ErrorBody,
        "description": "The token lacks the write scope, or the URL's host does not resolve "
        "or resolves to a private address (allowed only with FEEDWATCH_HOOKS_ALLOW_PRIVATE=1)",
    }
}
UNKNOWN_HOOK: Responses = {
    409: {"model": FieldErrors, "description": "The query id is not a stored query, a hook "
          "id is not registered, or as many rules as allowed exist (FEEDWATCH_API_MAX_ITEMS)"}
}
TOO_MANY_HOOKS: Responses = {
    409: {"model": FieldErrors,
          "description": "As many hooks as allowed exist (FEEDWATCH_API_MAX_ITEMS)"}
}


NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
"""An id's text: no control characters (PostgreSQL refuses NUL in text)."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HookCreate(StrictModel):
    url: str = Field(
        pattern=HOOK_URL,
        max_length=2000,
        description="http(s) URL; private targets need allow_private in settings",
    )
    type: Literal["webhook", "slack"] = "webhook"
    name: str = Field("", max_length=200,
                      pattern=r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$",
                      description="A label (no control, line-separator or bidi-override "
                      "characters).")
    secret: SecretStr | None = Field(None, min_length=1,
                                     description="HMAC key for X-Feedwatch-Signature")
    cooldown_s: float | None = Field(None, ge=0)
    rate_cap: int | None = Field(None, ge=0, le=INT32_MAX)
    rate_period_s: float | None = Field(None, gt=0)


def _condition_needs(schema: dict[str, Any]) -> None:
    """score_at_least needs a threshold, text_regex a pattern (stated as if/then)."""
    schema["allOf"] = [
        {
            "if": {"properties": {"condition": {"const": kind}}, "required": ["condition"]},
            "then": {"properties": {field: needs}, "required": [field]},
        }
        for kind, field, needs in (
            (ConditionKind.SCORE_AT_LEAST.value, "threshold", {"type": "number"}),
            (
                ConditionKind.TEXT_REGEX.value,
                "pattern",
                {"type": "string", "minLength": 1, "format": "regex"},
            ),
        )
    ]


class RuleCreate(StrictModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_condition_needs)

    query_id: str = Field(min_length=1, max_length=200, pattern=NO_CONTROL)
    condition: ConditionKind = ConditionKind.MATCHED
    threshold: float | None = Field(None, allow_inf_nan=False)
    pattern: str | None = Field(
        None, max_length=PATTERN_MAX, pattern=r"^[^\x00]*$",
        description="A regular expression (text_regex); a NUL is written \\x00.",
    )  # RE2 syntax (pipeline.alerts.model): no backreferences or lookaround
    open_after: int = Field(1, ge=1, le=INT32_MAX)
    close_after: int = Field(1, ge=1, le=INT32_MAX)
    min_duration_s: float = Field(0.0, ge=0, strict=True)
    notify_close: bool = Field(False, strict=True)
    hooks: list[Annotated[str, Field(min_length=1, max_length=200, pattern=NO_CONTROL)]] = Field(
        default_factory=list, max_length=MAX_RULE_HOOKS,
        description=f"Ids of registered hooks (at most {MAX_RULE_HOOKS}).",
    )


def _alerts(request: Request, ctx: ApiContext = Depends(context)) -> AlertStore:
    return AlertStore(ctx.data.store.engine, getattr(request.app.state, "secret_box", None))


def _hooks_settings(request: Request) -> HooksSettings:
    return getattr(request.app.state, "hooks_settings", None) or HooksSettings()


def _max_items(request: Request) -> int:
    """How many hooks (and rules) a client may add; the default where this router is
    served without the rest of the API."""
    ctx: ApiContext | None = getattr(request.app.state, "fw", None)
    default = ApiSettings.model_fields["max_items"].default
    return int(ctx.settings.max_items if ctx is not None else default)


def _unprocessable(exc: ConfigError) -> HTTPException:
    field = exc.field.split(".")[-1]
    return field_error(field, exc.value, f"not allowed; {exc.allowed}")


def _refused_target(exc: ConfigError) -> HTTPException:
    """A URL the schema allows whose host the target policy refuses (or cannot resolve)."""
    detail = f"url: {exc.value!r} refused: {exc.allowed}"
    return HTTPException(status.HTTP_403_FORBIDDEN, detail=detail)


def _addition(path: str, summary: str, refusals: Responses) -> Callable[[Endpoint], Endpoint]:
    """A POST route of the write scope that answers 201 with what it added."""
    return router.post(
        path, status_code=201, dependencies=[write_access], responses=refusals, summary=summary
    )


def _removal(path: str, summary: str) -> Callable[[Endpoint], Endpoint]:
    """A DELETE route of the write scope: 204 when removed, 404 when there was nothing."""
    return router.delete(
        path, status_code=204, dependencies=[write_access], responses=NOT_FOUND, summary=summary
    )


async def _removed(remove: Callable[[str], bool], what: str, item_id: str) -> Response:
    if not await run_in_threadpool(remove, item_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no {what} {item_id!r}")
    return Response(status_code=204)


@router.get("/hooks", dependencies=[read_access], summary="List hooks (URLs redacted)")
async def list_hooks(alerts: AlertStore = Depends(_alerts)) -> list[dict[str, Any]]:
    return await run_in_threadpool(alerts.hooks)


@_addition("/hooks", "Add a hook", {**TARGET_REFUSED, **TOO_MANY_HOOKS})
async def add_hook(
    body: HookCreate, request: Request, alerts: AlertStore = Depends(_alerts)
) -> dict[str, Any]:
    check_room(len(await run_in_threadpool(alerts.hook_rows)), _max_items(request), "hooks")
    secret = body.secret.get_secret_value() if body.secret else None
    allow = _hooks_settings(request).allow_private
    try:
        return await run_in_threadpool(
            lambda: alerts.add_hook(
                body.url,
                type=body.type,
                name=body.name,
                secret=secret,
                allow_private=allow,
                cooldown_s=body.cooldown_s,
                rate_cap=body.rate_cap,
                rate_period_s=body.rate_period_s,
            )
        )
    except ConfigError as exc:
        raise _refused_target(exc) if exc.field == "hook.url" else _unprocessable(exc) from None


@_removal("/hooks/{hook_id}", "Remove a hook; its pending deliveries become dead")
async def remove_hook(hook_id: str, alerts: AlertStore = Depends(_alerts)) -> Response:
    return await _removed(alerts.remove_hook, "hook", hook_id)


@router.get("/rules", dependencies=[read_access], summary="List alert rules")
async def list_rules(
    query_id: str | None = None, alerts: AlertStore = Depends(_alerts)
) -> list[dict[str, Any]]:
    return await run_in_threadpool(alerts.rules, query_id)


@_addition("/rules", "Add a rule", UNKNOWN_HOOK)
async def add_rule(
    body: RuleCreate, request: Request, alerts: AlertStore = Depends(_alerts)
) -> dict[str, Any]:
    check_room(len(await run_in_threadpool(alerts.rules)), _max_items(request), "rules")
    try:
        rule = Rule(
            "",
            body.query_id,
            Condition(body.condition, body.threshold, body.pattern),
            body.open_after,
            body.close_after,
            body.min_duration_s,
            body.notify_close,
            tuple(body.hooks),
        )
    except ConfigError as exc:
        raise _unprocessable(exc) from None
    answerer = await run_in_threadpool(alerts.stored_answerer, body.query_id)
    if answerer is None:
        raise field_error("query_id", body.query_id,
                          "the id of a stored query (GET /api/queries)",
                          code=status.HTTP_409_CONFLICT)
    if body.condition is ConditionKind.VERIFIED and answerer == "clip":  # never confirmed
        raise field_error("condition", body.condition.value,
                          "a condition a clip query can meet (verified needs answerer vlm "
                          "or cascade)", code=status.HTTP_409_CONFLICT)
    try:
        return await run_in_threadpool(alerts.add_rule, rule)
    except ConfigError as exc:
        if exc.field == "rule.hooks":
            raise field_error(
                "hooks", exc.value, exc.allowed, code=status.HTTP_409_CONFLICT
            ) from None
        raise _unprocessable(exc) from None


@_removal("/rules/{rule_id}", "Remove a rule")
async def remove_rule(rule_id: str, alerts: AlertStore = Depends(_alerts)) -> Response:
    return await _removed(alerts.remove_rule, "rule", rule_id)


@router.get("/incidents", dependencies=[read_access], summary="Incidents, newest first")
async def list_incidents(
    state: Literal["open", "closed"] | None = None,
    limit: int = Query(100, ge=1, le=1000),
    alerts: AlertStore = Depends(_alerts),
) -> list[dict[str, Any]]:
    return await run_in_threadpool(lambda: alerts.incidents(state=state, limit=limit))


@router.get("/deliveries", dependencies=[read_access], summary="Deliveries with status")
async def list_deliveries(
    status_: Literal["pending", "sending", "delivered", "dead", "suppressed"] | None = Query(
        None, alias="status"
    ),
    incident_id: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    alerts: AlertStore = Depends(_alerts),
) -> list[dict[str, Any]]:
    rows = await run_in_threadpool(
        lambda: alerts.deliveries(status=status_, incident_id=incident_id, limit=limit)
    )
    for row in rows:  # the payload is the receiver's business; keep the listing small
        row.pop("payload", None)
    return rows
