"""Bearer-token auth with two scopes: read and write.

A write token also grants reads. When no token is configured at all the API is
open (a warning is logged at startup); once any token exists, every route except
``/health`` and ``/ready`` needs one: 401 without a valid token, 403 with a valid
token that lacks the scope. Tokens are compared in constant time. An address that
keeps presenting invalid tokens is slowed (:class:`workers.api.guard.AuthThrottle`),
and the example tokens of ``docker/feedwatch.env.example`` (``change-me-*``) are
refused at start-up: a deployment that kept them would be open to anyone who read it.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from pipeline.errors import ConfigError
from workers.api.guard import AuthThrottle

log = logging.getLogger(__name__)


class Scope(StrEnum):
    read = "read"
    write = "write"


BEARERS = {
    Scope.read: HTTPBearer(
        auto_error=False, scheme_name="readToken", description="A read or a write token."
    ),
    Scope.write: HTTPBearer(
        auto_error=False, scheme_name="writeToken", description="A write token."
    ),
}
"""One security scheme per scope, so the OpenAPI document says which token a route needs."""


def _matches(token: str, candidates: Iterable[bytes]) -> bool:
    """Constant-time membership: every candidate is compared, no early exit."""
    given = token.encode()
    found = False
    for candidate in candidates:
        found |= hmac.compare_digest(given, candidate)
    return found


EXAMPLE_PREFIX = "change-me"
"""Tokens of the example environment file start with this."""


def refuse_example_tokens(read: Iterable[SecretStr], write: Iterable[SecretStr]) -> None:
    """ConfigError naming the setting when a configured token is an example one."""
    for name, secrets in (("read_tokens", read), ("write_tokens", write)):
        for secret in secrets:
            token = secret.get_secret_value()
            if token.strip().lower().startswith(EXAMPLE_PREFIX):
                raise ConfigError(  # the value shown is the example's, never the rest
                    f"api.{name}", f"{EXAMPLE_PREFIX}…",
                    "a secret of your own, not the example token of "
                    "docker/feedwatch.env.example (e.g. from `openssl rand -hex 32`) "
                    f"[env FEEDWATCH_API_{name.upper()}]",
                )


@dataclass(frozen=True)
class TokenAuth:
    """The configured tokens; decides which scopes a presented token grants."""

    read: tuple[bytes, ...]
    write: tuple[bytes, ...]

    @classmethod
    def from_secrets(cls, read: Iterable[SecretStr], write: Iterable[SecretStr]) -> TokenAuth:
        return cls(
            read=tuple(s.get_secret_value().encode() for s in read),
            write=tuple(s.get_secret_value().encode() for s in write),
        )

    @property
    def open(self) -> bool:
        return not (self.read or self.write)

    def scopes(self, token: str | None) -> frozenset[Scope]:
        if self.open:
            return frozenset(Scope)
        if not token:
            return frozenset()
        if _matches(token, self.write):
            return frozenset(Scope)
        return frozenset({Scope.read}) if _matches(token, self.read) else frozenset()

    def warn_if_open(self) -> None:
        if self.open:
            log.warning(
                "API auth is OFF: no FEEDWATCH_API_READ_TOKENS / FEEDWATCH_API_WRITE_TOKENS "
                "configured, anyone who can reach the port can read and change queries"
            )


def _unauthorized(scope: Scope, token: str | None, granted: frozenset[Scope]) -> HTTPException:
    """401 without a valid token; 403 for a valid one that lacks the scope (RFC 6750)."""
    challenge = f'Bearer realm="feedwatch", scope="{scope.value}"'
    code = status.HTTP_401_UNAUTHORIZED
    if not token:
        reason = "a bearer token is required"
    elif granted:
        reason, challenge = (
            f"this token lacks the {scope.value} scope",
            challenge + ', error="insufficient_scope"',
        )
        code = status.HTTP_403_FORBIDDEN
    else:
        reason, challenge = "invalid token", challenge + ', error="invalid_token"'
    return HTTPException(code, detail=reason, headers={"WWW-Authenticate": challenge})


def require(scope: Scope) -> Callable[..., None]:
    """A route dependency that lets the request through only with ``scope``."""

    def check(
        request: Request, creds: HTTPAuthorizationCredentials | None = Depends(BEARERS[scope])
    ) -> None:
        auth: TokenAuth = request.app.state.auth
        token = creds.credentials if creds else None
        throttle: AuthThrottle | None = getattr(request.app.state, "auth_throttle", None)
        client = throttle.check(request) if throttle and token and not auth.open else None
        granted = auth.scopes(token)
        if scope not in granted:
            if throttle and client is not None and not granted:
                throttle.failed(client)
            raise _unauthorized(scope, token, granted)

    return check


read_access = Depends(require(Scope.read))
write_access = Depends(require(Scope.write))
