"""Per-client limits the API keeps in memory: failed authentication and open streams.

:class:`AuthThrottle` counts invalid bearer tokens per client address (an IPv6 address
by its /64, which one host usually holds whole) in a sliding window: after
``failures`` of them within ``window_s`` that address is answered 429 with
``Retry-After`` before its tokens are looked at, until the oldest of those failures
leaves the window. Guessing tokens then goes at most ``failures`` per window per
address, and only the guessing address waits: a token sent from another address is
checked as usual. Behind a reverse proxy the address is the one the server was told
(uvicorn's ``--proxy-headers`` with the proxy in ``--forwarded-allow-ips``).

:class:`StreamSlots` bounds the live streams open at once per token (per client
address on an API without tokens); a stream over the limit is answered 429 and its
slot is handed back when the response ends, however it ends. :func:`check_room`
bounds how many cameras, queries, hooks and rules a client may add.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from fastapi import HTTPException, Request, status
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

Clock = Callable[[], float]
MAX_ADDRESSES = 10_000
"""Addresses whose failures are remembered at once (the oldest are forgotten first)."""
STREAM_RETRY_S = 5


def client_key(request: Request) -> str:
    """The address failures are counted for: IPv4 as is, IPv6 by its /64."""
    host = request.client.host if request.client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else ip)


def presented_token(request: Request) -> str | None:
    """The bearer token of the request's ``Authorization`` header, if it has one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def token_key(token: str) -> str:
    """What a token's streams are counted under (its digest: no token kept in memory)."""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()


def too_many(detail: str, retry_after_s: float) -> HTTPException:
    seconds = str(max(1, math.ceil(retry_after_s)))
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail, {"Retry-After": seconds})


class AuthThrottle:
    """Invalid tokens per address in a sliding window; see the module docstring."""

    def __init__(self, failures: int, window_s: float, clock: Clock = time.monotonic) -> None:
        self.failures = failures
        self.window_s = window_s
        self.clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait_s(self, key: str) -> float:
        """Seconds ``key`` must wait before a token of its is checked again (0: none)."""
        with self._lock:
            times = self._seen.get(key)
            if times is None or len(times) < self.failures:
                return 0.0
            return max(0.0, times[0] + self.window_s - self.clock())

    def failed(self, key: str) -> None:
        """Count one invalid token presented from ``key``."""
        with self._lock:
            times = self._seen.pop(key, None) or deque(maxlen=self.failures)
            times.append(self.clock())
            self._seen[key] = times  # the most recently failing address goes last
            while len(self._seen) > MAX_ADDRESSES:
                self._seen.popitem(last=False)

    def check(self, request: Request) -> str:
        """The request's address; 429 when it has failed too often lately."""
        key = client_key(request)
        wait = self.wait_s(key)
        if wait > 0:
            raise too_many("too many invalid tokens from this address; try again later", wait)
        return key


def check_room(count: int, limit: int, what: str, loc: tuple[str, ...] = ("body",)) -> None:
    """409 naming the limit when ``limit`` items of a kind exist already: what a client
    can add (cameras, queries, hooks, rules) is bounded, and so is every listing of it."""
    if count >= limit:
        msg = f"at most {limit} {what} (FEEDWATCH_API_MAX_ITEMS); remove one first"
        detail = [{"loc": list(loc), "msg": msg, "type": "value_error"}]
        raise HTTPException(status.HTTP_409_CONFLICT, detail=detail)


class StreamSlots:
    """At most ``per_token`` open streams per token (per address without one)."""

    def __init__(self, per_token: int) -> None:
        self.per_token = per_token
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(request: Request) -> str:
        token = presented_token(request)
        return "address:" + client_key(request) if token is None else token_key(token)

    def take(self, key: str) -> Callable[[], None]:
        """Hold a slot for ``key`` (429 when all are taken); returns its release."""
        with self._lock:
            held = self._open.get(key, 0)
            if held >= self.per_token:
                raise too_many(
                    f"at most {self.per_token} open streams per token; close one first",
                    STREAM_RETRY_S,
                )
            self._open[key] = held + 1
        released = threading.Event()

        def release() -> None:
            if released.is_set():
                return
            released.set()
            with self._lock:
                left = self._open.pop(key, 1) - 1
                if left:
                    self._open[key] = left

        return release

    def open_count(self, key: str) -> int:
        with self._lock:
            return self._open.get(key, 0)


class HeldStream(StreamingResponse):
    """A streaming response that hands its slot back when it ends, however it ends
    (also when the client left before the first event, so the body never started)."""

    def __init__(self, *args: object, release: Callable[[], None], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.release()
