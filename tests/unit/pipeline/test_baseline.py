"""The adaptive clip answerer's running baseline, corrections and saved state."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pytest

from pipeline.answerers import build_answerer
from pipeline.answerers.baseline import (
    BaselineState,
    Label,
    MemoryStates,
    Rule,
    corrected_threshold,
    decide,
)
from pipeline.errors import ConfigError
from pipeline.perception import Selection
from pipeline.types import EncodedFrame, RoI, StandingQuery

RULE = Rule(warmup=3, quantile=0.25, k=2.0, min_scale=0.01)


def _feed(state: BaselineState, scores: Sequence[float], rule: Rule = RULE) -> BaselineState:
    for i, s in enumerate(scores):
        state = state.observe(float(i), s, rule)
    return state


def test_a_score_is_judged_against_the_same_cameras_earlier_windows() -> None:
    low = _feed(BaselineState(), [-0.30, -0.31, -0.29, -0.30, -0.32])
    high = _feed(BaselineState(), [0.12, 0.13, 0.11, 0.12, 0.14])
    # the same absolute score is news on the low camera and usual on the high one
    assert decide(low, 10.0, 0.1, RULE).matched
    assert not decide(high, 10.0, 0.1, RULE).matched
    assert decide(high, 10.0, 0.25, RULE).matched


def test_warm_up_answers_use_the_floor_and_say_calibrating() -> None:
    rule = Rule(warmup=3, floor=0.05)
    state = _feed(BaselineState(), [0.0, 0.0], rule)
    d = decide(state, 5.0, 0.06, rule)
    assert d.calibrating and d.matched and d.threshold == 0.05
    assert not decide(state, 5.0, 0.04, rule).matched
    assert not decide(_feed(BaselineState(), [0.0] * 3, rule), 5.0, 0.0, rule).calibrating


def test_floor_and_sure_bound_the_relative_threshold() -> None:
    flat = _feed(BaselineState(), [-0.5] * 6)
    assert not decide(flat, 9.0, 0.0, Rule(warmup=1, floor=0.1)).matched
    noisy = _feed(BaselineState(), [-0.4, 0.3, -0.4, 0.3, -0.4, 0.3])
    assert decide(noisy, 9.0, 0.25, Rule(warmup=1, k=3.0, sure=0.2)).matched
    assert not decide(noisy, 9.0, 0.25, Rule(warmup=1, k=3.0)).matched


def test_a_decision_ignores_windows_after_it_and_the_order_they_were_saved_in() -> None:
    scores = list(np.random.default_rng(3).normal(0.0, 0.05, 40))
    forward = _feed(BaselineState(), scores)
    shuffled = BaselineState()
    for i in np.random.default_rng(4).permutation(40):
        shuffled = shuffled.observe(float(i), scores[i], RULE)
    replayed = _feed(forward, scores[:30])  # a successor processing windows again
    for key in range(5, 40):
        ds = [decide(s, float(key), scores[key], RULE) for s in (forward, shuffled, replayed)]
        assert ds[0] == ds[1] == ds[2]
    assert BaselineState.from_json(json.loads(json.dumps(forward.to_json()))) == forward


def test_the_horizon_drops_old_windows() -> None:
    rule = Rule(horizon_s=10.0, warmup=1)
    state = _feed(BaselineState(), [0.5] * 5 + [0.0] * 30, rule)
    assert len(state.samples) == 10 and decide(state, 35.0, 0.3, rule).matched


def test_corrections_move_the_threshold_just_enough() -> None:
    assert corrected_threshold(0.1, []) == 0.1
    wrong_yes = [Label(1.0, 0.15, False)]
    t = corrected_threshold(0.1, wrong_yes)
    assert 0.15 < t < 0.1501
    wrong_no = [Label(1.0, 0.05, True)]
    assert corrected_threshold(0.1, wrong_no) == 0.05
    agree = [Label(1.0, 0.3, True), Label(2.0, -0.2, False)]
    assert corrected_threshold(0.1, agree) == 0.1


D = 3


class _Enc:
    model_id = "fake"
    grid = (1, 1)
    calibration: dict[str, float] = {}

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        return np.ones((len(texts), D), np.float32)


def _answer(answerer, t: float, score: float, camera: str = "cam"):  # type: ignore[no-untyped-def]
    frame = EncodedFrame(camera, t, np.zeros(D, np.float32), np.zeros((1, 1, D), np.float32),
                         np.zeros((2, 2, 3), np.uint8), (2, 2))
    sel = Selection("q", (0,), (t,), (score,), np.array([score], np.float32),
                    (RoI.full(1, 1),))
    return answerer.answer(StandingQuery("q", "a red circle"), [frame], sel, np.ones(D))


def test_adaptive_is_the_default_and_keeps_one_baseline_per_camera() -> None:
    states = MemoryStates()
    answerer = build_answerer("clip", {"warmup": 3, "k": 2.0}, encoder=_Enc())
    answerer.use_states(states)  # type: ignore[attr-defined]
    texts = [_answer(answerer, float(t), -0.3).text for t in range(3)]
    assert texts == ["calibrating"] * 3  # no floor: undecided while warming up
    for t in range(3, 10):
        _answer(answerer, float(t), 0.2, camera="bright")
    assert _answer(answerer, 10.0, 0.0).text == "yes"  # news on "cam"
    assert _answer(answerer, 10.0, 0.21, camera="bright").text == "no"  # usual on "bright"
    assert set(states.states) == {("q", "cam"), ("q", "bright")}


def test_feedback_flips_the_next_answer_in_every_mode() -> None:
    for mode in ("adaptive", "threshold"):
        states = MemoryStates()
        answerer = build_answerer("clip", {"mode": mode, "threshold": 0.1} if mode == "threshold"
                                  else {"warmup": 1, "floor": 0.1}, encoder=_Enc())
        answerer.use_states(states)  # type: ignore[attr-defined]
        for t in range(5):
            _answer(answerer, float(t), -0.2)
        first = _answer(answerer, 5.0, 0.15)
        assert first.matched is True
        states.add_label("q", "cam", Label(5.0, 0.15, False))
        assert _answer(answerer, 6.0, 0.15).matched is False
        assert _answer(answerer, 7.0, 0.4).matched is True


def test_bad_adaptive_settings_name_the_field() -> None:
    with pytest.raises(ConfigError, match="clip.quantile"):
        build_answerer("clip", {"quantile": 2}, encoder=_Enc())
    with pytest.raises(ConfigError, match="clip.mode"):
        build_answerer("clip", {"mode": "auto"}, encoder=_Enc())
