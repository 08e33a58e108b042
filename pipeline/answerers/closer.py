"""The adaptive ``clip`` tracker's closer look: which windows ask it, and what it says.

With ``closer_look`` on, a window that could *turn* yes asks its zero-shot support of a
crop of its best frame around the question's best patch
(:mod:`pipeline.answerers.second_look`), against the strongest one-word alternative; a
state already yes is held by the whole frame's support against its ten closest rivals,
as without it. The crop costs one more pass of the image encoder, so it is asked only
where it can decide (:func:`wanted`). Which support a window is judged on is
:func:`judged`, a pure function of the tracker state and the window's three supports
(``bench replay`` replays it from a dump that recorded all three).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from pipeline.answerers.alternatives import Alternatives
from pipeline.answerers.baseline import PRESENT, BaselineState, Evidence, Rule, decide
from pipeline.answerers.second_look import SecondLook
from pipeline.types import EncodedFrame, FloatArray

STAY_TOP = 10
"""A state already yes stays yes while the question is among the closest descriptions of
the whole frame: its support there is measured against the mean of this many strongest
alternatives (a turn, on a closer look, against the strongest one)."""
CLOSER_GATE = -1.0
"""With the closer look on, a turn to yes needs the crop's support against the strongest
alternative ≥ this (the whole frame's ten closest: the rule's ``gate``, −0.75)."""
LOOK_FROM = -2.0
"""A frame whose whole-frame support against the strongest alternative is below this is
not looked at closer (its best one-word alternative beats the question clearly). Chosen
on family a's tuning scenes: no answer changed there, and a model that knows nothing of
the question (random weights) is not asked a crop per window."""


def was_yes(state: BaselineState, key: float, rule: Rule) -> bool:
    """Whether the window before ``key`` said yes (this one can only stay yes or end)."""
    history = state.before(key, rule)
    return bool(history) and history[-1][4] == PRESENT


def wanted(state: BaselineState, key: float, ev: Evidence, rule: Rule) -> bool:
    """Whether a window asks its closer look: it could turn yes (the state is not yes
    already), the whole frame does not rule the question out (``ev``: its support
    against the strongest alternative) and the support can change the answer."""
    if ev.support < LOOK_FROM or was_yes(state, key, rule):
        return False
    return bool(decide(state, key, replace(ev, support=math.inf), rule).matched)


def judged(state: BaselineState, key: float, rule: Rule, stay: Evidence, turn: Evidence,
           look: Callable[[], float]) -> Evidence:
    """The evidence a window is judged on with the closer look on: ``stay`` (the whole
    frame against its ``STAY_TOP`` closest alternatives) where the state is yes already,
    else ``turn`` (against the strongest) with its support asked of the crop (``look``,
    called only here) where the crop can decide (:func:`wanted`)."""
    if was_yes(state, key, rule):
        return stay
    if not wanted(state, key, turn, rule):
        return turn
    return replace(turn, support=look(), looked=True)


@dataclass(frozen=True)
class Supports:
    """A window's three supports, as the closer look may ask them (``bench answers
    --dump-windows`` records all three, so a replay can judge any rule)."""

    stay: float  # the whole best frame against its STAY_TOP closest alternatives
    turn: float  # the same frame against the strongest
    look: float  # the crop of that frame against the strongest


@dataclass
class CloserLook:
    """The crops (cached per frame and question) and the alternatives they are asked."""

    look: SecondLook
    alternatives: Alternatives

    def support(self, question: str, frame: EncodedFrame, query_emb: FloatArray) -> float:
        """The question's support on the closer look at ``frame`` (strongest rival)."""
        q = np.asarray(query_emb, dtype=np.float32)
        crop = self.look.embeddings([frame], question, q)[0]
        return self.alternatives.support(question, crop, float(crop @ q))[0]
