"""The evaluation engine with a tiny fake encoder and the real selection + clip answerer."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pipeline.answerers import build_answerer
from pipeline.engine import Engine, encode_frames
from pipeline.perception import SelectionConfig, select_for_queries
from pipeline.scheduler import Due
from pipeline.types import EncodedFrame, Frame, StandingQuery

D = 8
GRID = (2, 3)


def unit(i: int) -> np.ndarray:
    v = np.zeros(D, np.float32)
    v[i] = 1.0
    return v


class FakeEncoder:
    """'a red circle' ↔ axis 0; frames with a red pixel block put axis 0 at patch (1, 2)."""

    model_id = "fake-clip"
    grid = GRID

    def __init__(self) -> None:
        self.text_calls: list[list[str]] = []

    def encode_text(self, texts: Any) -> np.ndarray:
        self.text_calls.append(list(texts))
        return np.stack([unit(0) if "red" in t else unit(1 + len(t) % (D - 2)) for t in texts])

    def encode_frames(self, frames: Any) -> tuple[np.ndarray, np.ndarray]:
        g, p = [], []
        for rgb in frames:
            red = bool(rgb[..., 0].max() > 200)
            g.append(unit(0) if red else unit(D - 1))
            patches = np.tile(unit(D - 1), (*GRID, 1))
            if red:
                patches[1, 2] = unit(0)
            p.append(patches)
        return np.stack(g), np.stack(p)


def rgb(red: bool) -> np.ndarray:
    img = np.zeros((60, 90, 3), np.uint8)
    if red:
        img[35:55, 65:85, 0] = 255
    return img


def window(red_at: set[int], n: int = 6) -> list[EncodedFrame]:
    frames = [Frame("cam", float(t), rgb(t in red_at)) for t in range(n)]
    return encode_frames(FakeEncoder(), frames, thumb_side=45)


@pytest.fixture
def setup() -> tuple[Engine, FakeEncoder, list[int]]:
    enc = FakeEncoder()
    calls: list[int] = []

    def selector(win: Any, ids: Any, embs: Any, cfg: Any) -> Any:
        calls.append(len(ids))
        return select_for_queries(win, ids, embs, cfg)

    def answerer(type_: str, settings: dict[str, Any]) -> Any:
        return build_answerer(type_, settings, encoder=enc)

    cfg = SelectionConfig(k_prompt=1, k_uniform=1, alpha=0.2)
    return Engine(enc, answerer, cfg, selector=selector, clock=lambda: 123.0), enc, calls


def queries() -> tuple[StandingQuery, ...]:
    s = {"threshold": 0.5}
    return (
        StandingQuery("q-red", "a red circle", settings=s),
        StandingQuery("q-cat", "a cat on a sofa", settings=s),
    )


def test_all_due_queries_share_one_selection_call(setup) -> None:  # type: ignore[no-untyped-def]
    engine, enc, calls = setup
    answers = engine.evaluate(Due("cam", 0.0, 6.0, queries()), window({3}))
    assert calls == [2]
    assert [a.query_id for a in answers] == ["q-red", "q-cat"]
    red, cat = answers
    assert (red.matched, cat.matched) == (True, False)
    assert 3.0 in red.frames
    assert (red.camera, red.window_start, red.window_end, red.evaluated_at) == (
        "cam",
        0.0,
        6.0,
        123.0,
    )
    assert red.model_ids == {"clip": "fake-clip"}
    assert red.latency_ms > 0


def test_answer_carries_the_selection_boxes_and_one_evidence_jpeg_per_frame(setup) -> None:  # type: ignore[no-untyped-def]
    engine, enc, _ = setup
    win = window({3})
    red = engine.evaluate(Due("cam", 0.0, 6.0, queries()[:1]), win)[0]
    sel = select_for_queries(win, ["q-red"], enc.encode_text(["a red circle"]), engine.config)[0]
    assert red.frames == sel.times and red.rois == tuple(r.normalized() for r in sel.rois)
    assert red.visual_tokens == sel.visual_tokens
    assert [e.t for e in red.evidence] == list(red.frames)
    assert [e.box for e in red.evidence] == list(red.rois)
    img = Image.open(io.BytesIO(red.evidence[0].jpeg))
    assert img.format == "JPEG" and img.size == (45, 30)


def test_text_embeddings_are_cached_across_windows(setup) -> None:  # type: ignore[no-untyped-def]
    engine, enc, _ = setup
    for end in (4.0, 5.0, 6.0):
        engine.evaluate(Due("cam", end - 4, end, queries()), window(set()))
    assert enc.text_calls == [["a red circle", "a cat on a sofa"]]


def test_empty_window_gives_no_answer(setup) -> None:  # type: ignore[no-untyped-def]
    engine, _, calls = setup
    assert engine.evaluate(Due("cam", 0.0, 4.0, queries()), []) == []
    assert calls == []


def test_encode_frames_keeps_size_and_small_thumb() -> None:
    enc = encode_frames(FakeEncoder(), [Frame("cam", 1.5, rgb(True))], thumb_side=30)
    f = enc[0]
    assert (f.camera, f.t, f.frame_size) == ("cam", 1.5, (60, 90))
    assert f.thumb.shape == (20, 30, 3) and f.patches.shape == (*GRID, D)


def test_evidence_draws_the_box_where_the_roi_is() -> None:
    from pipeline.evidence import render
    from pipeline.types import RoI

    frame = EncodedFrame(
        "cam",
        2.0,
        unit(0),
        np.zeros((*GRID, D), np.float32),
        np.zeros((60, 90, 3), np.uint8),
        (60, 90),
    )
    ev = render(frame, RoI(1, 2, 1, 1, *GRID), max_side=90, quality=95)
    img = np.asarray(Image.open(io.BytesIO(ev.jpeg)).convert("RGB")).astype(int)
    assert ev.box == (2 / 3, 0.5, 1.0, 1.0) and ev.t == 2.0
    assert img[45, 60].tolist()[0] > 150  # left edge of the box (x=60, bottom half)
    assert img[45, 30].max() < 60 and img[15, 75].max() < 60  # outside the box stays dark


def test_evidence_is_rendered_once_per_frame_and_box(  # type: ignore[no-untyped-def]
    setup, monkeypatch
) -> None:
    import pipeline.engine as engine_module

    engine, _, _ = setup
    rendered: list[tuple[float, Any]] = []
    real = engine_module.render

    def counting(frame: EncodedFrame, roi: Any) -> Any:
        rendered.append((frame.t, roi))
        return real(frame, roi)

    monkeypatch.setattr(engine_module, "render", counting)
    twins = (queries()[0], StandingQuery("q-red-2", "a red circle", settings={"threshold": 0.5}))
    win = window({3})
    first = engine.evaluate(Due("cam", 0.0, 6.0, twins), win)
    assert first[0].evidence == first[1].evidence  # same frames, same boxes: one JPEG each
    assert len(rendered) == len(set(rendered)) == len(first[0].evidence)
    engine.evaluate(Due("cam", 1.0, 7.0, twins), win)  # the next window over the same frames
    assert len(rendered) == len(first[0].evidence)
    engine.evaluate(Due("cam", 0.0, 6.0, twins), window({3}))  # re-encoded frames: drawn anew
    assert len(rendered) == 2 * len(first[0].evidence)
