"""The running baseline of one question on one camera, and user corrections of it.

An absolute cosine does not transfer between scenes: the same question scores
higher on one camera's empty view than on another's view with the object. So the
adaptive ``clip`` answerer judges each window against the recent scores of the same
question on the same camera:

* ``level`` = the ``quantile`` of the window scores of the last ``horizon_s`` seconds
  (a low quantile: the camera's usual "nothing asked-for here" level even when the
  object is around a good part of the time);
* ``scale`` = 1.4826·MAD of those scores, at least ``min_scale``;
* yes when the score reaches ``level + k·scale`` and the absolute ``floor``, or when
  it reaches the absolute ``sure`` level whatever the baseline.

Until ``warmup`` earlier windows are known the baseline says nothing: the answer
falls back to the absolute ``floor`` and is marked calibrating (with no floor, a
calibrating answer is undecided: ``matched`` is None).

The state is a pure function of the SET of samples it holds (window key → score),
and a decision uses only samples older than its own window: a worker that reloads a
saved state and processes some windows again decides exactly as one that never
stopped, whatever order the samples were saved in.

Feedback: each correction is a labelled score on that (question, camera). The
threshold the rule gives is moved to the nearest value that classifies the most
labelled scores correctly (the rule's own threshold when it already does).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

MAD_TO_SIGMA = 1.4826
FEEDBACK_KEEP = 64  # newest corrections kept per (question, camera)


@dataclass(frozen=True)
class Rule:
    """How a window score is judged against the baseline (validated by the answerer)."""

    horizon_s: float = 900.0
    warmup: int = 2
    quantile: float = 0.25
    k: float = 1.0
    min_scale: float = 0.02
    floor: float | None = None
    sure: float = math.inf
    max_samples: int = 1024


@dataclass(frozen=True)
class Label:
    """A user's verdict turned into a labelled score: ``truth`` is what was right."""

    key: float
    score: float
    truth: bool


@dataclass(frozen=True)
class BaselineState:
    """Recent window scores (key = window time) and corrections of one (question, camera)."""

    samples: tuple[tuple[float, float], ...] = ()
    labels: tuple[Label, ...] = ()

    def observe(self, key: float, score: float, rule: Rule) -> BaselineState:
        """The state with this window's score (replacing an earlier one at the same key)."""
        kept = {k: s for k, s in self.samples if k > key - rule.horizon_s}
        kept[key] = score
        newest = sorted(kept.items())[-rule.max_samples :]
        return replace(self, samples=tuple(newest))

    def with_label(self, label: Label) -> BaselineState:
        others = [lb for lb in self.labels if lb.key != label.key]
        return replace(self, labels=tuple(sorted([*others, label], key=lambda lb: lb.key))[
            -FEEDBACK_KEEP:
        ])

    def before(self, key: float, rule: Rule) -> list[float]:
        """Scores of the windows in the horizon strictly before ``key``."""
        return [s for k, s in self.samples if key - rule.horizon_s <= k < key]

    def to_json(self) -> dict[str, object]:
        return {
            "samples": [list(p) for p in self.samples],
            "labels": [[lb.key, lb.score, lb.truth] for lb in self.labels],
        }

    @classmethod
    def from_json(cls, data: dict[str, object] | None) -> BaselineState:
        data = data or {}
        samples = tuple((float(k), float(s)) for k, s in data.get("samples", []))  # type: ignore[attr-defined]
        labels = tuple(
            Label(float(k), float(s), bool(t)) for k, s, t in data.get("labels", [])  # type: ignore[attr-defined]
        )
        return cls(tuple(sorted(samples)), labels)


@dataclass(frozen=True)
class Decision:
    """What the baseline says about one window score."""

    matched: bool | None
    threshold: float | None
    calibrating: bool
    level: float | None = None
    scale: float | None = None
    corrected: bool = field(default=False)


def rule_threshold(
    history: Sequence[float], rule: Rule
) -> tuple[float | None, float | None, float | None]:
    """(threshold, level, scale) from the earlier window scores; the floor while warming up."""
    if len(history) < max(rule.warmup, 1):
        return rule.floor, None, None
    arr = np.asarray(history, dtype=np.float64)
    level = float(np.quantile(arr, rule.quantile))
    scale = max(MAD_TO_SIGMA * float(np.median(np.abs(arr - np.median(arr)))), rule.min_scale)
    relative = level + rule.k * scale
    if rule.floor is not None:
        relative = max(relative, rule.floor)
    return min(relative, rule.sure), level, scale


def corrected_threshold(threshold: float, labels: Sequence[Label]) -> float:
    """The threshold nearest ``threshold`` that classifies the most labelled scores right."""
    if not labels:
        return threshold
    cuts = {threshold}
    for lb in labels:
        cuts.add(math.nextafter(lb.score, math.inf))  # just above: this score says no
        cuts.add(lb.score)  # at it: this score says yes
    def errors(t: float) -> int:
        return sum((lb.score >= t) != lb.truth for lb in labels)
    return min(cuts, key=lambda t: (errors(t), abs(t - threshold)))


def decide(state: BaselineState, key: float, score: float, rule: Rule) -> Decision:
    """Judge the score of the window at ``key`` against the windows before it."""
    history = state.before(key, rule)
    base, level, scale = rule_threshold(history, rule)
    if base is None:
        return Decision(matched=None, threshold=None, calibrating=True)
    threshold = corrected_threshold(base, state.labels)
    return Decision(
        matched=score >= threshold,
        threshold=threshold,
        calibrating=level is None,
        level=level,
        scale=scale,
        corrected=threshold != base,
    )


class StateProvider(Protocol):
    """Where baselines live between windows, restarts and worker takeovers.

    ``load`` returns the saved state (an empty one when there is none); ``save`` keeps
    the state after a window. The store-backed provider lives in ``connectors.store``;
    :class:`MemoryStates` is the in-process one.
    """

    def load(self, query_id: str, camera: str) -> BaselineState: ...

    def save(self, query_id: str, camera: str, state: BaselineState) -> None: ...


class MemoryStates:
    """States kept in a dict: the default, and the test double."""

    def __init__(self) -> None:
        self.states: dict[tuple[str, str], BaselineState] = {}

    def load(self, query_id: str, camera: str) -> BaselineState:
        return self.states.get((query_id, camera), BaselineState())

    def save(self, query_id: str, camera: str, state: BaselineState) -> None:
        self.states[(query_id, camera)] = state

    def add_label(self, query_id: str, camera: str, label: Label) -> None:
        self.save(query_id, camera, self.load(query_id, camera).with_label(label))
