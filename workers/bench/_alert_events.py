"""The alert bench's receiver and its arithmetic: webhook arrivals matched to events.

A real HTTP receiver on 127.0.0.1 stamps each POST with the wall clock once its
body is read. An event's latency is that stamp minus the wall time the object
appeared (the paced stream's anchor plus the onset in the file); it splits into the
detection delay (onset → end of the window that opened the incident, stream time)
and the pipeline latency (that window's end → the webhook: decode, encode, answer,
store, rule evaluation, delivery). An opening that matches no event is a false alert.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 1 << 20
HOOK_RATE_CAP = 0
"""The receiver's hook has no rate cap in either mode: the default (60 per hour) would
hold back openings past the 60th (8 cameras x 20 events are 160), leaving them unmeasured."""


@dataclass(frozen=True)
class Arrival:
    """One notification as the receiver saw it."""

    at: float
    body: dict[str, Any]

    @property
    def event(self) -> str:
        return str(self.body.get("event", ""))


@dataclass(eq=False)
class HookReceiver:
    """Collects every POST it answers with 200 (thread-safe)."""

    arrivals: list[Arrival] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> HookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                size = min(int(self.headers.get("Content-Length", "0")), MAX_BODY)
                raw = self.rfile.read(size)
                at = time.time()
                self.send_response(200)
                self.end_headers()
                receiver._keep(at, raw)

            def log_message(self, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def _keep(self, at: float, raw: bytes) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            return
        with self._lock:
            self.arrivals.append(Arrival(at, body))

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}/hook"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def openings(self) -> list[Arrival]:
        with self._lock:
            return sorted((a for a in self.arrivals if a.event == "opened"), key=lambda a: a.at)


@dataclass(frozen=True)
class EventResult:
    camera: str
    onset: float  # stream seconds from the file's start
    latency_s: float | None  # onset → webhook (None: missed)
    detection_s: float | None  # onset → end of the window that opened the incident
    pipeline_s: float | None  # that window's end → webhook


def match(camera: str, anchor: float, events: list[tuple[float, float]],
          openings: list[Arrival], window: float) -> tuple[list[EventResult], int]:
    """Each event's first opening (incident started within the event, a window of
    slack before it); returns the results and how many openings matched nothing."""
    mine = [a for a in openings if a.body.get("camera") == camera]
    used: set[int] = set()
    results = []
    for onset, end in events:
        hit = next((i for i, a in enumerate(mine) if i not in used
                    and onset - window <= _started(a) - anchor <= end), None)
        if hit is None:
            results.append(EventResult(camera, onset, None, None, None))
            continue
        used.add(hit)
        a = mine[hit]
        window_end = float(a.body["window"]["end"])
        results.append(EventResult(camera, onset, a.at - (anchor + onset),
                                   window_end - (anchor + onset), a.at - window_end))
    return results, len(mine) - len(used)


def _started(a: Arrival) -> float:
    return float(a.body["incident"]["started_at"])


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q / 100.0 * len(ordered)) - 1))]


def spread(values: list[float | None]) -> dict[str, float | None]:
    """p50, p95 and max of the known values, in seconds (3 decimals)."""
    known = [v for v in values if v is not None]

    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 3)

    return {"p50": r(percentile(known, 50)), "p95": r(percentile(known, 95)),
            "max": r(max(known) if known else None)}
