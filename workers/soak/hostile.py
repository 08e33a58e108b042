"""The soak's hostile client: issue 26's probes, sent again and again during the run.

Each probe is a request an attacker (or a careless client) sends to ``feedwatch api``
with the statuses its fixed behaviour allows. A round sends every probe once; the
client records per probe how often it was sent, the statuses seen and every
unexpected one (a status outside the allowed set, a transport error, SQL text in a
reply, a listing that stopped loading). Bad query messages put straight on the
Kafka ``queries`` topic are marked so the report can find their dead letters.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

HUGE = 300 * 1024 * 1024
"""The body size the unauthenticated probes announce (and would send, if let)."""
CHUNK = 64 * 1024
STORE_DOWN = (503,)
"""What a probe that reaches the store may get while the soak has PostgreSQL stopped."""
SQL_WORDS = ("SELECT ", "INSERT ", "UPDATE ", "[SQL", "psycopg", "sqlite3.")


@dataclass
class ProbeTally:
    """One probe's record over the run."""

    allowed: tuple[int, ...]
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)  # the first few, as examples
    failures: int = 0

    def note(self, status: int | str, detail: str = "") -> None:
        self.sent += 1
        self.statuses[str(status)] += 1
        if status not in self.allowed or detail:
            self.failures += 1
            if len(self.unexpected) < 5:
                self.unexpected.append(f"{status} {detail}".strip()[:300])

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "allowed": list(self.allowed),
                "statuses": dict(sorted(self.statuses.items())),
                "unexpected": self.failures, "unexpected_examples": self.unexpected}


def _query(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"question": "a hostile circle", "cameras": ["*"], "every": 1.0,
                            "window": 2.0}
    return {**body, **changes}


def _nested(depth: int) -> dict[str, Any]:
    inner: dict[str, Any] = {}
    for _ in range(depth):
        inner = {"a": inner}
    return inner


def huge_request(url: str, chunked: bool, timeout: float = 20.0) -> tuple[int | str, int]:
    """POST a 300 MB body without a token over a raw socket, stopping as soon as the
    API answers; (status or what went wrong, body bytes it took before answering)."""
    parts = urlsplit(url)
    head = ["POST /api/queries HTTP/1.1", f"Host: {parts.netloc}",
            "Content-Type: application/json", "Connection: close"]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {HUGE}")
    sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout)
    sent = 0
    try:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        piece = b"[" + b" " * (CHUNK - 1)
        frame = f"{CHUNK:x}\r\n".encode() + piece + b"\r\n" if chunked else piece
        deadline = time.monotonic() + timeout
        while sent < HUGE and time.monotonic() < deadline:
            sock.settimeout(0.0)
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break  # the API answered before the body was through
            except BlockingIOError:
                pass
            sock.settimeout(timeout)
            try:
                sock.sendall(frame)
            except OSError:
                break  # the API closed the connection on us: it stopped reading
            sent += CHUNK
        sock.settimeout(timeout)
        reply = sock.recv(256).decode("latin-1")
    except OSError as exc:
        return f"{type(exc).__name__}", sent
    finally:
        sock.close()
    fields = reply.split(" ", 2)
    return (int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else "no-reply"), sent


class HostileClient:
    """Sends every probe once per round, one round every ``interval_s``, in a thread."""

    def __init__(self, base_url: str, write_token: str, read_token: str,
                 interval_s: float = 30.0, put_queries: Callable[[list[tuple[bytes, bytes]]],
                                                                None] | None = None,
                 nul_storable: bool = False) -> None:
        """``nul_storable``: the store keeps NUL in text (SQLite), so a hook named with
        one may be added (PostgreSQL refuses it: then only a 4xx is right)."""
        import httpx

        self.base_url = base_url
        self.interval_s = interval_s
        self.nul_storable = nul_storable
        self.put_queries = put_queries
        self.http = httpx.Client(base_url=base_url, timeout=30.0)
        self.write = {"Authorization": f"Bearer {write_token}"}
        self.read = {"Authorization": f"Bearer {read_token}"}
        self.tally: dict[str, ProbeTally] = {}
        self.kafka_marks: list[str] = []
        self.leftover: list[str] = []  # what probes added (rules, hooks), to remove
        self.rounds = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-hostile", daemon=True)

    # -- bookkeeping -----------------------------------------------------------------
    def _probe(self, name: str, allowed: tuple[int, ...]) -> ProbeTally:
        return self.tally.setdefault(name, ProbeTally(allowed))

    def _http(self, name: str, allowed: tuple[int, ...], method: str, path: str,
              headers: dict[str, str] | None = None, **kw: Any) -> Any:
        tally = self._probe(name, allowed)
        try:
            r = self.http.request(method, path, headers=headers or self.write, **kw)
        except Exception as exc:  # the API not answering is what the soak must notice
            tally.note(type(exc).__name__)
            return None
        leak = next((w for w in SQL_WORDS if w in r.text), "")
        tally.note(r.status_code, f"reply names {leak!r}" if leak else "")
        return r

    # -- the probes ------------------------------------------------------------------
    def round(self) -> None:
        """Every probe once (the order of issue 26's table)."""
        q, no = "/api/queries", (422,)
        self._http("settings_mode_bogus", no, "POST", q, json=_query(settings={"mode": "bogus"}))
        self._http("settings_model_device", no, "POST", q,
                   json=_query(settings={"model": "/etc", "device": "cuda:7"}))
        for chunked in (False, True):
            name = f"body_300mb_no_token_{'chunked' if chunked else 'content_length'}"
            tally = self._probe(name, (413, 401))
            status, took = huge_request(self.base_url, chunked)
            tally.note(status, f"API read {took} bytes" if took >= HUGE else "")
        for name, source in (("camera_port_99999", "rtsp://h:99999/"),
                             ("camera_ipv6_unclosed", "http://[::1/x")):
            self._http(name, no, "PUT", "/api/cameras/hostile", json={"source": source})
        self._http("settings_nested_500", (422, *STORE_DOWN), "POST", q,
                   json=_query(settings=_nested(500)))
        nan = '{"query_id": "hostile-none", "condition": "score_at_least", "threshold": NaN}'
        self._http("rule_threshold_nan", no, "POST", "/api/rules", content=nan,
                   headers={**self.write, "Content-Type": "application/json"})
        self._regex_rule()
        self._http("backfill_7d_every_0.2", (409, 422, *STORE_DOWN), "POST", q,
                   json=_query(every=0.2, window=1.0, backfill="7d"))
        self._http("nul_camera_source", (400, 422), "PUT", "/api/cameras/hostile",
                   json={"source": "rtsp://h/a\u0000b"})
        stored = (201,) if self.nul_storable else ()
        r = self._http("nul_hook_name", (400, 422, *stored, *STORE_DOWN), "POST", "/api/hooks",
                       json={"url": "http://127.0.0.1:9/x", "name": "a\u0000b"})
        if r is not None and r.status_code == 201:
            self.leftover.append(f"/api/hooks/{r.json()['id']}")
        self._http("every_1e-300", no, "POST", q, json=_query(every=1e-300))
        self._listings()
        self._clean()
        self._kafka()
        self.rounds += 1

    def _regex_rule(self) -> None:
        """A catastrophic pattern is refused or harmless (RE2); an over-large
        repetition is refused; a pattern that compiles is then refused for its unknown
        query (409). A rule that got in is removed again."""
        for name, pattern in (("rule_regex_catastrophic", r"^(\w+\s?)*!$"),
                              ("rule_regex_huge_repeat", "a{4294967296}")):
            allowed = (201, 409, 422, *STORE_DOWN)
            body = {"query_id": "hostile-none", "condition": "text_regex", "pattern": pattern}
            t = time.monotonic()
            r = self._http(name, allowed, "POST", "/api/rules", json=body)
            if time.monotonic() - t > 5.0:
                tally = self._probe(name, allowed)
                tally.failures += 1
                tally.unexpected.append(f"slow: {time.monotonic() - t:.1f} s")
            if r is not None and r.status_code == 201:
                self.leftover.append(f"/api/rules/{r.json()['id']}")

    def _clean(self) -> None:
        """What a probe added is removed again (a later round if the store is down)."""
        for path in list(self.leftover):
            with contextlib.suppress(Exception):
                if self.http.delete(path, headers=self.write).status_code in (204, 404):
                    self.leftover.remove(path)

    def _listings(self) -> None:
        """What the dashboard loads keeps loading after the probes above."""
        for path in ("/api/cameras", "/api/queries", "/api/rules", "/api/hooks"):
            self._http(f"list {path}", (200, *STORE_DOWN), "GET", path, headers=self.read)

    def _kafka(self) -> None:
        """Query messages the API would refuse, put on the bus: each is dead-lettered."""
        if self.put_queries is None:
            return
        good = {"id": "", "question": "a hostile circle", "cameras": ["*"], "every": 1.0,
                "window": 2.0, "answerer": "clip", "settings": {}, "version": 1, "schema": 1}
        tally = self._probe("kafka_query_message", (0,))
        for name, change in (("every-1e-300", {"every": 1e-300}),
                             ("mode-bogus", {"settings": {"mode": "bogus"}})):
            mark = f"hostile{self.rounds}-{name}"
            value = {**good, **change, "id": mark}
            try:
                self.put_queries([(mark.encode(), json.dumps(value).encode())])
            except Exception as exc:  # the broker may be the fault of the moment: next round
                tally.statuses[f"not sent: {type(exc).__name__}"] += 1
                continue
            tally.sent += 1
            self.kafka_marks.append(mark)

    # -- the thread --------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            t = time.monotonic()
            try:
                self.round()
            except Exception as exc:  # a bug of the client is reported, never silent
                self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - t)))

    def start(self) -> HostileClient:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=120)
        self.http.close()

    def report(self, dead_lettered: set[str]) -> dict[str, Any]:
        """The report's ``hostile`` section; ``unexpected`` > 0 fails the soak."""
        probes = {k: v.as_dict() for k, v in sorted(self.tally.items())}
        kafka = self.tally.get("kafka_query_message")
        if kafka is not None:
            lost = [m for m in self.kafka_marks if m not in dead_lettered]
            kafka.statuses["dead-lettered"] = len(self.kafka_marks) - len(lost)
            kafka.failures += len(lost)
            kafka.unexpected += [f"not dead-lettered: {m}" for m in lost[:5]]
            probes["kafka_query_message"] = kafka.as_dict()
        unexpected = sum(p["unexpected"] for p in probes.values()) + len(self.errors)
        return {"rounds": self.rounds, "interval_s": self.interval_s,
                "sent": sum(p["sent"] for p in probes.values()), "unexpected": unexpected,
                "client_errors": self.errors[:10], "probes": probes}
