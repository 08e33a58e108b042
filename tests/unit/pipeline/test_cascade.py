"""The ``cascade`` answerer: the CLIP gate, the VLM's verdict, reuse on unchanged frames.

CLIP is the torch-free colour encoder ("a red circle" scores on red pixels); the
VLM is a tiny LLaVA with a scripted reply (tests/scripted_vlm.py), so whether the
VLM confirms a window is set by the test while the whole VLM path runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("transformers")

from pipeline.answerers import build_answerer  # noqa: E402
from pipeline.answerers.cascade import CascadeAnswerer  # noqa: E402
from pipeline.answerers.vlm import load_adapter  # noqa: E402
from pipeline.engine import Engine, encode_frames  # noqa: E402
from pipeline.errors import ConfigError  # noqa: E402
from pipeline.perceiver import AnswererCache  # noqa: E402
from pipeline.perception import SelectionConfig  # noqa: E402
from pipeline.scheduler import Due  # noqa: E402
from pipeline.testing import ColourEncoder  # noqa: E402
from pipeline.types import Answer, EncodedFrame, Frame, StandingQuery  # noqa: E402
from tests.scripted_vlm import save_scripted_llava  # noqa: E402

pytestmark = pytest.mark.slow

YES = "yes a red circle stands in the middle"
NO = "no nothing is there"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vlms")


def _rgb(red: bool, blue: bool = False) -> np.ndarray:
    img = np.full((72, 128, 3), 90, np.uint8)
    if red:
        img[20:50, 70:110] = (230, 20, 20)
    if blue:
        img[5:30, 5:40] = (20, 20, 230)
    return img


def _window(start: int, red: bool, blue: bool = False, n: int = 4) -> list[EncodedFrame]:
    frames = [Frame("cam", float(t), _rgb(red, blue)) for t in range(start, start + n)]
    return encode_frames(ColourEncoder(), frames, thumb_side=64)


def _engine(vlm: Path) -> tuple[Engine, AnswererCache]:
    load_adapter.cache_clear()
    encoder = ColourEncoder()
    cache = AnswererCache(encoder, str(vlm))
    cfg = SelectionConfig(k_prompt=2, k_uniform=1)
    return Engine(encoder, cache, cfg, evidence=False), cache


def _query(**settings: Any) -> StandingQuery:
    base = {"clip": {"threshold": 0.5}, "vlm": {"device": "cpu", "max_new_tokens": 12}}
    return StandingQuery("q", "is there a red circle?", answerer="cascade",
                         settings={**base, **settings})


def _ask(engine: Engine, window: list[EncodedFrame], query: StandingQuery) -> Answer:
    start, end = window[0].t, window[-1].t + 1.0
    return engine.evaluate(Due("cam", start, end, (query,)), window)[0]


def _cascade(cache: AnswererCache, query: StandingQuery) -> CascadeAnswerer:
    built = cache(query.answerer, query.settings)
    assert isinstance(built, CascadeAnswerer)
    return built


def test_clear_clip_no_skips_the_vlm_and_a_clip_yes_is_verified(models: Path) -> None:
    engine, cache = _engine(save_scripted_llava(models, YES))
    query = _query()
    empty = _ask(engine, _window(0, red=False), query)
    assert empty.matched is False and empty.text == "no"
    assert empty.stages["decided_by"] == "clip" and empty.stages["vlm"] is None
    assert empty.visual_tokens == 0
    red = _ask(engine, _window(10, red=True), query)
    assert red.matched is True and red.text == YES and red.answerer == "cascade"
    assert red.stages["decided_by"] == "vlm" and red.stages["clip"]["matched"] is True
    assert red.stages["clip"]["score"] == red.score > 0.5
    assert red.stages["vlm"]["called"]
    assert red.visual_tokens == red.stages["vlm"]["visual_tokens"] > 0
    assert set(red.model_ids) == {"clip", "vlm"}
    assert _cascade(cache, query).vlm_calls_per_window() == 0.5


def test_the_vlm_no_overrules_the_clip_gate(models: Path) -> None:
    engine, _ = _engine(save_scripted_llava(models, NO))
    answer = _ask(engine, _window(0, red=True), _query())
    assert answer.stages["clip"]["matched"] is True
    assert answer.matched is False and answer.text == NO and answer.stages["decided_by"] == "vlm"


def test_the_band_sends_near_misses_to_the_vlm(models: Path) -> None:
    engine, _ = _engine(save_scripted_llava(models, YES))
    score = _ask(engine, _window(0, red=True), _query()).score
    assert score is not None
    near = {"threshold": round(score + 0.03, 4)}
    inside = _ask(engine, _window(10, red=True), _query(clip=near, band=0.05))
    outside = _ask(engine, _window(20, red=True), _query(clip=near, band=0.01))
    assert inside.stages["clip"]["matched"] is False and inside.stages["decided_by"] == "vlm"
    assert outside.stages["decided_by"] == "clip" and outside.matched is False


def test_a_static_scene_costs_one_vlm_call(models: Path) -> None:
    engine, cache = _engine(save_scripted_llava(models, YES))
    query = _query()
    adapter = load_adapter(str(save_scripted_llava(models, YES)), "cpu")
    answers = [_ask(engine, _window(t, red=True), query) for t in range(0, 6)]
    cascade = _cascade(cache, query)
    assert cascade.counts[("q", "cam", "vlm")] == 1
    assert cascade.counts[("q", "cam", "windows")] == 6
    assert all(a.matched is True and a.text == YES for a in answers)
    assert [a.stages["vlm"]["called"] for a in answers] == [True] + [False] * 5
    assert answers[3].stages["vlm"]["reused_from"] == answers[0].frames[-1]
    passes = adapter.vision_frames_encoded
    changed = _ask(engine, _window(6, red=True, blue=True), query)
    assert changed.stages["vlm"]["called"] and cascade.counts[("q", "cam", "vlm")] == 2
    assert adapter.vision_frames_encoded > passes
    strict = _query(reuse_distance=0.0, reuse_max_age=0.0)
    _ask(engine, _window(20, red=True), strict)
    _ask(engine, _window(21, red=True), strict)
    assert _cascade(cache, strict).counts[("q", "cam", "vlm")] == 2  # reuse switched off


def test_settings_errors_name_the_stage_field() -> None:
    with pytest.raises(ConfigError, match=r"cascade\.clip\.mode"):
        build_answerer("cascade", {"clip": {"mode": "bogus"}}, encoder=ColourEncoder(),
                       vlm_spec="x")
    with pytest.raises(ConfigError, match=r"cascade\.vlm\.max_new_tokens"):
        build_answerer("cascade", {"vlm": {"max_new_tokens": 0}}, encoder=ColourEncoder(),
                       vlm_spec="x")
    with pytest.raises(ConfigError, match=r"cascade\.band"):
        build_answerer("cascade", {"band": -1}, encoder=ColourEncoder(), vlm_spec="x")
