"""API behaviours checked on every store backend (SQLite here, PostgreSQL in integration).

Each ``check_*`` function takes an :class:`ApiHarness` over a fresh, empty store and
asserts what a client of the API would notice.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from pydantic import SecretStr

from connectors.bus.base import Bus
from connectors.store import Store
from pipeline.types import Answer, Evidence
from workers.api import serve_in_thread
from workers.api.app import create_app
from workers.api.live import AnswerNotifier, CameraStatusRegistry
from workers.config import ApiSettings, KafkaSettings, Settings, load_settings

READ, WRITE = "read-token-123", "write-token-456"


def jpeg(color: str = "navy", size: tuple[int, int] = (96, 64)) -> bytes:
    """A real small JPEG with a box drawn, like the pipeline's evidence."""
    image = Image.new("RGB", size, color)
    ImageDraw.Draw(image).rectangle((20, 10, 60, 50), outline="yellow", width=3)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def answer(
    query_id: str,
    camera: str,
    window_end: float,
    *,
    matched: bool | None = True,
    text: str = "yes",
    evidence: int = 1,
) -> Answer:
    return Answer(
        query_id=query_id,
        question=f"question of {query_id}",
        camera=camera,
        window_start=window_end - 4.0,
        window_end=window_end,
        evaluated_at=window_end + 0.5,
        answerer="clip",
        text=text,
        matched=matched,
        score=0.31 if matched else 0.12,
        frames=(window_end - 3.0, window_end - 1.0),
        rois=((0.25, 0.25, 0.75, 0.75),),
        visual_tokens=342,
        latency_ms=12.5,
        model_ids={"clip": "tiny"},
        evidence=tuple(
            Evidence(t=window_end - 1.0 - i, jpeg=jpeg(), box=(0.2, 0.15, 0.6, 0.8))
            for i in range(evidence)
        ),
    )


def settings(tokens: bool = True, kafka: KafkaSettings | None = None, **api: Any) -> Settings:
    base = load_settings()
    if tokens:
        api = {"read_tokens": (SecretStr(READ),), "write_tokens": (SecretStr(WRITE),), **api}
    return base.model_copy(update={"api": ApiSettings(**api), "kafka": kafka or base.kafka})


@dataclass
class ApiHarness:
    """An app over ``store`` with its live registry and notifier, and clients per token."""

    store: Store
    tokens: bool = True
    bus: Bus | None = None
    api: dict[str, Any] = field(default_factory=lambda: {"sse_keepalive_s": 0.3})
    kafka: KafkaSettings | None = None

    def __post_init__(self) -> None:
        self.registry = CameraStatusRegistry()
        self.notifier = AnswerNotifier()
        self.app = create_app(
            settings(self.tokens, self.kafka, **self.api),
            self.store,
            self.bus,
            registry=self.registry,
            notifier=self.notifier,
        )
        self._client = TestClient(self.app)

    def call(self, method: str, path: str, token: str | None = WRITE, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self._client.request(method, path, headers=headers, **kw)

    def create(self, question: str = "is a red circle visible?", **body: Any) -> dict[str, Any]:
        resp = self.call("POST", "/api/queries", json={"question": question, **body})
        assert resp.status_code == 201, resp.text
        return resp.json()

    @contextmanager
    def served(self) -> Iterator[str]:
        server = serve_in_thread(self.app)
        try:
            yield server.url
        finally:
            server.stop()


def _locs(resp: httpx.Response, status: int = 422) -> set[tuple[Any, ...]]:
    """The fields a 422 (a bad value) or a 409 (a conflict with what is stored) names."""
    assert resp.status_code == status, resp.text
    return {tuple(d["loc"]) for d in resp.json()["detail"]}


# ---------------------------------------------------------------- queries


def check_crud(h: ApiHarness) -> None:
    h.store.upsert_camera("dock", "rtsp://cam/dock")
    created = h.create("  is a   forklift blocking the exit? ", cameras=["dock"], every=2, window=6)
    assert created["question"] == "is a forklift blocking the exit?"
    assert (created["cameras"], created["every"], created["window"], created["version"]) == (
        ["dock"],
        2,
        6,
        1,
    )
    qid = created["id"]
    assert h.call("GET", f"/api/queries/{qid}", READ).json() == created
    assert [q["id"] for q in h.call("GET", "/api/queries", READ).json()] == [qid]

    patched = h.call(
        "PATCH", f"/api/queries/{qid}", json={"window": 10, "question": "is the exit clear?"}
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["question"], body["window"], body["every"], body["version"]) == (
        "is the exit clear?",
        10,
        2,
        2,
    )
    assert h.call("GET", f"/api/queries/{qid}", READ).json()["version"] == 2

    assert h.call("DELETE", f"/api/queries/{qid}").status_code == 204
    assert h.call("GET", f"/api/queries/{qid}", READ).status_code == 404
    assert h.call("GET", "/api/queries", READ).json() == []
    assert h.call("DELETE", f"/api/queries/{qid}").status_code == 404
    assert h.call("PATCH", "/api/queries/nope", json={"every": 1}).status_code == 404


def check_validation(h: ApiHarness) -> None:
    h.store.upsert_camera("dock")
    bad = {
        "question": "   ",
        "cameras": ["dock", "ghost"],
        "every": 0.01,
        "window": 1e9,
        "answerer": "oracle",
    }
    locs = _locs(h.call("POST", "/api/queries", json=bad))
    assert {
        ("body", "question"),
        ("body", "every"),
        ("body", "window"),
        ("body", "answerer"),
    } <= locs

    assert _locs(h.call("POST", "/api/queries", json={"question": "x" * 501})) == {
        ("body", "question")
    }
    assert _locs(
        h.call("POST", "/api/queries", json={"question": "q", "every": 10, "window": 5}), 409
    ) == {("body", "window")}
    assert _locs(h.call("POST", "/api/queries", json={"question": "q", "cameras": []})) == {
        ("body", "cameras")
    }
    assert _locs(h.call("POST", "/api/queries", json={"question": "q", "cameras": [" dock"]})) == {
        ("body", "cameras", 0)
    }
    assert _locs(h.call("POST", "/api/queries", json={"question": "q", "colour": "red"})) == {
        ("body", "colour")
    }

    unknown = h.call("POST", "/api/queries", json={"question": "q", "cameras": ["dock", "ghost"]})
    assert _locs(unknown, 409) == {("body", "cameras", 1)}
    assert "ghost" in unknown.json()["detail"][0]["msg"]

    qid = h.create(cameras=["dock"], every=1, window=4)["id"]
    patch = h.call("PATCH", f"/api/queries/{qid}", json={"every": 8})
    assert _locs(patch, 409) == {("body", "every")}
    assert _locs(h.call("PATCH", f"/api/queries/{qid}", json={"cameras": ["ghost"]}), 409) == {
        ("body", "cameras", 0)
    }
    assert h.call("GET", f"/api/queries/{qid}", READ).json()["version"] == 1
    assert h.call("GET", "/api/queries", READ).json()[0]["id"] == qid  # nothing else was created
    every = h.create(question="q", cameras=["*", "dock", "dock"])
    assert every["cameras"] == ["*"]  # every camera: the named ones are redundant


# ---------------------------------------------------------------- answers


def _all_pages(
    h: ApiHarness, limit: int, between: list[list[Answer]], **params: Any
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        page = h.call("GET", "/api/answers", READ, params=query).json()
        seen += page["items"]
        if between:
            h.store.insert_answers(between.pop(0))  # rows arrive while the client pages
        cursor = page["next_cursor"]
        if not cursor:
            return seen


def check_pagination_stable(h: ApiHarness) -> None:
    original = [
        answer("q1", cam, end) for end in (10.0, 20.0, 30.0, 40.0) for cam in ("a", "b", "c")
    ]
    h.store.insert_answers(original)
    arriving = [[answer("q1", "a", 100.0 + i), answer("q1", "b", 100.0 + i)] for i in range(5)]
    seen = _all_pages(h, 4, arriving)
    assert len(arriving) == 2, "three pages, each followed by new rows"
    keys = [(a["camera"], a["window_end"]) for a in seen]
    assert len(keys) == len(set(keys)), "a row was returned twice"
    assert set(keys) == {(a.camera, a.window_end) for a in original}, "a row was skipped"
    ends = [a["window_end"] for a in seen]
    assert ends == sorted(ends, reverse=True)
    first = h.call("GET", "/api/answers", READ, params={"limit": 2}).json()["items"]
    assert [(a["window_end"], a["camera"]) for a in first] == [
        (102.0, "b"),
        (102.0, "a"),
    ]  # new rows first
    bad = h.call("GET", "/api/answers", READ, params={"cursor": "not-a-cursor"})
    assert _locs(bad) == {("query", "cursor")}


def check_answer_filters_and_evidence(h: ApiHarness) -> None:
    h.store.insert_answers(
        [
            answer("q1", "a", 10.0, matched=True, evidence=2),
            answer("q1", "b", 20.0, matched=False),
            answer("q2", "a", 30.0, matched=None, text="three people"),
            answer("q2", "b", 40.0, matched=True),
        ]
    )

    def ends(**params: Any) -> list[float]:
        resp = h.call("GET", "/api/answers", READ, params=params)
        assert resp.status_code == 200, resp.text
        return [a["window_end"] for a in resp.json()["items"]]

    assert ends() == [40.0, 30.0, 20.0, 10.0]
    assert ends(query_id="q1") == [20.0, 10.0]
    assert ends(camera="a") == [30.0, 10.0]
    assert ends(matched="true") == [40.0, 10.0]
    assert ends(matched="false") == [20.0]
    assert ends(since=15, until=35) == [30.0, 20.0]
    assert ends(query_id="q2", camera="b", matched="true") == [40.0]
    assert ends(since=5, until=1) == []

    item = h.call("GET", "/api/answers", READ, params={"query_id": "q1", "camera": "a"}).json()[
        "items"
    ][0]
    assert [e["index"] for e in item["evidence"]] == [0, 1]
    assert item["evidence"][0]["box"] == [0.2, 0.15, 0.6, 0.8] and item["rois"] == [
        [0.25, 0.25, 0.75, 0.75]
    ]
    image = h.call("GET", item["evidence"][1]["url"], READ)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(image.content)).size == (96, 64)
    assert h.call("GET", f"/api/answers/{item['id']}/evidence/2.jpg", READ).status_code == 404
    assert h.call("GET", f"/api/answers/{item['id']}", READ).json() == item
    assert h.call("GET", "/api/answers/999999", READ).status_code == 404


# ---------------------------------------------------------------- auth


def check_auth(h: ApiHarness) -> None:
    """No token / read token / write token, on reads, writes and the open probes."""
    qid = h.create()["id"]
    h.store.insert_answers([answer(qid, "a", 10.0)])
    evidence = h.call("GET", "/api/answers", READ).json()["items"][0]["evidence"][0]["url"]
    for path in (
        "/api/queries",
        f"/api/queries/{qid}",
        "/api/answers",
        "/api/cameras",
        evidence,
        "/metrics",
    ):
        assert h.call("GET", path, None).status_code == 401, path
        assert h.call("GET", path, "wrong").status_code == 401, path
        assert h.call("GET", path, READ).status_code == 200, path
        assert h.call("GET", path, WRITE).status_code == 200, path
    writes = [
        ("POST", "/api/queries", {"json": {"question": "q"}}),
        ("PATCH", f"/api/queries/{qid}", {"json": {"every": 2}}),
        ("DELETE", f"/api/queries/{qid}", {}),
    ]
    for method, path, kw in writes:
        for token, code in ((None, 401), ("wrong", 401), (READ, 403)):
            resp = h.call(method, path, token, **kw)
            assert resp.status_code == code, (method, path, token)
            assert resp.headers["www-authenticate"].startswith("Bearer")
    assert h.call("GET", f"/api/queries/{qid}", READ).json()["version"] == 1  # nothing changed
    for method, path, kw in writes:
        assert h.call(method, path, WRITE, **kw).status_code in (200, 201, 204), (method, path)
    assert h.call("GET", "/health", None).json()["status"] == "ok"
    assert h.call("GET", "/ready", None).status_code == 200
