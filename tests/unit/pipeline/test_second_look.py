"""The adaptive ``clip`` answerer's second look: crop, cache, and the score it gives."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from pipeline.answerers import build_answerer
from pipeline.answerers.second_look import SecondLook, crop_around_best_patch
from pipeline.perception import SelectionConfig, select_for_queries
from pipeline.types import EncodedFrame, StandingQuery

D = 4
OBJ, BG = np.eye(D, dtype=np.float32)[:2]


def _frame(t: float, best: tuple[int, int] = (2, 5), grid: tuple[int, int] = (8, 8),
           thumb: tuple[int, int] = (80, 160), red: bool = True) -> EncodedFrame:
    """A frame whose patch (row, col) ``best`` matches OBJ; the thumbnail is red there
    when ``red``, grey elsewhere."""
    patches = np.tile(BG, (*grid, 1))
    patches[best] = OBJ
    img = np.full((*thumb, 3), 128, np.uint8)
    if red:
        ch, cw = thumb[0] // grid[0], thumb[1] // grid[1]
        img[best[0] * ch:(best[0] + 1) * ch, best[1] * cw:(best[1] + 1) * cw] = (255, 0, 0)
    g = (BG + 0.3 * OBJ) / np.linalg.norm(BG + 0.3 * OBJ)
    return EncodedFrame("cam", t, g.astype(np.float32), patches, img, thumb)


class RedEncoder:
    """Image side: the share of pure red pixels in a crop becomes its OBJ component."""

    model_id = "red-clip"
    grid = (8, 8)

    def __init__(self) -> None:
        self.batches: list[int] = []

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([BG for _ in texts])

    def encode_frames(self, frames: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        self.batches.append(len(frames))
        out = []
        for f in frames:
            red = float(np.mean(np.all(f == (255, 0, 0), axis=-1)))
            v = red * OBJ + (1 - red) * BG
            out.append(v / np.linalg.norm(v))
        return np.stack(out).astype(np.float32), np.zeros((len(frames), 8, 8, D), np.float32)


def test_the_crop_is_span_cells_around_the_best_patch() -> None:
    crop = crop_around_best_patch(_frame(0.0), OBJ, 3.0)
    # cells are 10 px high and 20 px wide; the best cell's centre is at (25, 110)
    assert crop.shape[:2] == (30, 60)
    assert np.all(crop[10:20, 20:40] == (255, 0, 0))


def test_near_the_frame_edge_the_crop_moves_inside_keeping_its_size() -> None:
    crop = crop_around_best_patch(_frame(0.0, best=(0, 7)), OBJ, 3.0)
    assert crop.shape[:2] == (30, 60)
    assert np.all(crop[0:10, 40:60] == (255, 0, 0))  # the corner cell, now at the crop's corner


def test_a_span_wider_than_the_frame_takes_the_whole_frame() -> None:
    assert crop_around_best_patch(_frame(0.0), OBJ, 12.0).shape[:2] == (80, 160)


def test_each_frame_and_question_is_encoded_once_and_new_frames_in_one_batch() -> None:
    enc = RedEncoder()
    look = SecondLook(enc, 3.0)
    frames = [_frame(float(t)) for t in range(4)]
    first = look.scores(frames[:3], "q", OBJ)
    again = look.scores(frames[1:], "q", OBJ)
    assert enc.batches == [3, 1]
    assert first[1:] == again[:2]
    look.scores(frames[:1], "another question", OBJ)
    assert enc.batches == [3, 1, 1]


def test_the_cache_is_bounded() -> None:
    look = SecondLook(RedEncoder(), 3.0, max_cached=5)
    look.scores([_frame(float(t)) for t in range(20)], "q", OBJ)
    assert len(look._cache) == 5


def _answer(settings: dict, encoder: object, red: bool) -> float:
    window = [_frame(float(t), red=red) for t in range(4)]
    (sel,) = select_for_queries(window, ["q"], OBJ[None], SelectionConfig())
    answerer = build_answerer("clip", settings, encoder=encoder)
    result = answerer.answer(StandingQuery("q", "a red thing"), window, sel, OBJ)
    assert result.score is not None
    return result.score


def test_the_adaptive_score_is_the_mean_of_the_frame_and_the_closer_look() -> None:
    enc = RedEncoder()
    g = float(_frame(0.0).global_emb @ OBJ)
    crop = crop_around_best_patch(_frame(0.0), OBJ, 3.0)
    closer = float(enc.encode_frames([crop])[0][0] @ OBJ)
    score = _answer({"mode": "adaptive", "second_look": 3.0}, enc, red=True)
    assert score == pytest.approx((g + closer) / 2, abs=1e-6)
    assert score > _answer({"mode": "adaptive", "second_look": 3.0}, RedEncoder(), red=False)


@pytest.mark.parametrize(("settings", "crops"), [
    ({"mode": "adaptive", "closer_look": 3}, [1]),  # asked of the support, not the score
    ({"mode": "adaptive"}, []),  # the closer look is off by default
    ({"mode": "threshold", "threshold": 0.5}, []),
])
def test_no_second_look_when_off_or_in_a_fixed_mode(settings: dict, crops: list[int]) -> None:
    enc = RedEncoder()
    assert _answer(settings, enc, red=True) == pytest.approx(float(_frame(0.0).global_emb @ OBJ))
    assert enc.batches == crops


def test_bad_second_look_names_the_field() -> None:
    from pipeline.errors import ConfigError

    with pytest.raises(ConfigError, match="second_look"):
        build_answerer("clip", {"second_look": -1}, encoder=RedEncoder())



def test_no_calibrated_level_or_span_decides_the_default() -> None:
    enc = RedEncoder()
    enc.calibration = {"adaptive_floor": 0.03, "adaptive_sure": 0.2,  # type: ignore[attr-defined]
                       "second_look_floor": 0.11, "second_look_sure": 0.175, "second_look": 2.0}
    default = build_answerer("clip", {}, encoder=enc)
    assert default.second_look is None  # type: ignore[attr-defined]
    assert (default.rule.floor, default.rule.sure) == (None, float("inf"))  # type: ignore[attr-defined]
    looked = build_answerer("clip", {"second_look": 2, "floor": 0.1}, encoder=enc)
    assert looked.second_look.span == 2.0  # type: ignore[attr-defined]
    assert looked.rule.floor == 0.1  # type: ignore[attr-defined]  # the user's own level


def _windows(cameras: Sequence[str]) -> list[list[EncodedFrame]]:
    from dataclasses import replace

    return [[replace(_frame(float(t)), camera=cam) for t in range(4)] for cam in cameras]


def test_the_closer_looks_of_one_step_are_encoded_together_and_change_no_answer() -> None:
    windows = _windows(["a", "b", "c"])
    queries = [StandingQuery(f"q-{w[0].camera}", "a red thing", cameras=(w[0].camera,))
               for w in windows]
    sels = [select_for_queries(w, ["q"], OBJ[None], SelectionConfig())[0] for w in windows]

    def answers(look_ahead: bool) -> tuple[list[object], list[int]]:
        enc = RedEncoder()
        answerer = build_answerer("clip", {"closer_look": 3}, encoder=enc)
        items = list(zip(queries, windows, sels, strict=True))
        if look_ahead:
            answerer.look_ahead([(q, w, s, OBJ) for q, w, s in items])
        got = [answerer.answer(q, w, s, OBJ) for q, w, s in items]
        return [(r.text, r.score, r.why) for r in got], enc.batches

    ahead, batches = answers(look_ahead=True)
    alone, one_by_one = answers(look_ahead=False)
    assert ahead == alone
    assert batches == [3] and one_by_one == [1, 1, 1]
    assert all("closer look" in why for _, _, why in ahead)


def test_a_closer_look_is_asked_only_where_the_support_can_change_the_answer() -> None:
    from pipeline.answerers.baseline import ABSENT, PRESENT, BaselineState, Evidence, Rule
    from pipeline.answerers.closer import LOOK_FROM, wanted

    state = BaselineState(tuple((float(k), 0.1 + 0.001 * k, -3.0, 0.02, ABSENT)
                                for k in range(5)))
    assert not wanted(state, 9.0, Evidence(0.1, 0.0, 0.02), Rule())  # at the absent level: no
    assert wanted(state, 9.0, Evidence(0.5, 0.0, 0.02), Rule())  # high: the support decides
    assert not wanted(state, 9.0, Evidence(0.5, LOOK_FROM - 0.1, 0.02), Rule())  # clearly not
    assert wanted(BaselineState(), 0.0, Evidence(0.1, 0.0, 0.02), Rule())  # calibrating
    yes = BaselineState(state.samples + ((8.0, 0.5, 0.0, 0.02, PRESENT),))
    assert not wanted(yes, 9.0, Evidence(0.5, 0.0, 0.02), Rule())  # already yes: it stays
    assert build_answerer("clip", {}, encoder=RedEncoder()).closer is None  # type: ignore[attr-defined]


def test_live_and_backfilled_frames_give_the_same_closer_look() -> None:
    from pipeline.history.records import IndexPolicy, to_encoded, to_indexed

    live = _frame(0.0, thumb=(180, 320))  # larger than what the index keeps
    stored = to_encoded(to_indexed(live, "red-clip", IndexPolicy()))
    a = crop_around_best_patch(live, OBJ, 3.0).astype(int)
    b = crop_around_best_patch(stored, OBJ, 3.0).astype(int)
    assert a.shape == b.shape == (34, 60, 3)
    assert np.abs(a - b).mean() < 3  # the stored JPEG's error only
