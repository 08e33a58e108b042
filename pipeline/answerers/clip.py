"""The ``clip`` answerer: a cheap yes/no from CLIP scores, made for alerting.

Three modes, all scored on the frames selection picked (the best frame counts):

* ``adaptive`` (default): a two-state tracker per (question, camera)
  (:mod:`pipeline.answerers.baseline`): the window's best cosine is judged in spreads
  above the camera's absent level (learned only from windows judged absent), with the
  question's zero-shot support against its one-word alternatives
  (:mod:`pipeline.answerers.alternatives`) required to turn yes, and hysteresis so a
  persisting state stays yes. Until the camera's absent level is known the support
  alone decides ("yes (calibrating)"). No absolute cosine level is used, so it needs
  no calibration file; ``sensitivity`` is the operator's knob. The tracker lives in a
  :class:`StateProvider`: in memory by default, in the store when the worker wires one
  in, so it survives restarts and worker takeovers.
  With a **closer look** (``closer_look``: a span in patch cells, e.g. 3; default 0:
  off) a window that could turn yes asks its support of a crop of its best frame
  (:mod:`pipeline.answerers.closer`).
  With a second look (``second_look``: a span in patch cells; default 0: off), each
  selected frame's score is the mean of its global cosine and the cosine of a crop
  around the question's best patch, encoded again.
* ``threshold`` (also chosen by giving a ``threshold`` without a ``mode``): the same
  score against a fixed ``threshold`` (the model's calibrated ``clip_threshold`` when it
  ships one, else 0.2). Suits CLIPs trained with a per-caption sigmoid loss.
* ``margin``: score = softmax over [question, background prompts] of the frame's
  cosines times ``logit_scale``; matched when ≥ ``threshold``.

In every mode, user corrections of a (question, camera) (labelled scores, kept by
the state provider) move that pair's threshold to the nearest value that classifies
them right.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from pipeline.answerers.alternatives import Alternatives, best_frame
from pipeline.answerers.base import (
    Answerer,
    AnswererSettings,
    AnswerResult,
    QueryEmb,
    TextEncoder,
    Window,
    register,
)
from pipeline.answerers.baseline import (
    BaselineState,
    Decision,
    Evidence,
    Rule,
    decide,
    step,
)
from pipeline.answerers.clip_settings import (
    ClipSettings,
    clip_rule,
    rule_of,
)
from pipeline.answerers.closer import STAY_TOP, CloserLook, Supports, judged, wanted
from pipeline.answerers.corrections import corrected_threshold
from pipeline.answerers.second_look import SecondLook, second_look_for
from pipeline.answerers.states import MemoryStates, StateProvider
from pipeline.perception import Selection
from pipeline.types import EncodedFrame, FloatArray, StandingQuery


@register
class ClipAnswerer(Answerer):
    """Yes/no by CLIP score on the selected frames."""

    type: ClassVar[str] = "clip"
    config_cls: ClassVar[builtins.type[AnswererSettings]] = ClipSettings
    keeps_baselines: ClassVar[bool] = True

    def __init__(
        self, settings: ClipSettings, encoder: TextEncoder, states: StateProvider | None = None
    ) -> None:
        self.settings = settings
        self._encoder = encoder
        self._backgrounds: FloatArray | None = None
        self.states: StateProvider = states or MemoryStates()
        self.second_look: SecondLook | None = None
        self.closer: CloserLook | None = None
        self.alternatives = Alternatives(encoder)
        self.near_spreads = 0.0
        """With this > 0 (a cascade's band), each adaptive answer also says whether it is
        yes or a no within this many spreads of it (:func:`near_yes`,
        :attr:`AnswerResult.near`)."""
        if settings.mode == "adaptive":
            self.second_look = second_look_for(encoder, settings.second_look)
            look = (self.second_look if settings.closer_look == settings.second_look
                    else second_look_for(encoder, settings.closer_look))
            self.closer = None if look is None else CloserLook(look, self.alternatives)

    @classmethod
    def build(cls, config: Any, *, encoder: TextEncoder, vlm_spec: str = "") -> ClipAnswerer:
        return cls(config, encoder)

    def prepare(self, query: StandingQuery) -> None:
        """Encode the question's alternatives when it is subscribed (the adaptive mode
        asks them on every window; with a large CLIP on a CPU they take seconds)."""
        if self.settings.mode == "adaptive":
            self.alternatives.prepare(query.question)

    def use_states(self, states: StateProvider) -> None:
        """Keep baselines and corrections in ``states`` (the store, in a worker)."""
        self.states = states

    def answer(self, query: StandingQuery, window: Window, selection: Selection,
               query_emb: QueryEmb) -> AnswerResult:
        emb = np.asarray(query_emb, dtype=np.float32)
        score = self._score(query, window, selection, emb)
        model_ids = {"clip": self._encoder.model_id}
        if score is None:
            return AnswerResult("unknown", None, None, selection.visual_tokens, model_ids)
        decision, near = self._decide(query, window, selection, score, emb)
        text = {True: "yes", False: "no", None: "calibrating"}[decision.matched]
        if decision.calibrating and decision.matched is not None:
            text = f"{text} (calibrating)"
        return AnswerResult(
            text=text,
            matched=decision.matched,
            score=score,
            visual_tokens=selection.visual_tokens,
            model_ids=model_ids,
            threshold=decision.threshold,
            why=decision.why,
            near=near,
        )

    def _decide(self, query: StandingQuery, window: Sequence[EncodedFrame],
                selection: Selection, score: float, query_emb: FloatArray
                ) -> tuple[Decision, bool | None]:
        """The decision for this (question, camera) window (the adaptive mode learns from
        it) and, where :attr:`near_spreads` asks, whether a no is near yes."""
        camera, key = window[-1].camera, float(window[-1].t)
        state = self.states.load(query.id, camera)
        if self.settings.mode != "adaptive":
            threshold = corrected_threshold(self.threshold, state.labels)
            return Decision(score >= threshold, threshold, calibrating=False), None
        rule, closer = self.rule, self.closer
        stay = self.evidence(query.question, window, selection, score, query_emb, STAY_TOP)
        ev = stay if closer is None else judged(
            state, key, rule, stay, self.evidence(query.question, window, selection, score,
                                                  query_emb),
            lambda: closer.support(query.question, _best(window, selection), query_emb))
        decision, learned = step(state, key, ev, rule)
        self.states.save(query.id, camera, learned)
        return decision, near_yes(state, key, ev, rule, decision, self.near_spreads)

    def confirm(self, query: StandingQuery, window: Sequence[EncodedFrame]) -> bool:
        """A VLM behind this stage said yes to the window: the tracker takes it as
        present (not learned as the camera's absent level, and a state it holds). Only a
        yes teaches: a VLM's no never silences the stage, so what it passes on can only
        grow. Whether the tracker changed."""
        if self.settings.mode != "adaptive" or not window:
            return False
        camera, key = window[-1].camera, float(window[-1].t)
        state = self.states.load(query.id, camera)
        taught = state.confirmed(key)
        if taught is state:
            return False
        self.states.save(query.id, camera, taught)
        return True

    def evidence(self, question: str, window: Sequence[EncodedFrame], selection: Selection,
                 score: float, query_emb: FloatArray | None = None, top: int = 1) -> Evidence:
        """The window's score with the question's zero-shot support on its whole best
        frame against the mean of its ``top`` strongest alternatives (the unit, the
        model's scale of cosine differences, is always that frame's)."""
        best = best_frame(selection.frame_scores)
        frame = window[selection.indices[best]]
        support, unit = self.alternatives.support(question, frame.global_emb,
                                                  float(selection.frame_scores[best]), top)
        return Evidence(score, support, unit)

    def supports(self, query: StandingQuery, window: Sequence[EncodedFrame],
                 selection: Selection, query_emb: FloatArray) -> Supports | None:
        """All three supports the closer look may judge a window on (the crop encoded even
        where the tracker did not ask it); None with the closer look off."""
        if self.closer is None or not selection.indices:
            return None
        stay = self.evidence(query.question, window, selection, 0.0, query_emb, STAY_TOP)
        turn = self.evidence(query.question, window, selection, 0.0, query_emb)
        look = self.closer.support(query.question, _best(window, selection), query_emb)
        return Supports(stay.support, turn.support, look)

    @property
    def looks_ahead(self) -> bool:
        return self.closer is not None

    def look_ahead(self, items: Sequence[tuple[StandingQuery, Window, Selection, QueryEmb]]
                   ) -> None:
        """The closer looks the windows of one step will ask for, encoded in one call.
        Only the first window of each (question, camera) is looked ahead at: a later one
        is judged after it, against a state this one changes."""
        if self.closer is None:
            return
        rule, asked, seen = self.rule, [], set()
        for query, window, selection, query_emb in items:
            if (query.id, window[-1].camera) in seen:
                continue
            seen.add((query.id, window[-1].camera))
            emb = np.asarray(query_emb, dtype=np.float32)
            score = self._score(query, window, selection, emb)
            if score is None:
                continue
            ev = self.evidence(query.question, window, selection, score, emb)
            camera, key = window[-1].camera, float(window[-1].t)
            if wanted(self.states.load(query.id, camera), key, ev, rule):
                asked.append((_best(window, selection), query.question, emb))
        if asked:
            self.closer.look.looks(asked)

    @property
    def rule(self) -> Rule:
        """The adaptive rule (absolute levels only where the user set them)."""
        return rule_of(self.settings)

    @property
    def threshold(self) -> float:
        """The fixed modes' threshold (adaptive: its floor, -1 without one)."""
        if self.settings.mode == "adaptive":
            floor = self.rule.floor
            return -1.0 if floor is None else floor
        if self.settings.threshold is not None:
            return self.settings.threshold
        key = "margin_threshold" if self.settings.mode == "margin" else "clip_threshold"
        calibrated = self._calibrated(key)
        return calibrated if calibrated is not None else self.settings.effective_threshold

    def _calibrated(self, key: str) -> float | None:
        calibration = getattr(self._encoder, "calibration", None) or {}
        value = calibration.get(key)
        return float(value) if value is not None else None

    def _score(
        self, query: StandingQuery, window: Sequence[EncodedFrame], selection: Selection,
        query_emb: FloatArray,
    ) -> float | None:
        if not selection.indices:
            return None
        if self.second_look is not None:
            looked = [window[i] for i in selection.indices]
            closer = self.second_look.scores(looked, query.question, query_emb)
            return float(max((a + b) / 2 for a, b in zip(selection.frame_scores, closer,
                                                         strict=True)))
        if self.settings.mode != "margin":
            return float(max(selection.frame_scores))
        frames = np.stack([window[i].global_emb for i in selection.indices])
        return float(self.margin_probabilities(frames, query_emb).max())

    def margin_probabilities(self, frames: FloatArray, query_emb: FloatArray) -> FloatArray:
        """Per frame, softmax probability of the question against the background prompts."""
        prompts = np.vstack([query_emb[None, :], self._background_embs()])
        logits = self.settings.logit_scale * (frames @ prompts.T)
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        return np.asarray(probs[:, 0] / probs.sum(axis=1), dtype=np.float32)

    def _background_embs(self) -> FloatArray:
        if self._backgrounds is None:
            self._backgrounds = self._encoder.encode_text(list(self.settings.background_prompts))
        return self._backgrounds


def near_yes(state: BaselineState, key: float, ev: Evidence, rule: Rule, decision: Decision,
             spreads: float) -> bool | None:
    """Whether the window at ``key`` (decided ``decision``) is yes or near it, in the
    tracker's own spreads (a cascade's band: no absolute cosine). A no decided by a
    score level is near when the score is within ``spreads`` spreads below that level,
    whatever the support said (what the support cannot tell, the VLM judges); a no
    decided by the support alone, when it would be yes at ``spreads`` more sensitivity.
    None when not asked."""
    if spreads <= 0:
        return None
    if decision.matched:
        return True
    if decision.threshold is not None and decision.scale is not None:
        return ev.score >= decision.threshold - spreads * decision.scale
    wider = replace(rule, sensitivity=rule.sensitivity + spreads)
    return bool(decide(state, key, ev, wider).matched)


def _best(window: Sequence[EncodedFrame], selection: Selection) -> EncodedFrame:
    """The selected frame the question scores best on."""
    return window[selection.indices[best_frame(selection.frame_scores)]]


__all__ = ["BaselineState", "ClipAnswerer", "ClipSettings", "clip_rule", "rule_of"]
