"""What the adaptive ``clip`` answerer keeps per (question, camera), and how it judges.

The tracker's rule lives in :mod:`pipeline.answerers.baseline`; this module holds its
settings (:class:`Rule`), a window's evidence (:class:`Evidence`) and the saved state
(:class:`BaselineState`: judged windows and corrections), so that stores can read and
write the state without the rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from pipeline.answerers.corrections import Label

FEEDBACK_KEEP = 64  # newest corrections kept per (question, camera)
STATE_VERSION = 2
ABSENT, PRESENT, BAND = 0, 1, 2
"""Verdicts kept with each sample: judged absent (learned), present, or no-but-in-band."""


@dataclass(frozen=True)
class Rule:
    """How a window is judged against the tracker (validated by the answerer)."""

    horizon_s: float = 900.0
    warmup: int = 3
    k: float = 2.0
    k_off: float = 1.0
    unit_share: float = 0.25
    gate: float = -0.75
    gate_off: float = -1.0
    prior_on: float = -0.75  # = gate: a first sighting needs the support any turn to yes needs
    prior_off: float = -1.0
    sensitivity: float = 0.0
    floor: float | None = None
    sure: float = math.inf
    max_samples: int = 1024
    drop_share: float = 0.5
    recent: int = 8


@dataclass(frozen=True)
class Evidence:
    """What one window shows: the question's cosine on its best frame (``score``), how
    many spreads it stands above the question's alternatives there (``support``), and
    that spread (``unit``: the model's own scale of cosine differences)."""

    score: float
    support: float = 0.0
    unit: float = 0.0
    looked: bool = False  # the support was asked of a closer look (a crop)

    @property
    def seen(self) -> str:
        return " on a closer look" if self.looked else ""


Sample = tuple[float, float, float, float, int]  # (window key, score, support, unit, verdict)


@dataclass(frozen=True)
class BaselineState:
    """Judged windows (key = window time) and corrections of one (question, camera)."""

    samples: tuple[Sample, ...] = ()
    labels: tuple[Label, ...] = ()

    def observe(self, key: float, ev: Evidence, verdict: int, rule: Rule,
                relabel_below: float | None = None,
                relabel_above: float | None = None) -> BaselineState:
        """The state with this window's evidence and verdict (replacing one at the same key);
        ``relabel_below``: earlier present windows scoring below it were absent after all;
        ``relabel_above``: earlier absent windows scoring above it were not an empty view
        (kept, no longer learned: ``BAND``)."""
        kept = {s[0]: s for s in self.samples if s[0] > key - rule.horizon_s}
        if relabel_below is not None:
            kept = {k: (*s[:4], ABSENT) if s[4] == PRESENT and s[1] < relabel_below else s
                    for k, s in kept.items()}
        if relabel_above is not None:
            kept = {k: (*s[:4], BAND) if s[4] == ABSENT and s[1] > relabel_above else s
                    for k, s in kept.items()}
        kept[key] = (key, ev.score, ev.support, ev.unit, verdict)
        newest = [kept[k] for k in sorted(kept)][-rule.max_samples :]
        return replace(self, samples=tuple(newest))

    def confirmed(self, key: float) -> BaselineState:
        """The state with the window at ``key`` judged present (a VLM behind the tracker
        said yes to it); itself when there is no such window or it was present already."""
        i = next((i for i, s in enumerate(self.samples) if s[0] == key), None)
        if i is None or self.samples[i][4] == PRESENT:
            return self
        samples = list(self.samples)
        samples[i] = (*samples[i][:4], PRESENT)
        return replace(self, samples=tuple(samples))

    def with_label(self, label: Label) -> BaselineState:
        others = [lb for lb in self.labels if lb.key != label.key]
        return replace(self, labels=tuple(sorted([*others, label], key=lambda lb: lb.key))[
            -FEEDBACK_KEEP:
        ])

    def before(self, key: float, rule: Rule) -> list[Sample]:
        """Samples of the windows in the horizon strictly before ``key``."""
        return [s for s in self.samples if key - rule.horizon_s <= s[0] < key]

    def to_json(self) -> dict[str, object]:
        return {
            "v": STATE_VERSION,
            "samples": [list(s) for s in self.samples],
            "labels": [[lb.key, lb.score, lb.truth] for lb in self.labels],
        }

    @classmethod
    def from_json(cls, data: dict[str, object] | None) -> BaselineState:
        """The saved state; one saved by an older rule (another version) starts afresh,
        keeping its corrections."""
        data = data or {}
        labels = tuple(
            Label(float(k), float(s), bool(t)) for k, s, t in data.get("labels", [])  # type: ignore[attr-defined]
        )
        if data.get("v") != STATE_VERSION:
            return cls((), labels)
        samples = tuple(
            (float(k), float(s), float(p), float(u), int(v))
            for k, s, p, u, v in data.get("samples", [])  # type: ignore[attr-defined]
        )
        return cls(tuple(sorted(samples)), labels)


def as_labelled(history: Sequence[Sample], labels: Sequence[Label]) -> list[Sample]:
    """The judged windows as the corrections say they were (each label in turn, newest
    last): a window marked absent is learned absent, and so is every window taken for
    present at a score no higher (what was taken for the asked thing was not; windows
    held or kept out of the absent level stay so);
    a window marked present is present, and no window at a score as high or higher is
    learned absent (kept, not learned: ``BAND``)."""
    if not labels or not history:
        return list(history)
    keys = np.array([s[0] for s in history])
    scores = np.array([s[1] for s in history])
    verdicts = np.array([s[4] for s in history])
    for lb in sorted(labels, key=lambda lb: lb.key):  # vectorised: one pass per label
        if lb.truth:
            verdicts[(verdicts == ABSENT) & (scores >= lb.score)] = BAND
        else:
            verdicts[(verdicts == PRESENT) & (scores <= lb.score)] = ABSENT
        verdicts[keys == lb.key] = PRESENT if lb.truth else ABSENT
    return [s if s[4] == v else (*s[:4], int(v)) for s, v in zip(history, verdicts, strict=True)]
