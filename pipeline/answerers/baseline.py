"""The running state of one question on one camera: a two-state tracker with hysteresis.

A standing question is a running estimate of a state, so the adaptive ``clip`` answerer
keeps, per (question, camera), the recent windows it judged and what it judged them:

* the **absent level** is learned only from windows judged absent (a persisting state
  never becomes its own baseline): ``level`` = their median, ``scale`` = 1.4826·MAD,
  at least ``unit_share`` of the model's own unit (:class:`Evidence.unit`);
* a window turns yes when its score stands ``k`` spreads above the absent level AND the
  question beats its one-word alternatives on the frame by ``gate`` spreads (zero-shot
  support: a rise caused by some other object entering the view is not the asked
  thing); it stays yes while the score stays ``k_off`` spreads above the level and the
  support above ``gate_off``. A no window inside that band is not learned
  (an object sliding in must not lift the absent level). A score back at the level of
  the camera's earlier present windows turns yes on ``gate_off`` too: the asked thing
  returning is judged as it was while it stayed. A clear drop below the absent level
  (``k`` spreads and at least ``k`` units, as for a present state) shows the view was
  not empty before: the absent windows above half way down to it are no longer learned
  and the level is learned again (the asked thing in view from the first frame, taken
  for absent while the support alone decided, no longer hides it when it comes back);
* while a state lasts (and just after it ended) the recent **present level** counts
  too: the state ends below ``drop_share`` (a half) of the way from the absent to the
  present level, and turns yes again only above three quarters of it — when the asked
  thing leaves, a look-alike left in view sits nearer the absent level (see
  :func:`levels`);
* before ``warmup`` absent windows are known (a new camera, or a state present from the
  first frame) the support decides (``prior_on`` / ``prior_off``, by default the same as
  ``gate`` / ``gate_off``: a first sighting needs what any turn to yes needs), and a state with a
  present level is held by its score (it ends on a clear drop, or when it stays a unit
  below the recent present level for ``warmup`` windows in a row; a shorter dip is held
  and not learned); such answers are marked calibrating. Once a
  present level is known, the absent windows count from the first one on: the gap
  between the two levels says where a state ends (what a look-alike left in view after
  the asked thing went scores is nearer the absent window than the present level).

No absolute cosine level is involved: every level is in spreads of the camera's own
absent scores or of the model's cosines with the alternatives. ``sensitivity`` (the
operator's knob, in spreads) lowers every level by that much; a user may still set
absolute ``floor`` (required for yes) and ``sure`` (always yes) levels.

The state is a pure function of the SET of samples it holds (window key → evidence and
verdict), and a decision uses only samples older than its own window: a worker that
reloads a saved state and processes some windows again decides exactly as one that
never stopped. Corrections (labelled scores) relabel the judged windows (a window
marked wrong, and every window taken for present at no higher score, is learned absent:
see :func:`as_labelled`), overrule the support where no level is known yet, and move the
score threshold to the nearest value that classifies them right.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from pipeline.answerers.corrections import Label, corrected_threshold
from pipeline.answerers.tracker_state import (
    ABSENT,
    BAND,
    FEEDBACK_KEEP,
    PRESENT,
    STATE_VERSION,
    BaselineState,
    Evidence,
    Rule,
    Sample,
    as_labelled,
)

__all__ = [
    "ABSENT", "BAND", "FEEDBACK_KEEP", "PRESENT", "STATE_VERSION", "BaselineState", "Decision",
    "Evidence", "Levels", "Rule", "Sample", "as_labelled", "decide", "levels", "recent_present",
    "spread", "step",
]


MAD_TO_SIGMA = 1.4826

@dataclass(frozen=True)
class Decision:
    """What the tracker says about one window, and why."""

    matched: bool | None
    threshold: float | None
    calibrating: bool
    level: float | None = None
    scale: float | None = None
    corrected: bool = field(default=False)
    verdict: int = ABSENT
    why: str = ""
    relabel_below: float | None = None
    relabel_above: float | None = None


def spread(values: Sequence[float]) -> float:
    """1.4826·MAD: a robust standard deviation."""
    arr = np.asarray(values, dtype=np.float64)
    return MAD_TO_SIGMA * float(np.median(np.abs(arr - np.median(arr))))


def step(state: BaselineState, key: float, ev: Evidence, rule: Rule
         ) -> tuple[Decision, BaselineState]:
    """Decide the window at ``key`` and learn from it: the decision and the new state
    (what the adaptive answerer does per window, and what a replay of recorded evidence
    does)."""
    decision = decide(state, key, ev, rule)
    return decision, state.observe(key, ev, decision.verdict, rule, decision.relabel_below,
                                   decision.relabel_above)


def decide(state: BaselineState, key: float, ev: Evidence, rule: Rule) -> Decision:
    """Judge the window at ``key`` against the windows before it."""
    history = as_labelled(state.before(key, rule), state.labels)
    was_yes = bool(history) and history[-1][4] == PRESENT
    if ev.score >= rule.sure:
        return Decision(True, rule.sure, False, verdict=PRESENT,
                        why=f"yes: {ev.score:.3f} reaches the sure level {rule.sure:.3f}")
    absent = [s[1] for s in history if s[4] == ABSENT]
    unit = float(np.median([s[3] for s in history] + [ev.unit]))
    present = [s[1] for s in history if s[4] == PRESENT]
    known = len(present) >= max(rule.warmup, 1)
    if len(absent) >= max(rule.warmup, 1) or (absent and known):
        return _by_level(state, ev, absent, recent_present(history, rule), unit, was_yes, rule,
                         present)
    if known:
        held = bool(history) and history[-1][4] in (PRESENT, BAND)
        return _against_present(ev, history, present, unit, held, rule, state.labels)
    return _by_support(ev, was_yes, rule, state.labels)


def _against_present(ev: Evidence, history: Sequence[Sample], present: list[float],
                     unit: float, was_yes: bool, rule: Rule,
                     labels: Sequence[Label] = ()) -> Decision:
    """No absent level yet, but a present one: a clear drop below it ends the state
    (learned as absent); a clear rise above it, with support, shows the earlier windows
    were not the asked thing (relabelled absent). "Clear" is a wide margin both ways (k
    spreads and at least k units): a present state moves. A state held more than
    ``k_off`` units below its recent present level for ``warmup`` windows in a row has
    ended too (a look-alike stayed when the asked thing left); the dips before that are
    held yes and not learned (``BAND``). In between, a state that was
    yes (or said no on a support dip) stays yes on the stay-yes support, else the
    support decides; such a no is not learned: the score has not left the present level."""
    level = float(np.median(present))
    scale = max(spread(present), rule.unit_share * unit, 1e-6)
    spreads = (ev.score - level) / scale
    k, shift = rule.k, rule.sensitivity * scale  # every level lower by `sensitivity` spreads
    if ev.score <= level - k * max(scale, unit) - shift:  # a present state moves: wide margin
        why = (f"no: {ev.score:.3f} is {spreads:+.1f} spreads below the present level "
               f"{level:.3f}")
        return Decision(False, level - k * max(scale, unit) - shift, False, None, scale,
                        verdict=ABSENT, why=why)
    if ev.score >= level + k * max(scale, unit) - shift and (
            ev.support >= rule.gate - rule.sensitivity):
        why = (f"yes: {ev.score:.3f} is {spreads:+.1f} spreads above what was taken for "
               f"present ({level:.3f}); that is the absent level now")
        return Decision(True, level + k * scale - shift, False, level, scale, verdict=PRESENT,
                        why=why, relabel_below=level + rule.k_off * scale - shift)
    recent = recent_present(history, rule)
    now = float(np.median(recent)) if len(recent) >= max(rule.warmup, 1) else level
    dip = now - rule.k_off * max(scale, unit) - shift
    if was_yes and ev.score <= dip:  # a unit below the recent present level: held
        dips = _held_dips(history, dip)
        if dips + 1 >= max(rule.warmup, 1):  # as long as a level takes to learn: it left
            why = (f"no: {ev.score:.3f} has stayed more than a unit below the recent present "
                   f"level {now:.3f} for {dips + 1} windows")
            return Decision(False, dip, False, None, scale, verdict=ABSENT, why=why)
        if ev.support >= rule.gate_off - rule.sensitivity:
            why = (f"yes: {ev.score:.3f} is more than a unit below the recent present level "
                   f"{now:.3f}, held ({dips + 1} of {max(rule.warmup, 1)} windows; no "
                   f"absent level yet)")
            return Decision(True, None, True, level, scale, verdict=BAND, why=why)
    elif was_yes and ev.support >= rule.gate_off - rule.sensitivity:
        why = (f"yes: {ev.score:.3f} stays at the present level {level:.3f} "
               f"({spreads:+.1f} spreads; no absent level yet)")
        return Decision(True, None, True, level, scale, verdict=PRESENT, why=why)
    decision = _by_support(ev, was_yes, rule, labels)
    return decision if decision.matched else replace(decision, verdict=BAND)


def _held_dips(history: Sequence[Sample], below: float) -> int:
    """How many of the newest windows were held yes below ``below`` (a dip, not learned)."""
    n = 0
    for s in reversed(history):
        if s[4] != BAND or s[1] > below:
            break
        n += 1
    return n


def recent_present(history: Sequence[Sample], rule: Rule) -> list[float]:
    """Scores of the newest ``recent`` present windows among the last ``2·recent``: the
    present level a state is judged against while it lasts and just after it ended."""
    tail = history[-2 * rule.recent :]
    return [s[1] for s in tail if s[4] == PRESENT][-rule.recent :]


@dataclass(frozen=True)
class Levels:
    """The absent level, its spread, and where a window turns and stays yes."""

    level: float
    scale: float
    on: float
    off: float
    present: float | None = None


def levels(absent: Sequence[float], present: Sequence[float], unit: float, rule: Rule) -> Levels:
    """Levels from the absent scores, the recent present ones and the model's unit.

    With a recent present level ``P`` above the absent level ``A``, a state also ends
    below ``A + drop_share·(P − A)`` and (just after one ended) turns yes again only
    above ``A + (1 + drop_share)/2·(P − A)``: what is left when the asked thing goes
    (a look-alike sharing its colour or shape) sits between the two levels, nearer
    ``A`` than ``P``, and must not hold the state. Both are shares of the camera's own
    gap, no absolute level."""
    level = float(np.median(absent))
    scale = max(spread(absent), rule.unit_share * unit, 1e-6)
    on = level + (rule.k - rule.sensitivity) * scale
    off = level + (rule.k_off - rule.sensitivity) * scale
    top = float(np.median(present)) if len(present) >= max(rule.warmup, 1) else None
    if top is not None and rule.drop_share > 0 and top > level:
        gap, shift = top - level, rule.sensitivity * scale
        off = max(off, level + rule.drop_share * gap - shift)
        on = max(on, level + (1 + rule.drop_share) / 2 * gap - shift)
    return Levels(level, scale, on, off, top)


def _by_level(state: BaselineState, ev: Evidence, absent: list[float], present: list[float],
              unit: float, was_yes: bool, rule: Rule, confirmed: Sequence[float] = ()) -> Decision:
    lv = levels(absent, present, unit, rule)
    level, scale, off = lv.level, lv.scale, lv.off
    shift = rule.sensitivity
    base = off if was_yes else lv.on
    threshold = corrected_threshold(base, state.labels)
    back = not was_yes and _back_at_present(ev.score, confirmed, unit, rule)
    gate = (rule.gate_off if was_yes or back else rule.gate) - shift
    floor_ok = rule.floor is None or ev.score >= rule.floor
    matched = ev.score >= threshold and ev.support >= gate and floor_ok
    verdict = PRESENT if matched else (ABSENT if ev.score < off else BAND)
    spreads = (ev.score - level) / scale
    above = _not_empty_above(ev.score, absent, level, max(scale, unit), matched, rule)
    word = "yes" if matched else "no"
    why = (f"{word}: {ev.score:.3f} is {spreads:+.1f} spreads from the absent level "
           f"{level:.3f} ({'stays' if was_yes else 'turns'} yes at {threshold:.3f}); "
           f"the question beats its alternatives{ev.seen} by {ev.support:+.1f} "
           f"(needs {gate:.2f})")
    if lv.present is not None:
        why += f"; recent present level {lv.present:.3f}"
    if back:
        why += "; back at the level this camera confirmed present"
    if above is not None:
        why += f"; a clear drop: the absent windows above {above:.3f} were not an empty view"
    if not floor_ok:
        why += f"; below the floor {rule.floor:.3f}"
    return Decision(matched, threshold, False, level, scale, threshold != base, verdict, why,
                    relabel_above=above)


def _not_empty_above(score: float, absent: Sequence[float], level: float, margin: float,
                     matched: bool, rule: Rule) -> float | None:
    """Where the absent windows stop being an empty view: half way from the absent level
    down to this window's score, when that score is a clear drop (``k`` spreads, at least
    ``k`` units) below the level and ``warmup`` absent windows, this one included, lie at
    or below that half-way mark (a level to learn again); else None."""
    if matched or score > level - rule.k * margin:
        return None
    cut = (score + level) / 2
    below = sum(1 for a in absent if a <= cut)
    return cut if below + 1 >= max(rule.warmup, 1) else None


def _back_at_present(score: float, confirmed: Sequence[float], unit: float, rule: Rule) -> bool:
    """Whether ``score`` is back at the level of this camera's present windows (their
    median less one spread). Such a window turns yes on the stay-yes support: the asked
    thing returning is judged as it was while it stayed, not as a first sighting."""
    if len(confirmed) < max(rule.warmup, 1):
        return False
    scale = max(spread(confirmed), rule.unit_share * unit, 1e-6)
    return score >= float(np.median(confirmed)) - scale


def _by_support(ev: Evidence, was_yes: bool, rule: Rule,
                labels: Sequence[Label] = ()) -> Decision:
    need = (rule.prior_off if was_yes else rule.prior_on) - rule.sensitivity
    floor_ok = rule.floor is None or ev.score >= rule.floor
    matched = ev.support >= need and floor_ok
    why = (f"{'yes' if matched else 'no'} (no absent level yet): the question beats its "
           f"alternatives{ev.seen} by {ev.support:+.1f} spreads (needs {need:.2f})")
    if labels:  # they overrule the support where they say something of this score
        said = corrected_threshold(-math.inf if matched else math.inf, labels)
        below = max(rule.k_off + rule.sensitivity * rule.unit_share, 0.0)  # in spreads
        slack = below * ev.unit if was_yes and not matched else 0.0  # hysteresis: stays yes
        if (ev.score >= said - slack) != matched:
            matched = not matched
            why = (f"{'yes' if matched else 'no'} (no absent level yet): corrected, "
                   f"{ev.score:.3f} is {'at or above' if matched else 'below'} {said:.3f}")
    return Decision(matched, None, True, verdict=PRESENT if matched else ABSENT, why=why)
