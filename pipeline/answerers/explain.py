"""What a (question, camera) tracker has learned, and why its last answer is what it is.

Read by the API (``GET /api/queries/{id}/state``) and the dashboard, so an operator can
trust a level or correct it (✓/✗ on answers, ``sensitivity``, or a reset after the
camera was moved).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from pipeline.answerers.baseline import (
    ABSENT,
    PRESENT,
    BaselineState,
    Evidence,
    Rule,
    decide,
    spread,
)


@dataclass(frozen=True)
class TrackerView:
    """One tracker, as an operator reads it (levels None until they are known)."""

    status: str
    """``new`` (nothing judged yet), ``present`` or ``absent`` (the last verdict)."""
    windows: int
    absent_windows: int
    absent_level: float | None
    spread: float | None
    turns_yes_at: float | None
    stays_yes_at: float | None
    last_window_end: float | None
    last_score: float | None
    last_support: float | None
    why: str
    corrections: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def describe(state: BaselineState, rule: Rule) -> TrackerView:
    """The tracker's levels now and the reason for its newest verdict."""
    if not state.samples:
        return TrackerView("new", 0, 0, None, None, None, None, None, None, None,
                           "nothing judged yet: the first answers follow the zero-shot "
                           "support until absent windows are seen", len(state.labels))
    key, score, support, unit, verdict = state.samples[-1]
    absent = [s[1] for s in state.samples if s[4] == ABSENT]
    level = scale = on = off = None
    if len(absent) >= max(rule.warmup, 1):
        units = [s[3] for s in state.samples]
        level = float(np.median(absent))
        scale = max(spread(absent), rule.unit_share * float(np.median(units)), 1e-6)
        on = level + (rule.k - rule.sensitivity) * scale
        off = level + (rule.k_off - rule.sensitivity) * scale
    why = decide(state, key, Evidence(score, support, unit), rule).why
    status = "present" if verdict == PRESENT else "absent"
    return TrackerView(status, len(state.samples), len(absent), level, scale, on, off, key,
                       score, support, why, len(state.labels))
