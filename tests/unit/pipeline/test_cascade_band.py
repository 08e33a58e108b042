"""The cascade's band in the adaptive CLIP stage's own spreads: which no goes to the VLM.

A real CLIP's image-text cosines sit in a narrow range (a modality gap); the stand-ins'
spread wide. :class:`Narrow` gives the colour encoder a real CLIP's kind of range: every
embedding gets a shared extra axis, so each cosine becomes ``share·c + (1 − share)``
(the order of all scores kept, their differences ``share`` times as small). The adaptive
tracker judges in its own spreads, so with the band in spreads the same windows reach
the VLM either way; a band in cosine sends many more of the narrow encoder's windows.
The VLM here is a counting double (its own path is tested in test_cascade.py).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pytest

from pipeline.answerers import build_answerer
from pipeline.answerers.base import Answerer, AnswerResult
from pipeline.answerers.cascade import CascadeAnswerer, CascadeSettings
from pipeline.engine import encode_frames
from pipeline.perception import SelectionConfig, select_for_queries
from pipeline.testing import ColourEncoder
from pipeline.types import EncodedFrame, FloatArray, Frame, ImageArray, StandingQuery

QUERY = StandingQuery("q", "is there a red circle?")
PRESENT = range(14, 24)  # seconds with the red object in view


class Narrow:
    """The colour encoder with its cosines squeezed into ``[1 − 2·share, 1]``."""

    def __init__(self, encoder: ColourEncoder, share: float) -> None:
        self._encoder, self._a, self._b = encoder, share ** 0.5, (1 - share) ** 0.5
        self.grid, self.dim, self.model_id = encoder.grid, encoder.dim + 1, "narrow-colour"

    def _widen(self, embs: FloatArray) -> FloatArray:
        extra = np.full((*embs.shape[:-1], 1), self._b, np.float32)
        return np.concatenate([self._a * embs, extra], axis=-1).astype(np.float32)

    def encode_frames(self, frames: Sequence[ImageArray]) -> tuple[FloatArray, FloatArray]:
        globals_, patches = self._encoder.encode_frames(frames)
        return self._widen(globals_), self._widen(patches)

    def encode_text(self, texts: Sequence[str]) -> FloatArray:
        return self._widen(self._encoder.encode_text(texts))


class CountingVLM(Answerer):
    """Says no to every window it is asked about, and counts them."""

    type: ClassVar[str] = "counting-vlm"

    def __init__(self) -> None:
        self.asked = 0

    @classmethod
    def build(cls, config: Any, *, encoder: Any, vlm_spec: str = "") -> CountingVLM:
        return cls()

    def answer(self, query: StandingQuery, window: Any, selection: Any,
               query_emb: Any) -> AnswerResult:
        self.asked += 1
        return AnswerResult("no", False, None, 0)


def _frames(present: range = PRESENT, seconds: int = 40) -> list[Frame]:
    """``seconds`` s at 1 fps: grey with a few red specks (how many varies), the red
    object (of varying size) in view in ``present`` (14-23 s)."""
    rng, out = random.Random(3), []
    for t in range(seconds):
        img = np.full((48, 64, 3), 90, np.uint8)
        for _ in range(rng.randint(0, 6)):
            y, x = rng.randrange(48), rng.randrange(64)
            img[y, x] = (230, 20, 20)
        if t in present:
            side = rng.randint(7, 11)
            img[10 : 10 + side, 20 : 20 + side] = (230, 20, 20)
        out.append(Frame("cam", float(t), img))
    return out


def _run(encoder: Any, **settings: Any) -> tuple[list[str], list[bool | None], int]:
    """Who decided each window, the CLIP stage's answers, and the VLM's calls."""
    clip = build_answerer("clip", {}, encoder=encoder)
    vlm = CountingVLM()
    no_reuse = CascadeSettings(reuse_distance=0.0, reuse_max_age=0.0, **settings)
    cascade = CascadeAnswerer(no_reuse, clip, vlm)
    frames: list[EncodedFrame] = encode_frames(encoder, _frames(), thumb_side=32)
    emb = np.asarray(encoder.encode_text([QUERY.question]), np.float32)
    decided, clip_said = [], []
    for end in range(4, 41):
        window = frames[end - 4 : end]
        sel = select_for_queries(window, [QUERY.id], emb, SelectionConfig(k_prompt=2,
                                                                           k_uniform=1))
        result = cascade.answer_many([QUERY], window, sel, emb)[0]
        decided.append(result.stages["decided_by"])
        clip_said.append(result.stages["clip"]["matched"])
    return decided, clip_said, vlm.asked


@pytest.mark.parametrize("share", [0.2, 0.05])
def test_the_band_in_spreads_sends_the_same_windows_whatever_the_cosine_range(
        share: float) -> None:
    wide = _run(ColourEncoder())
    narrow = _run(Narrow(ColourEncoder(), share))
    assert narrow == wide
    decided, clip_said, asked = wide
    near = [d for d, m in zip(decided, clip_said, strict=True) if d == "vlm" and not m]
    assert near, "some no near yes goes to the VLM"
    assert "clip" in decided and 0 < asked <= decided.count("vlm")  # a verdict may be reused


def test_a_band_in_cosine_sends_a_narrow_clip_far_more_windows() -> None:
    as_cosine = {"band_spreads": 0.0, "band": 0.05}
    wide = _run(ColourEncoder(), **as_cosine)[2]
    narrow = _run(Narrow(ColourEncoder(), 0.05), **as_cosine)[2]
    assert narrow > wide


def test_a_wider_band_asks_about_more_windows_and_every_yes_is_asked() -> None:
    runs = [_run(ColourEncoder(), band_spreads=b) for b in (0.25, 1.0, 3.0)]
    asked = [r[2] for r in runs]
    assert asked[0] < asked[2] and asked == sorted(asked)
    for decided, clip_said, _ in runs:
        assert all(d == "vlm" for d, m in zip(decided, clip_said, strict=True) if m is not False)


class SeeingVLM(CountingVLM):
    """Says yes exactly when a selected frame shows the red object (a VLM that is right)."""

    def __init__(self, present: range) -> None:
        super().__init__()
        self.present = present

    def answer(self, query: StandingQuery, window: Any, selection: Any,
               query_emb: Any) -> AnswerResult:
        self.asked += 1
        seen = any(int(window[i].t) in self.present for i in selection.indices)
        return AnswerResult("yes" if seen else "no", seen, None, 0)


def _from_the_first_frame(teach: bool) -> tuple[list[bool | None], list[bool], list[bool]]:
    """The red object in view from the first frame to 20 s: the final answers, what the
    CLIP stage said, and which windows it was taught."""
    encoder, present = ColourEncoder(), range(0, 20)
    frames = encode_frames(encoder, _frames(present, 36), thumb_side=32)
    clip = build_answerer("clip", {}, encoder=encoder)
    cascade = CascadeAnswerer(CascadeSettings(teach=teach), clip, SeeingVLM(present))
    emb = np.asarray(encoder.encode_text([QUERY.question]), np.float32)
    said, clip_said, taught = [], [], []
    for end in range(4, 37):
        window = frames[end - 4 : end]
        sel = select_for_queries(window, [QUERY.id], emb, SelectionConfig(k_prompt=2,
                                                                           k_uniform=1))
        result = cascade.answer_many([QUERY], window, sel, emb)[0]
        said.append(result.matched)
        clip_said.append(result.stages["clip"]["matched"] is True)
        taught.append(result.stages["clip"]["taught"])
    return said, clip_said, taught


def test_a_vlm_yes_teaches_the_clip_stage_a_state_present_from_the_first_frame() -> None:
    taught_said, taught_clip, taught = _from_the_first_frame(teach=True)
    plain_said, plain_clip, never = _from_the_first_frame(teach=False)
    inside = range(0, 16)  # windows ending 4..19 lie inside the presence
    after = range(21, 33)  # windows ending 25..36 lie after it
    assert not any(never) and any(taught)
    assert sum(bool(taught_said[i]) for i in inside) >= 12
    assert not any(taught_said[i] for i in after)
    # the support doubts the asked thing: untaught, the CLIP stage never says yes itself
    assert sum(taught_clip[i] for i in inside) > sum(plain_clip[i] for i in inside) == 0
