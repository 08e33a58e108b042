"""The adaptive clip answerer's tracker: persistence, cold start, silence, determinism,
corrections and saved state — on evidence recorded from real model output
(``traces/long_scenes.json``, see ``traces/record.py``) and on hand-made sequences."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pipeline.answerers import build_answerer
from pipeline.answerers.baseline import (
    ABSENT,
    BAND,
    PRESENT,
    BaselineState,
    Decision,
    Evidence,
    Rule,
    as_labelled,
    decide,
)
from pipeline.answerers.closer import CLOSER_GATE
from pipeline.answerers.corrections import Label, corrected_threshold
from pipeline.answerers.states import MemoryStates
from pipeline.errors import ConfigError
from pipeline.perception import Selection
from pipeline.types import EncodedFrame, RoI, StandingQuery

RULE = Rule()
TRACES = json.loads((Path(__file__).parent / "traces" / "long_scenes.json").read_text())
Row = tuple[Evidence, bool | None, float]
"""A window's evidence as a window that could turn yes asks it, its truth, and the
support a state already yes is held by (the answerer asks one or the other)."""


def _rows(scene: dict, *, present: bool | None = None) -> list[Row]:  # type: ignore[type-arg]
    """A recorded scene's window evidence; ``present`` keeps only windows of that truth."""
    out = [(Evidence(s, p, u), t, stay) for _, s, p, u, t, stay in scene["windows"]]
    return out if present is None else [r for r in out if r[1] is present]


def _track(rows: Iterable[Row], rule: Rule = RULE, closer: bool = False) -> list[bool | None]:
    """The tracker's answers; ``closer``: a window that could turn yes asks the closer
    look (the answerer's ``closer_look``), else every window the whole frame."""
    state, out, was_yes = BaselineState(), [], False
    if closer:
        rule = replace(rule, gate=CLOSER_GATE)
    for i, (ev, _, stay) in enumerate(rows):
        if was_yes or not closer:
            ev = Evidence(ev.score, stay, ev.unit)
        d = decide(state, float(i), ev, rule)
        state = state.observe(float(i), ev, d.verdict, rule, d.relabel_below, d.relabel_above)
        out.append(d.matched)
        was_yes = d.verdict == PRESENT
    return out


def _cycle(rows: Sequence[Row], n: int) -> list[Row]:
    return [rows[i % len(rows)] for i in range(n)]


@pytest.mark.parametrize("closer", [False, True])
@pytest.mark.parametrize("n", range(len(TRACES["scenes"])))
def test_a_state_present_from_20s_to_600s_stays_yes(n: int, closer: bool) -> None:
    scene = TRACES["scenes"][n]
    absent, present = _rows(scene, present=False), _rows(scene, present=True)
    answers = _track(absent[:20] + _cycle(present, 580), closer=closer)
    after = answers[20:]
    assert sum(a is True for a in after) / len(after) >= 0.95


@pytest.mark.parametrize("closer", [False, True])
@pytest.mark.parametrize("n", range(len(TRACES["scenes"])))
def test_a_state_present_from_the_first_window_is_yes_from_the_first_answer(n: int,
                                                                           closer: bool) -> None:
    present = _rows(TRACES["scenes"][n], present=True)
    answers = _track(present, closer=closer)
    decided = [a for a in answers if a is not None]
    assert decided[0] is True
    assert sum(decided) / len(decided) >= 0.95


@pytest.mark.parametrize("closer", [False, True])
@pytest.mark.parametrize("n", range(len(TRACES["never"])))
def test_a_never_present_target_says_no_for_ten_minutes(n: int, closer: bool) -> None:
    answers = _track(_rows(TRACES["never"][n]), closer=closer)
    assert len(answers) >= 596
    assert sum(a is False for a in answers) / len(answers) >= 0.99


def test_the_whole_recorded_scenes_agree_with_their_truth() -> None:
    """Scene 3 opens on a distractor the model itself takes for the target (zero-shot
    support +1.2): its first minute is a false yes no rule without absolute levels avoids."""
    right = total = 0
    for scene in TRACES["scenes"]:
        rows = _rows(scene)
        for (_, truth, _), said in zip(rows, _track(rows), strict=True):
            if truth is not None:
                right += said == truth
                total += 1
    assert right / total >= 0.93


def _ev(score: float, support: float = -3.0, unit: float = 0.1) -> Evidence:
    return Evidence(score, support, unit)


def _feed(scores: Sequence[float], support: float = -3.0, rule: Rule = RULE) -> BaselineState:
    state = BaselineState()
    for i, s in enumerate(scores):
        d = decide(state, float(i), _ev(s, support), rule)
        state = state.observe(float(i), _ev(s, support), d.verdict, rule)
    return state


def test_a_score_is_judged_against_the_same_cameras_absent_level() -> None:
    low = _feed([-0.30, -0.31, -0.29, -0.30, -0.32])
    high = _feed([0.12, 0.13, 0.11, 0.12, 0.14])
    assert decide(low, 10.0, _ev(0.1, 1.0), RULE).matched
    assert not decide(high, 10.0, _ev(0.1, 1.0), RULE).matched
    # a rise without zero-shot support (another object entering) is not the asked thing
    assert not decide(low, 10.0, _ev(0.1, -2.0), RULE).matched


def test_a_persisting_state_never_becomes_its_own_baseline() -> None:
    state = _feed([-0.3] * 10)
    for i in range(10, 510):
        d = decide(state, float(i), _ev(0.2, 1.0), RULE)
        state = state.observe(float(i), _ev(0.2, 1.0), d.verdict, RULE)
    assert all(s[4] == PRESENT for s in state.samples[-400:])
    assert decide(state, 600.0, _ev(0.2, 1.0), RULE).matched
    assert decide(state, 600.0, _ev(0.2, 1.0), RULE).level == pytest.approx(-0.3)


def test_cold_start_follows_the_zero_shot_support_with_hysteresis() -> None:
    d = decide(BaselineState(), 0.0, _ev(0.0, 0.0), RULE)
    assert d.matched and d.calibrating and "no absent level yet" in d.why
    assert not decide(BaselineState(), 0.0, _ev(0.0, -0.9), RULE).matched
    was_yes = BaselineState().observe(0.0, _ev(0.0, 0.0), PRESENT, RULE)
    assert decide(was_yes, 1.0, _ev(0.0, -0.9), RULE).matched  # stays yes above prior_off
    assert not decide(was_yes, 1.0, _ev(0.0, -1.5), RULE).matched


def test_a_clear_drop_below_the_present_level_ends_a_state_seen_from_the_start() -> None:
    state = _feed([0.2, 0.21, 0.19, 0.2], support=0.0)
    assert all(s[4] == PRESENT for s in state.samples)
    d = decide(state, 9.0, _ev(-0.3, -0.5), RULE)
    assert not d.matched and d.verdict == ABSENT


def test_a_clear_rise_shows_the_earlier_yes_was_a_look_alike() -> None:
    state = _feed([0.0, 0.01, -0.01, 0.0], support=0.0)  # taken for present at first
    d = decide(state, 9.0, _ev(0.3, 0.0), RULE)
    assert d.matched and d.relabel_below is not None
    after = state.observe(9.0, _ev(0.3, 0.0), d.verdict, RULE, d.relabel_below)
    assert [s[4] for s in after.samples] == [ABSENT] * 4 + [PRESENT]
    assert not decide(after, 10.0, _ev(0.0, 0.0), RULE).matched


def test_one_absent_window_beside_a_present_level_sets_where_a_state_ends() -> None:
    # present from the start at 0.30; one clear drop (0.05) is learned as absent; the
    # state comes back; then 0.16: nearer that absent window than the present level, but
    # less than two units (0.16) below the present level
    state = BaselineState()
    for i, s in enumerate([0.30, 0.31, 0.29, 0.30, 0.05, 0.30, 0.31]):
        d = decide(state, float(i), _ev(s, 0.0, unit=0.08), RULE)
        state = state.observe(float(i), _ev(s, 0.0, unit=0.08), d.verdict, RULE)
    assert [s[4] for s in state.samples] == [PRESENT] * 4 + [ABSENT, PRESENT, PRESENT]
    d = decide(state, 7.0, _ev(0.16, 0.0, unit=0.08), RULE)
    assert not d.matched and d.level == pytest.approx(0.05)
    assert "recent present level" in d.why
    assert decide(state, 7.0, _ev(0.27, 0.0, unit=0.08), RULE).matched  # still present


def _answers(scores: Sequence[float], support: float = 0.0,
             unit: float = 0.22) -> list[bool | None]:
    state, out = BaselineState(), []
    for i, s in enumerate(scores):
        d = decide(state, float(i), _ev(s, support, unit), RULE)
        state = state.observe(float(i), _ev(s, support, unit), d.verdict, RULE)
        out.append(d.matched)
    return out


def test_a_state_seen_from_the_start_ends_when_its_score_stays_below_the_present_level() -> None:
    # present from the first frame at 0.335; the asked thing leaves and a look-alike of
    # its colour stays at -0.01: 6 spreads below the present level, but less than two of
    # this model's wide units (0.22), and the look-alike keeps the support
    warm = max(RULE.warmup, 1)
    answers = _answers([0.335] * 8 + [-0.01] * 20)
    assert all(answers[:8])
    assert answers[8:8 + warm - 1] == [True] * (warm - 1)  # held as long as a level takes
    assert answers[8 + warm - 1:] == [False] * (20 - warm + 1)  # then no, and it stays no
    # a dip shorter than that is held, and the state goes on
    short = _answers([0.335] * 8 + [-0.01] * (warm - 1) + [0.335] * 10)
    assert all(short)


def test_a_state_seen_from_the_start_that_dims_slowly_stays_yes() -> None:
    # dusk from the first frame: no absent level is ever learned, the score falls 0.4
    assert all(_answers([0.3 - 0.002 * i for i in range(200)], unit=0.1))


def test_a_look_alike_left_in_view_ends_the_state_and_does_not_restart_it() -> None:
    # absent at -0.01, the asked thing at 0.37; when it leaves, a look-alike sharing its
    # colour stays in view at 0.08: well above the absent level's band, but nearer the
    # absent level than the present one
    def run(rule: Rule) -> tuple[BaselineState, list[Decision]]:
        state, out = BaselineState(), []
        for i, (s, p) in enumerate([(-0.01, -3.0)] * 4 + [(0.37, 1.0)] * 10 + [(0.08, 1.0)] * 16):
            d = decide(state, float(i), _ev(s, p), rule)
            state = state.observe(float(i), _ev(s, p), d.verdict, rule)
            out.append(d)
        return state, out

    state, out = run(RULE)
    assert [d.matched for d in out] == [False] * 4 + [True] * 10 + [False] * 16  # no flicker
    assert "recent present level 0.370" in out[14].why
    assert decide(state, 30.0, _ev(0.37, 1.0), RULE).matched  # the asked thing again
    # without the present level (drop_share 0) the look-alike held the state
    _, held = run(Rule(drop_share=0.0))
    assert all(d.matched for d in held[4:])


def test_the_asked_thing_back_at_its_confirmed_level_turns_yes_on_the_stay_yes_support() -> None:
    # absent at -0.56, the asked thing at 0.41 for 25 windows (its support -0.6: a
    # near-synonym among the alternatives fits as well), absent again for 30 windows (the
    # recent present level forgotten), then back at 0.41 with support -0.9: between the
    # stay-yes support (-1.0) and a first sighting's (-0.75)
    trace = [(-0.56, -3.0)] * 4 + [(0.41, 0.0)] + [(0.41, -0.6)] * 24 + [(-0.18, -1.7)] * 30
    state, out = BaselineState(), []
    for i, (s, p) in enumerate([*trace, *[(0.41, -0.9)] * 8]):
        d = decide(state, float(i), _ev(s, p), RULE)
        state = state.observe(float(i), _ev(s, p), d.verdict, RULE)
        out.append(d)
    answers = [d.matched for d in out]
    assert answers[4:29] == [True] * 25 and not any(answers[29:59])
    assert answers[59:] == [True] * 8  # the second visit is reported at once
    assert "confirmed present" in out[59].why
    # a first sighting at that score and support is still not enough
    first = _feed([-0.56] * 4)
    assert not decide(first, 10.0, _ev(0.41, -0.9), RULE).matched
    # nor is a look-alike well below the confirmed level (0.10 against 0.41)
    assert not decide(state.observe(67.5, _ev(-0.18, -1.7), ABSENT, RULE), 70.0,
                      _ev(0.10, -0.9), RULE).matched


def _verdicts(trace: Sequence[tuple[float, float]]) -> tuple[BaselineState, list[Decision]]:
    state, out = BaselineState(), []
    for i, (s, p) in enumerate(trace):
        d = decide(state, float(i), _ev(s, p), RULE)
        state = state.observe(float(i), _ev(s, p), d.verdict, RULE, d.relabel_below,
                              d.relabel_above)
        out.append(d)
    return state, out


def test_a_clear_drop_below_the_absent_level_shows_the_view_was_not_empty() -> None:
    # the asked thing in view from the first frame with a weak support (-0.9): taken for
    # absent at 0.30; it leaves (-0.10, the empty view) and comes back with support +0.5
    first = [(0.30, -0.9)] * 10
    state, out = _verdicts([*first, *[(-0.10, -2.0)] * 6, *[(0.30, 0.5)] * 6])
    assert not any(d.matched for d in out[:16])
    warm = max(RULE.warmup, 1)  # the drop has lasted as long as a level takes to learn
    assert [d.relabel_above is not None for d in out[10:16]] == [i == warm - 1 for i in range(6)]
    assert "not an empty view" in out[10 + warm - 1].why
    assert [d.matched for d in out[16:]] == [True] * 6  # seen when it comes back
    assert all(s[4] == BAND for s in state.samples[:10])  # no longer learned as absent
    # a moment of empty view shorter than a level takes to learn relabels nothing
    _, brief = _verdicts([*first, *[(-0.10, -2.0)] * 2, *[(0.30, 0.5)] * 6])
    assert all(d.relabel_above is None for d in brief) and not any(d.matched for d in brief)


def test_a_state_that_dims_slowly_stays_yes() -> None:
    # dusk: the present score falls by 0.4 over 200 windows, never a step
    scores = [-0.3] * 5 + [0.3 - 0.002 * i for i in range(200)]
    state, answers = BaselineState(), []
    for i, s in enumerate(scores):
        d = decide(state, float(i), _ev(s, 1.0), RULE)
        state = state.observe(float(i), _ev(s, 1.0), d.verdict, RULE)
        answers.append(d.matched)
    assert all(answers[5:])


def test_sensitivity_moves_the_levels() -> None:
    state = _feed([-0.30, -0.31, -0.29, -0.30, -0.32])
    ev = _ev(-0.26, 1.0)
    assert not decide(state, 9.0, ev, RULE).matched
    assert decide(state, 9.0, ev, Rule(sensitivity=1.0)).matched
    assert decide(state, 9.0, _ev(-0.24, 1.0), RULE).matched
    assert not decide(state, 9.0, _ev(-0.24, 1.0), Rule(sensitivity=-1.0)).matched


def test_an_object_sliding_in_does_not_lift_the_absent_level() -> None:
    state = _feed([-0.4] * 6 + [-0.33])  # a no inside the band: not learned
    assert state.samples[-1][4] != ABSENT
    assert decide(state, 9.0, _ev(-0.3, 1.0), RULE).level == pytest.approx(-0.4)


def test_floor_and_sure_are_the_users_absolute_levels() -> None:
    state = _feed([-0.5] * 6)
    assert not decide(state, 9.0, _ev(0.0, 1.0), Rule(floor=0.1)).matched
    assert decide(state, 9.0, _ev(0.25, -3.0), Rule(sure=0.2)).matched


def test_a_decision_ignores_windows_after_it_and_the_order_they_were_saved_in() -> None:
    rng = np.random.default_rng(3)
    evs = [_ev(float(s), float(p)) for s, p in zip(rng.normal(0, 0.05, 40),
                                                  rng.normal(0, 1, 40), strict=True)]
    forward = BaselineState()
    verdicts = {}
    for i, ev in enumerate(evs):
        d = decide(forward, float(i), ev, RULE)
        verdicts[i] = d.verdict
        forward = forward.observe(float(i), ev, d.verdict, RULE)
    shuffled = BaselineState()
    for i in rng.permutation(40):
        shuffled = shuffled.observe(float(i), evs[i], verdicts[int(i)], RULE)
    for key in range(40):
        assert decide(forward, float(key), evs[key], RULE) == decide(
            shuffled, float(key), evs[key], RULE)
    assert BaselineState.from_json(json.loads(json.dumps(forward.to_json()))) == forward


def test_a_state_saved_by_the_older_rule_starts_afresh_keeping_corrections() -> None:
    old = {"samples": [[1.0, 0.2], [2.0, 0.3]], "labels": [[2.0, 0.3, False]]}
    state = BaselineState.from_json(old)
    assert state.samples == () and state.labels == (Label(2.0, 0.3, False),)


def test_the_horizon_drops_old_windows() -> None:
    rule = Rule(horizon_s=10.0)
    state = _feed([-0.5] * 5 + [0.0] * 30, rule=rule)
    assert len(state.samples) == 10


def test_corrections_move_the_threshold_just_enough() -> None:
    assert corrected_threshold(0.1, []) == 0.1
    t = corrected_threshold(0.1, [Label(1.0, 0.15, False)])
    assert 0.15 < t < 0.1501
    assert corrected_threshold(0.1, [Label(1.0, 0.05, True)]) == 0.05
    assert corrected_threshold(0.1, [Label(1.0, 0.3, True), Label(2.0, -0.2, False)]) == 0.1


D = 3


class _Enc:
    """Text side only: the question along one axis, its alternatives along others."""

    model_id = "fake"
    grid = (1, 1)
    calibration: dict[str, float] = {}

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 1:
            return np.array([[1.0, 0.0, 0.0]], np.float32)
        rng = np.random.default_rng(len(texts))
        alts = np.abs(rng.normal(0, 1, (len(texts), D))).astype(np.float32)
        alts[:, 0] = 0.0
        return alts / np.linalg.norm(alts, axis=1, keepdims=True)


def _answer(answerer, t: float, score: float, camera: str = "cam"):  # type: ignore[no-untyped-def]
    emb = np.array([score, np.sqrt(max(0.0, 1 - score**2)) * 0.6,
                    np.sqrt(max(0.0, 1 - score**2)) * 0.8], np.float32)
    frame = EncodedFrame(camera, t, emb, np.zeros((1, 1, D), np.float32),
                         np.zeros((2, 2, 3), np.uint8), (2, 2))
    sel = Selection("q", (0,), (t,), (score,), np.array([score], np.float32),
                    (RoI.full(1, 1),))
    return answerer.answer(StandingQuery("q", "a red circle"), [frame], sel,
                           np.array([1.0, 0.0, 0.0]))


def test_adaptive_is_the_default_keeps_one_tracker_per_camera_and_explains_itself() -> None:
    states = MemoryStates()
    answerer = build_answerer("clip", {}, encoder=_Enc())
    answerer.use_states(states)  # type: ignore[attr-defined]
    first = [_answer(answerer, float(t), -0.3) for t in range(4)]
    assert [a.text for a in first[:3]] == ["no (calibrating)"] * 3
    for t in range(4, 10):
        _answer(answerer, float(t), 0.9, camera="bright")
    yes = _answer(answerer, 10.0, 0.9)
    assert yes.text == "yes" and "spreads from the absent level" in yes.why
    assert set(states.states) == {("q", "cam"), ("q", "bright")}


def test_feedback_flips_the_next_answer_in_the_threshold_mode() -> None:
    states = MemoryStates()
    answerer = build_answerer("clip", {"threshold": 0.1}, encoder=_Enc())
    answerer.use_states(states)  # type: ignore[attr-defined]
    assert _answer(answerer, 5.0, 0.15).matched is True
    states.add_label("q", "cam", Label(5.0, 0.15, False))
    assert _answer(answerer, 6.0, 0.15).matched is False
    assert _answer(answerer, 7.0, 0.4).matched is True


def test_bad_adaptive_settings_name_the_field() -> None:
    with pytest.raises(ConfigError, match="clip.sensitivity"):
        build_answerer("clip", {"sensitivity": 5}, encoder=_Enc())
    with pytest.raises(ConfigError, match="clip.mode"):
        build_answerer("clip", {"mode": "auto"}, encoder=_Enc())


class _CountingEnc(_Enc):
    def __init__(self) -> None:
        self.calls: list[int] = []

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return super().encode_text(texts)


def test_the_alternatives_are_encoded_when_the_question_is_subscribed() -> None:
    enc = _CountingEnc()
    answerer = build_answerer("clip", {}, encoder=enc)
    answerer.prepare(StandingQuery("q", "a red circle"))  # type: ignore[attr-defined]
    assert enc.calls and enc.calls[-1] > 50
    before = len(enc.calls)
    _answer(answerer, 0.0, 0.2)
    assert len(enc.calls) == before  # the first window waits for no text encoding


def _replay(scores: Sequence[float], supports: Sequence[float],
            labels: dict[int, bool]) -> list[bool | None]:
    """The tracker's answers, with the window at each key of ``labels`` corrected (marked
    right or wrong) as soon as it was answered."""
    state, out = BaselineState(), []
    for i, (s, p) in enumerate(zip(scores, supports, strict=True)):
        ev = Evidence(s, p, 0.02)
        d = decide(state, float(i), ev, RULE)
        state = state.observe(float(i), ev, d.verdict, RULE, d.relabel_below, d.relabel_above)
        out.append(d.matched)
        if i in labels:
            state = state.with_label(Label(float(i), s, labels[i]))
    return out


def test_one_correction_teaches_a_look_alike_in_view_from_the_first_frame() -> None:
    """A look-alike in view from the first frame passed the support and was taken for the
    asked thing: one ✗ makes its windows the absent level (no further false yes), and the
    asked thing, when it comes, is yes at once."""
    rng = np.random.default_rng(0)
    scores = [*(0.30 + rng.normal(0, 0.003, 12)), *(0.40 + rng.normal(0, 0.003, 8)),
              *(0.30 + rng.normal(0, 0.003, 8))]
    supports = [0.5] * len(scores)
    plain = _replay(scores, supports, {})
    corrected = _replay(scores, supports, {3: False})
    assert all(plain[4:12])  # uncorrected, the look-alike stays yes
    assert not any(corrected[4:12])
    assert all(corrected[12:20]) and not any(corrected[21:])


def test_one_correction_brings_back_a_state_taken_for_the_empty_view() -> None:
    """An asked thing in view from the first frame whose support was too weak was taken
    for the empty view: one ✓ on its first answer and it is yes from then on, its windows
    scoring a little lower than the marked one included."""
    rng = np.random.default_rng(1)
    scores = [*(0.30 + rng.normal(0, 0.004, 30))]
    supports = [-1.5] * len(scores)
    assert not any(_replay(scores, supports, {}))
    corrected = _replay(scores, supports, {0: True})
    assert corrected[0] is False and all(corrected[1:])


def test_corrections_relabel_the_judged_windows() -> None:
    """A ✗ makes the window and every window taken for present at no higher score absent
    (a window held or kept out of the absent level stays so);
    a ✓ makes the window present and keeps windows scoring as high out of the absent level."""
    history = [(0.0, 0.30, 0.0, 0.02, PRESENT), (1.0, 0.32, 0.0, 0.02, PRESENT),
               (2.0, 0.29, 0.0, 0.02, BAND), (3.0, 0.35, 0.0, 0.02, ABSENT)]
    wrong = as_labelled(history, [Label(0.0, 0.30, False)])
    assert [s[4] for s in wrong] == [ABSENT, PRESENT, BAND, ABSENT]
    right = as_labelled(history, [Label(2.0, 0.29, True)])
    assert [s[4] for s in right] == [PRESENT, PRESENT, PRESENT, BAND]
    assert as_labelled(history, []) == history


def test_the_explained_levels_are_the_corrected_ones() -> None:
    """What an operator reads after a ✗ is what the tracker now judges by: the windows
    taken for present at the marked score counted as absent."""
    from pipeline.answerers.explain import describe

    state = BaselineState()
    for i in range(6):
        ev = Evidence(0.30 + 0.001 * i, 0.5, 0.02)
        d = decide(state, float(i), ev, RULE)
        state = state.observe(float(i), ev, d.verdict, RULE, d.relabel_below, d.relabel_above)
    before = describe(state, RULE)
    assert (before.status, before.absent_windows, before.absent_level) == ("present", 0, None)
    after = describe(state.with_label(Label(5.0, 0.305, False)), RULE)
    assert (after.status, after.absent_windows, after.corrections) == ("absent", 6, 1)
    assert after.absent_level == pytest.approx(0.3025)
    assert after.why.startswith("no:")


def test_relabelling_is_each_label_in_turn() -> None:
    """The vectorised relabelling gives what applying the labels one by one, window by
    window, gives (newest label last)."""
    def one_by_one(history: list, labels: list) -> list:  # type: ignore[type-arg]
        out = list(history)
        for lb in sorted(labels, key=lambda lb: lb.key):
            for i, s in enumerate(out):
                if s[0] == lb.key:
                    out[i] = (*s[:4], PRESENT if lb.truth else ABSENT)
                elif not lb.truth and s[4] == PRESENT and s[1] <= lb.score:
                    out[i] = (*s[:4], ABSENT)
                elif lb.truth and s[4] == ABSENT and s[1] >= lb.score:
                    out[i] = (*s[:4], BAND)
        return out

    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(1, 60))
        history = [(float(i), round(float(rng.normal(0.3, 0.05)), 3), 0.0, 0.02,
                    int(rng.integers(0, 3))) for i in range(n)]
        labels = [Label(float(rng.integers(0, n + 5)), round(float(rng.normal(0.3, 0.05)), 3),
                        bool(rng.integers(0, 2))) for _ in range(int(rng.integers(1, 8)))]
        assert as_labelled(history, labels) == one_by_one(history, labels)


def test_sensitivity_lowers_the_levels_below_a_present_state_too() -> None:
    """A state present from the first frame dips by 1.1 units: at sensitivity 0 the dip
    ends it after three windows; at +1 (every level a spread lower) it is held, at −1 it
    ends no later. (Below a present level, the margins grew with −1 and shrank with +1.)"""
    def dip_answers(sensitivity: float) -> list[bool | None]:
        rule, state, out = Rule(sensitivity=sensitivity), BaselineState(), []
        for i, s in enumerate([0.40] * 10 + [0.378] * 6):
            ev = Evidence(s, 1.0, 0.02)
            d = decide(state, float(i), ev, rule)
            state = state.observe(float(i), ev, d.verdict, rule, d.relabel_below,
                                  d.relabel_above)
            out.append(d.matched)
        assert all(out[:10])
        return out[10:]

    assert dip_answers(1.0) == [True] * 6
    assert dip_answers(0.0) == [True, True, False, False, False, False]
    assert sum(bool(a) for a in dip_answers(-1.0)) <= 2


def test_a_confirmed_window_is_present_and_nothing_else_moves() -> None:
    state = BaselineState(((1.0, 0.1, 0.0, 0.05, ABSENT), (2.0, 0.2, 0.0, 0.05, BAND)))
    taught = state.confirmed(2.0)
    assert [s[4] for s in taught.samples] == [ABSENT, PRESENT]
    assert taught.confirmed(2.0) is taught and state.confirmed(3.0) is state
