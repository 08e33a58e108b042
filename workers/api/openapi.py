"""The OpenAPI document states every status a route returns (clients are generated
from it), not only the ones a route declares itself.

Each operation is documented with what the app adds around it: 400 when its JSON
body does not parse, 413 when it is over the body limit, 401 without a valid token, 429
after too many invalid ones from the address, and 403 with a read token where the
write scope is needed (its security scheme,
:data:`workers.api.auth.BEARERS`), and 503 under ``/api`` when the store is
unreachable. A path or query text parameter without a pattern of its own is stated to
hold no NUL (:func:`workers.api.limits.storable_params` refuses it). Settings that
narrow what a request may carry (only network camera sources,
:data:`workers.api.schemas.NETWORK_SOURCE`) narrow the schema too.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from workers.api.auth import BEARERS, Scope
from workers.api.schemas import NETWORK_SOURCE, ErrorBody
from workers.config import ApiSettings

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
METHODS = ("get", "put", "post", "patch", "delete")


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


UNPARSABLE = _error("The body is not parsable JSON")
TOO_LARGE = _error("The body is over the API's limit (FEEDWATCH_API_MAX_BODY_BYTES)")
UNAUTHENTICATED = _error("No bearer token, or not a valid one (see WWW-Authenticate)")
FORBIDDEN = _error("The token lacks the write scope")
THROTTLED = {
    **_error("Too many invalid tokens from this address lately (FEEDWATCH_API_AUTH_FAILURES "
             "per FEEDWATCH_API_AUTH_WINDOW_S); retry after ``Retry-After`` seconds"),
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
}
STORE_DOWN = _error("The store is unreachable")


def _schemes(operation: dict[str, Any]) -> set[str]:
    return {name for requirement in operation.get("security", []) for name in requirement}


def _added(path: str, operation: dict[str, Any]) -> dict[str, Any]:
    added: dict[str, Any] = {}
    if "requestBody" in operation:
        added["400"] = UNPARSABLE
        added["413"] = TOO_LARGE
    schemes = _schemes(operation)
    if schemes:
        added["401"] = UNAUTHENTICATED
        added["429"] = THROTTLED
    if BEARERS[Scope.write].scheme_name in schemes:
        added["403"] = FORBIDDEN
    if path.startswith("/api/"):
        added["503"] = STORE_DOWN
    return added


def document_statuses(schema: dict[str, Any]) -> None:
    """Add the statuses the app returns around each operation to its responses."""
    for path, operations in schema.get("paths", {}).items():
        for method in METHODS:
            if (operation := operations.get(method)) is not None:
                operation["responses"] = {**_added(path, operation), **operation["responses"]}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("ErrorBody", ErrorBody.model_json_schema())


NO_NUL = "^[^\\u0000]*$"


def no_nul_params(schema: dict[str, Any]) -> None:
    """Every text parameter without a pattern gets :data:`NO_NUL`."""
    for operations in schema.get("paths", {}).values():
        for method in METHODS:
            for param in (operations.get(method) or {}).get("parameters", []):
                if param.get("in") not in ("path", "query"):
                    continue
                for option in [param.get("schema", {}), *param.get("schema", {}).get("anyOf", [])]:
                    if option.get("type") == "string" and "pattern" not in option:
                        option["pattern"] = NO_NUL


def exact_openapi(app: FastAPI, settings: ApiSettings) -> None:
    """Serve the schema with the statuses and what these settings refuse written in."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            document_statuses(schema)
            no_nul_params(schema)
            camera_in = schema.get("components", {}).get("schemas", {}).get("CameraIn")
            if camera_in is not None and not settings.allow_local_sources:
                camera_in["properties"]["source"]["pattern"] = NETWORK_SOURCE
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
