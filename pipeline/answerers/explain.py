"""What a (question, camera) tracker has learned, and why its last answer is what it is.

Read by the API (``GET /api/queries/{id}/state``) and the dashboard, so an operator can
trust a level or correct it (✓/✗ on answers, ``sensitivity``, or a reset after the
camera was moved).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.answerers.baseline import (
    ABSENT,
    PRESENT,
    BaselineState,
    Evidence,
    Rule,
    as_labelled,
    decide,
    levels,
    recent_present,
)


class TrackerView(BaseModel):
    """One tracker, as an operator reads it (levels None until they are known); the
    API's and the CLI's schema."""

    model_config = ConfigDict(frozen=True)

    status: str = Field(description="new, present or absent (the newest verdict)")
    windows: int
    absent_windows: int
    absent_level: float | None
    spread: float | None
    turns_yes_at: float | None
    stays_yes_at: float | None
    last_window_end: float | None
    last_score: float | None
    last_support: float | None = Field(
        description="Spreads by which the question beat its closest alternatives")
    why: str = Field(examples=["yes: 0.312 is +4.2 spreads from the absent level 0.120 "
                               "(turns yes at 0.210); the question beats its alternatives "
                               "by +0.4 (needs -0.75)"])
    corrections: int

    def to_json(self) -> dict[str, Any]:
        return self.model_dump()


def describe(state: BaselineState, rule: Rule) -> TrackerView:
    """The tracker's levels now and the reason for its newest verdict."""
    if not state.samples:
        return TrackerView(status="new", windows=0, absent_windows=0, absent_level=None,
                           spread=None, turns_yes_at=None, stays_yes_at=None,
                           last_window_end=None, last_score=None, last_support=None,
                           why="nothing judged yet: the first answers follow the zero-shot "
                               "support until absent windows are seen",
                           corrections=len(state.labels))
    samples = as_labelled(state.samples, state.labels)  # as the corrections say
    key, score, support, unit, verdict = samples[-1]
    absent = [s[1] for s in samples if s[4] == ABSENT]
    level = scale = on = off = None
    if len(absent) >= max(rule.warmup, 1):
        units = [s[3] for s in samples]
        lv = levels(absent, recent_present(samples, rule), float(np.median(units)), rule)
        level, scale, on, off = lv.level, lv.scale, lv.on, lv.off
    why = decide(state, key, Evidence(score, support, unit), rule).why
    status = "present" if verdict == PRESENT else "absent"
    return TrackerView(status=status, windows=len(samples), absent_windows=len(absent),
                       absent_level=level, spread=scale, turns_yes_at=on, stays_yes_at=off,
                       last_window_end=key, last_score=score, last_support=support, why=why,
                       corrections=len(state.labels))
