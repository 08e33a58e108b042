"""``/api/search``, frame thumbnails and ``"backfill"`` on a new query, over SQLite.

A backfill is a background job (``tests/unit/workers/api/test_api_backfills.py``
covers its progress, cancel and bounds); these wait for it to finish.

Frames are made with the bundled shapes-demo CLIP's own text embedding: the frames
of 12–20 s carry "a red circle" (and show one on their thumbnail, where their patch grid
says: the answerer's closer look crops it), the others random directions, as the index
stores them after a run.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from connectors.store import Store
from connectors.store.frames.index import FrameIndex
from pipeline.history.records import IndexPolicy, to_indexed
from pipeline.types import EncodedFrame
from tests.unit.workers.api.scenarios import READ, ApiHarness

VISIBLE = range(12, 21)


@pytest.fixture(scope="module")
def red() -> np.ndarray:
    from pipeline.models.clip_encoder import ClipEncoder, shapes_demo_dir

    if not (shapes_demo_dir() / "open_clip_config.json").is_file():
        pytest.skip("shapes-demo weights are not bundled")
    return ClipEncoder.from_spec("shapes-demo", device="cpu").encode_text(["a red circle"])[0]


def index_clip(store: Store, red: np.ndarray, camera: str = "dock") -> None:
    rng = np.random.default_rng(3)
    rows = []
    for t in range(30):
        noise = rng.normal(size=red.shape[0]).astype(np.float32)
        noise -= (noise @ red) * red  # unrelated to the text, then pushed away from it
        noise /= np.linalg.norm(noise)
        emb = red + 0.2 * noise if t in VISIBLE else noise - 0.5 * red
        emb = (emb / np.linalg.norm(emb)).astype(np.float32)
        patches = np.repeat(np.repeat(noise[None, None, :], 8, 0), 8, 1)
        patches[2:4, 3:5] = emb  # the object's cells (rows 30-60, columns 60-100 px)
        thumb = np.full((120, 160, 3), 128, np.uint8)
        if t in VISIBLE:  # the same red circle on the thumbnail, where the grid says
            yy, xx = np.mgrid[:120, :160]
            thumb[(yy - 45) ** 2 + (xx - 80) ** 2 <= 16 ** 2] = (225, 25, 25)
        frame = EncodedFrame(camera, float(t), emb, patches, thumb, (240, 320))
        rows.append(to_indexed(frame, "shapes-demo", IndexPolicy()))
    FrameIndex(store.engine).write(rows)


def finished(harness: ApiHarness, created: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
    """The created query's backfill job once it has finished."""
    deadline = time.monotonic() + timeout
    while True:
        job = harness.call("GET", created["backfill"]["url"], READ).json()
        if job["state"] not in ("queued", "running") or time.monotonic() > deadline:
            return dict(job)
        time.sleep(0.05)


def test_search_returns_moments_with_thumbnails(harness: ApiHarness, red: np.ndarray) -> None:
    empty = harness.call("GET", "/api/search", READ, params={"q": "a red circle"})
    assert empty.status_code == 409 and "frame index" in empty.json()["detail"]
    index_clip(harness.store, red)
    resp = harness.call("GET", "/api/search", READ, params={"q": "a red circle", "limit": 2})
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    assert 12 <= items[0]["t"] <= 20 and items[0]["camera"] == "dock"
    assert items[0]["frames"] >= 5 and len(items[0]["box"]) == 4
    thumb = harness.call("GET", items[0]["thumbnail"], READ)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert thumb.content[:2] == b"\xff\xd8"
    assert harness.call("GET", "/api/frames/999999/thumbnail", READ).status_code == 404
    other = harness.call("GET", "/api/search", READ,
                         params={"q": "a red circle", "camera": "gate"}).json()
    assert other["items"] == []
    assert harness.call("GET", "/api/search", None, params={"q": "x"}).status_code == 401


def test_backfill_answers_history_first(harness: ApiHarness, red: np.ndarray) -> None:
    index_clip(harness.store, red)
    bad = harness.call("POST", "/api/queries", json={"question": "a red circle",
                                                      "backfill": "soon"})
    assert bad.status_code == 422 and "backfill" in bad.json()["detail"][0]["loc"]
    created = harness.create("a red circle", backfill=30, every=1, window=4)
    assert finished(harness, created)["state"] == "done"
    answers = harness.call("GET", "/api/answers", READ,
                           params={"query_id": created["id"], "limit": 100}).json()["items"]
    assert len(answers) == 29 and all(a["backfilled"] for a in answers)
    matched = {a["window_end"] for a in answers if a["matched"]}
    assert matched and all(13 <= e <= 24 for e in matched)


def test_backfill_takes_a_duration_as_people_write_it(harness: ApiHarness, red: np.ndarray) -> None:
    index_clip(harness.store, red)
    created = harness.create("a red circle", backfill="30s", every=1, window=4)
    job = finished(harness, created)
    assert (job["windows_done"], job["windows_total"], job["answers"]) == (30, 30, 29)
    answers = harness.call("GET", "/api/answers", READ,
                           params={"query_id": created["id"], "limit": 100}).json()["items"]
    assert len(answers) == 29 and all(a["backfilled"] for a in answers)
    zero = harness.call("POST", "/api/queries", json={"question": "a blue square",
                                                       "backfill": "0s"})
    assert zero.status_code == 422
