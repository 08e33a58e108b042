"""A user's corrections of one (question, camera): labelled scores, and the threshold
they move (every ``clip`` mode, the adaptive tracker's levels included)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Label:
    """A user's verdict turned into a labelled score: ``truth`` is what was right."""

    key: float
    score: float
    truth: bool


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


__all__ = ["Label", "corrected_threshold"]
