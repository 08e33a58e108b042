"""Window truth and the event-level metrics of a standing yes/no answer.

A clip's truth is a list of events ``(on, off)``: seconds, half-open, in which the
asked object is on screen. Its answers are the windows ``[start, end)`` in time order,
each ``matched`` yes (True), no (False) or undecided (None, never a yes).

* window truth: a window overlapping some event by ≥ ``MIN_OVERLAP`` s should say yes,
  one overlapping no event no; an edge window in between is not scored (None);
* ``agreement``: the share of scored windows whose answer matches their truth, overall
  and per background (:class:`Tally`);
* ``event_recall``: the share of the events of ≥ ``MIN_EVENT_S`` s with at least one
  yes window overlapping them by ≥ 1 s;
* ``onset_delay_s``: per detected event, from the end of the first window overlapping it
  by ≥ 1 s to the end of the first yes window touching it (overlap > 0, so an edge
  window that already says yes makes it negative); undetected events count only in
  the recall;
* ``false_alerts_per_hour``: maximal runs of consecutive windows that say yes and
  overlap no event — a yes that starts before an event or lingers after it counts
  too — per hour of video in which the target is absent;
* ``persistence``: the share of the windows lying fully inside events of
  ≥ ``LONG_EVENT_S`` s that say yes (None when there are none);
* ``flips_per_event``: yes→not-yes changes among the windows overlapping an event by
  ≥ 1 s, averaged over the events that have such windows;
* ``hindsight``: what one threshold on the window score could have agreed on, chosen
  afterwards with the truth known — one per clip (``per_clip_threshold``) and one for the
  whole run (``one_threshold``). Not a rule anyone can run: it bounds what any level
  learned from the scores can reach, so a gap between it and ``agreement`` is the rule's
  (knowing which level is the asked thing at the moment of answering), the rest the
  model's (:class:`Hindsight`).

:class:`EventCounts` adds these up over clips, so a figure is pooled over every event
and window of a run, not averaged over clips.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Interval = tuple[float, float]
MIN_OVERLAP = 1.0
MIN_EVENT_S = 5.0
LONG_EVENT_S = 60.0
EPS = 1e-9


@dataclass(frozen=True)
class Answered:
    """One window's answer."""

    start: float
    end: float
    matched: bool | None


def overlap(start: float, end: float, event: Interval) -> float:
    """Seconds the window ``[start, end)`` shares with ``event`` (negative: apart)."""
    return min(end, event[1]) - max(start, event[0])


def window_truth(start: float, end: float, events: Sequence[Interval],
                 min_overlap: float = MIN_OVERLAP) -> bool | None:
    """True/False for a window that should say yes/no; None for an edge window."""
    best = max((overlap(start, end, e) for e in events), default=0.0)
    if best >= min_overlap - EPS:
        return True
    return False if best <= 0 else None


def _inside(a: Answered, event: Interval) -> bool:
    return overlap(a.start, a.end, event) >= MIN_OVERLAP - EPS


def onset_delay(answers: Sequence[Answered], event: Interval) -> float | None:
    """The event's onset delay in seconds; None when no yes window overlaps it by ≥ 1 s."""
    inside = [a for a in answers if _inside(a, event)]
    if not inside or not any(a.matched is True for a in inside):
        return None
    first_yes = next(a for a in answers
                     if a.matched is True and overlap(a.start, a.end, event) > 0)
    return first_yes.end - inside[0].end


def false_alerts(answers: Sequence[Answered], events: Sequence[Interval]) -> int:
    """Maximal runs of consecutive windows that say yes and overlap no event."""
    runs, before = 0, False
    for a in answers:
        now = a.matched is True and all(overlap(a.start, a.end, e) <= 0 for e in events)
        runs += now and not before
        before = now
    return runs


def absent_seconds(events: Sequence[Interval], duration: float) -> float:
    """Seconds of ``[0, duration)`` outside every event (events may overlap)."""
    covered, reach = 0.0, 0.0
    for on, off in sorted((max(on, 0.0), min(off, duration)) for on, off in events):
        if off <= reach:
            continue
        covered += off - max(on, reach)
        reach = off
    return max(duration - covered, 0.0)


def persistence_counts(answers: Sequence[Answered], events: Sequence[Interval]) -> tuple[int, int]:
    """(yes, all) among the windows lying fully inside an event of ≥ 60 s."""
    long = [e for e in events if e[1] - e[0] >= LONG_EVENT_S - EPS]
    within = [a for a in answers
              if any(e[0] - EPS <= a.start and a.end <= e[1] + EPS for e in long)]
    return sum(a.matched is True for a in within), len(within)


def flips(answers: Sequence[Answered], event: Interval) -> int | None:
    """yes→not-yes changes among the windows overlapping ``event`` by ≥ 1 s (None: none)."""
    said = [a.matched is True for a in answers if _inside(a, event)]
    if not said:
        return None
    return sum(1 for before, now in zip(said, said[1:], strict=False) if before and not now)


@dataclass
class EventCounts:
    """The event metrics' numerators and denominators, added up over clips."""

    events: int = 0
    """Events of ≥ 5 s (the recall's denominator)."""
    detected: int = 0
    delays: list[float] = field(default_factory=list)
    false_alerts: int = 0
    absent_s: float = 0.0
    persistent_yes: int = 0
    persistent_windows: int = 0
    flips: int = 0
    flip_events: int = 0

    def add(self, answers: Sequence[Answered], events: Sequence[Interval],
            duration: float) -> None:
        """One clip: its answers in time order, its events, its length in seconds."""
        clipped = [(max(on, 0.0), min(off, duration)) for on, off in events]
        clipped = [e for e in clipped if e[1] > e[0]]
        for event in clipped:
            if event[1] - event[0] >= MIN_EVENT_S - EPS:
                self.events += 1
                delay = onset_delay(answers, event)
                if delay is not None:
                    self.detected += 1
                    self.delays.append(delay)
            changes = flips(answers, event)
            if changes is not None:
                self.flips += changes
                self.flip_events += 1
        self.false_alerts += false_alerts(answers, clipped)
        self.absent_s += absent_seconds(clipped, duration)
        yes, total = persistence_counts(answers, clipped)
        self.persistent_yes += yes
        self.persistent_windows += total

    def figures(self) -> dict[str, Any]:
        """The metrics (None where their denominator is empty) and what they count."""
        delays = np.asarray(self.delays, dtype=np.float64)
        return {
            "event_recall": _ratio(self.detected, self.events),
            "onset_delay_s": {
                "p50": round(float(np.percentile(delays, 50)), 3) if delays.size else None,
                "p95": round(float(np.percentile(delays, 95)), 3) if delays.size else None,
            },
            "false_alerts_per_hour": (round(self.false_alerts * 3600.0 / self.absent_s, 3)
                                      if self.absent_s > 0 else None),
            "persistence": _ratio(self.persistent_yes, self.persistent_windows),
            "flips_per_event": (round(self.flips / self.flip_events, 4)
                                if self.flip_events else None),
            "events": self.events, "events_detected": self.detected,
            "false_alerts": self.false_alerts, "absent_s": round(self.absent_s, 3),
            "persistence_windows": self.persistent_windows,
        }


def timeline(values: Sequence[bool | None]) -> str:
    """One character a window: ``#`` yes, ``.`` no, ``?`` not scored / no answer."""
    return "".join("?" if v is None else "#" if v else "." for v in values)


def clip_figures(answers: Sequence[Answered], truths: Sequence[bool | None],
                 events: Sequence[Interval], duration: float) -> dict[str, Any]:
    """One clip's own figures, and its windows as two :func:`timeline` strips (truth: an
    edge window is not scored, ``?``; answer: ``?`` undecided, which counts as wrong):
    where a clip from outside was lost, at a glance."""
    scored = [a.matched == t for a, t in zip(answers, truths, strict=True)
              if t is not None]
    counts = EventCounts()
    counts.add(answers, events, duration)
    return {
        "agreement": _ratio(sum(scored), len(scored)), "windows": len(scored),
        "events": counts.events, "events_detected": counts.detected,
        "false_alerts": counts.false_alerts, "flips": counts.flips,
        "truth": timeline(truths), "answers": timeline([a.matched for a in answers]),
    }


@dataclass
class Gate:
    """What a cascade in front of a mode would ask its VLM, over the scored windows: every
    yes or undecided window, and every no near yes (:attr:`AnswerResult.near`). ``bound``
    is the agreement the cascade would reach with a VLM right on every window it is
    asked about (a no it is not asked about stays no): the most the two stages together
    could give, as ``hindsight`` is for one score threshold — no VLM was run."""

    windows: int = 0
    asked: int = 0
    present: int = 0
    present_asked: int = 0
    right: int = 0

    def add(self, truth: bool, matched: bool | None, near: bool) -> None:
        asked = matched is not False or near
        self.windows += 1
        self.asked += asked
        self.present += truth
        self.present_asked += truth and asked
        self.right += asked or not truth

    def figures(self) -> dict[str, Any]:
        return {"asked": _ratio(self.asked, self.windows),
                "recall": _ratio(self.present_asked, self.present),
                "bound": _ratio(self.right, self.windows)}


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def best_threshold_right(scores: Sequence[float | None], truths: Sequence[bool]) -> int:
    """The most windows one threshold ``score ≥ t`` gets right (no score: never yes)."""
    both = list(zip(scores, truths, strict=True))
    unscored_no = sum(1 for sc, t in both if sc is None and not t)
    pairs = sorted((float(sc), bool(t)) for sc, t in both if sc is not None)
    best = right = sum(1 for _, t in pairs if t)  # t below every score: all say yes
    i = 0
    while i < len(pairs):  # raise t past each distinct score in turn
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            right += -1 if pairs[j][1] else 1
            j += 1
        best, i = max(best, right), j
    return best + unscored_no


@dataclass
class Hindsight:
    """Scored windows per clip, for the best agreement one threshold could have had."""

    clips: list[tuple[list[float | None], list[bool]]] = field(default_factory=list)

    def add(self, scores: Sequence[float | None], truths: Sequence[bool]) -> None:
        """One clip's scored windows (truth not None). Scores are kept to 6 decimals, as
        the window dump writes them: a cut between two scores that differ only in float
        noise is not one a level could make."""
        self.clips.append(([None if x is None else round(float(x), 6) for x in scores],
                           list(truths)))

    def figures(self) -> dict[str, Any]:
        total = sum(len(t) for _, t in self.clips)
        per_clip = sum(best_threshold_right(s, t) for s, t in self.clips)
        every = best_threshold_right([x for s, _ in self.clips for x in s],
                                     [x for _, t in self.clips for x in t])
        return {"per_clip_threshold": _ratio(per_clip, total),
                "one_threshold": _ratio(every, total)}


@dataclass
class Tally:
    """Right / scored windows, overall and per background."""

    right: int = 0
    total: int = 0
    per_bg: dict[str, list[int]] = field(default_factory=dict)
    calibrating: int = 0

    def add(self, background: str, ok: bool) -> None:
        self.right += ok
        self.total += 1
        cell = self.per_bg.setdefault(background, [0, 0])
        cell[0] += ok
        cell[1] += 1

    def figures(self) -> dict[str, Any]:
        return {
            "agreement": _ratio(self.right, self.total),
            "per_background": {bg: _ratio(r, n) for bg, (r, n) in self.per_bg.items()},
            "windows": self.total,
            "calibrating_windows": self.calibrating,
        }
