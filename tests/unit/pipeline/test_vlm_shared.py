"""The tiny offline VLM spec and the shared VLM work per window.

``tiny-llava`` is built once per folder from a config (seeded, no download); a
buffered frame goes through the VLM's vision tower at most once however many
questions and windows select it; the questions due on one window are generated
in one padded batch, with the same answers as one at a time.
"""

from __future__ import annotations

import gc
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from pipeline.answerers import build_answerer  # noqa: E402
from pipeline.answerers.vlm import VlmAnswerer, load_adapter  # noqa: E402
from pipeline.buffer import BufferLimits, FrameBuffer  # noqa: E402
from pipeline.engine import Engine, encode_frames  # noqa: E402
from pipeline.models.tiny import TINY_LLAVA, save_tiny_llava  # noqa: E402
from pipeline.perception import SelectionConfig  # noqa: E402
from pipeline.scheduler import Due  # noqa: E402
from pipeline.testing import ColourEncoder  # noqa: E402
from pipeline.types import EncodedFrame, Frame, StandingQuery  # noqa: E402

pytestmark = pytest.mark.slow

QUESTIONS = [
    "is there a red circle?",
    "has a blue square appeared near the door?",
    "is a green triangle at the top?",
    "how many people are in the frame?",
    "is the exit empty?",
    "does a yellow circle stay in the middle?",
    "is there a forklift by the exit?",
    "is a white square moving?",
    "is there a cyan triangle on the left?",
    "is a magenta circle visible?",
]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture()
def tiny(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FEEDWATCH_MODELS_DIR", str(models_dir))
    load_adapter.cache_clear()
    return TINY_LLAVA


def _frames(n: int, seed: int = 0) -> list[Frame]:
    rng = np.random.default_rng(seed)
    return [
        Frame("cam", float(t), rng.integers(0, 256, (72, 128, 3), dtype=np.uint8)) for t in range(n)
    ]


def _window(n: int = 8, seed: int = 0) -> list[EncodedFrame]:
    return encode_frames(ColourEncoder(), _frames(n, seed), thumb_side=64)


def _engine(encoder: ColourEncoder, vlm_spec: str) -> Engine:
    built: dict[str, Any] = {}

    def answerer(type_: str, settings: dict[str, Any]) -> Any:
        key = repr((type_, sorted(settings.items())))
        if key not in built:
            built[key] = build_answerer(type_, settings, encoder=encoder, vlm_spec=vlm_spec)
        return built[key]

    return Engine(encoder, answerer, SelectionConfig(k_prompt=3, k_uniform=3), evidence=False)


def _queries(n: int) -> tuple[StandingQuery, ...]:
    settings = {"device": "cpu", "max_new_tokens": 6}
    return tuple(
        StandingQuery(f"q{i}", QUESTIONS[i], answerer="vlm", settings=settings) for i in range(n)
    )


def _digest(folder: Path) -> str:
    return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()


def test_tiny_llava_is_built_once_seeded_and_offline(tmp_path: Path) -> None:
    first = save_tiny_llava(tmp_path / "a")
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert save_tiny_llava(tmp_path / "a") == first
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp  # not rebuilt
    assert _digest(save_tiny_llava(tmp_path / "b")) == _digest(first)  # same seed, same weights
    assert _digest(save_tiny_llava(tmp_path / "c", seed=1)) != _digest(first)
    assert not list((tmp_path / "a").glob(".tiny-llava-*"))  # no staging folder left behind


def test_tiny_llava_is_a_vlm_spec(tiny: str) -> None:
    answerer = build_answerer("vlm", {"device": "cpu"}, encoder=ColourEncoder(), vlm_spec=tiny)
    assert isinstance(answerer, VlmAnswerer)
    assert answerer.adapter.model_id == "tiny-llava"
    assert answerer.adapter.grid == (8, 8)
    window = _window()
    engine = _engine(ColourEncoder(), tiny)
    (answer,) = engine.evaluate(Due("cam", 0.0, 8.0, _queries(1)), window)
    assert answer.answerer == "vlm" and answer.model_ids["vlm"] == "tiny-llava"
    assert 0 < answer.visual_tokens <= 6 * 64
    assert isinstance(answer.text, str)


def test_ten_questions_cost_one_vision_pass_per_frame(tiny: str) -> None:
    encoder = ColourEncoder()
    engine = _engine(encoder, tiny)
    window = _window(8)
    adapter = load_adapter(tiny, "cpu")
    before = adapter.vision_frames_encoded
    answers = engine.evaluate(Due("cam", 0.0, 8.0, _queries(10)), window)
    assert len(answers) == 10
    selected = {t for a in answers for t in a.frames}
    passes = adapter.vision_frames_encoded - before
    assert passes == len(selected) <= len(window)  # each selected frame once, not once per question
    assert sum(len(a.frames) for a in answers) > passes  # questions did share frames
    engine.evaluate(Due("cam", 1.0, 9.0, _queries(10)), window[1:])  # the next window
    assert adapter.vision_frames_encoded - before <= len(window)


def test_tokens_are_dropped_when_the_frame_leaves_the_buffer(tiny: str) -> None:
    adapter = load_adapter(tiny, "cpu")
    buffer = FrameBuffer("cam", BufferLimits(horizon=3.0))
    for frame in _window(4):
        buffer.add(frame)
    held = adapter.cached_frames
    adapter.frame_grids(list(buffer))
    assert adapter.cached_frames == held + 4
    for frame in _window(4, seed=1):  # times 0..3 again: nothing evicted yet
        buffer.add(
            EncodedFrame(
                frame.camera,
                frame.t + 10.0,
                frame.global_emb,
                frame.patches,
                frame.thumb,
                frame.frame_size,
            )
        )
    gc.collect()
    assert adapter.cached_frames == held  # the first four left the buffer, their tokens too
    passes = adapter.vision_frames_encoded
    adapter.frame_grids(list(buffer))
    adapter.frame_grids(list(buffer))
    assert adapter.vision_frames_encoded == passes + 4


def test_due_questions_are_one_padded_batch_with_unbatched_answers(tiny: str) -> None:
    encoder = ColourEncoder()
    engine = _engine(encoder, tiny)
    adapter = load_adapter(tiny, "cpu")
    batches: list[int] = []
    adapter._model.model.language_model.register_forward_pre_hook(
        lambda _m, _a, kw: batches.append(int(kw["inputs_embeds"].shape[0])), with_kwargs=True
    )
    window = _window(8)
    together = engine.evaluate(Due("cam", 0.0, 8.0, _queries(5)), window)
    assert batches and set(batches) == {5}  # one generate call: every step carries all 5 rows
    batches.clear()
    alone = [engine.evaluate(Due("cam", 0.0, 8.0, (q,)), window)[0] for q in _queries(5)]
    assert set(batches) == {1}
    assert [a.text for a in together] == [a.text for a in alone]
    assert [a.visual_tokens for a in together] == [a.visual_tokens for a in alone]
