"""Replay a ``bench answers --dump-windows`` file (:mod:`workers.bench.answers.dump`)
through the tracker with other rule settings (``feedwatch bench replay``).

The expensive part of ``bench answers`` is decoding and encoding frames; the tracker
itself is a pure function of each window's evidence (score, support, unit). The dump
keeps that evidence for every window of the default (adaptive) pass, with the clip's
truth and the rule it was answered with, so candidate rule settings can be measured side
by side in seconds, on exactly the same evidence. Before anything is reported, the
recorded rule is replayed and must give every recorded answer back: a dump written by
another version of the tracker is refused, not half-replayed.

A dump made with ``--closer-look`` carries all three supports a window may be judged on
(the crop encoded for every window), and the replay decides again which one each window
asks, as the answerer does (:func:`pipeline.answerers.closer.judged`).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from pipeline.answerers.baseline import BaselineState, Rule, step
from pipeline.answerers.closer import judged
from pipeline.errors import ConfigError
from workers.bench.answers.dump import RULE_FIELDS, Clip, DumpError, rule_json
from workers.bench.answers.metrics import Answered, EventCounts, Tally, timeline

__all__ = ["Clip", "DumpError", "decisions", "figures", "parse_sets", "parse_sweep", "replay",
           "sweep", "timeline"]


def parse_sets(pairs: Iterable[str]) -> dict[str, Any]:
    """``name=value`` pairs into rule overrides; each name must be a rule field."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in RULE_FIELDS:
            raise ConfigError("--set", pair, f"use NAME=VALUE, NAME one of "
                              f"{', '.join(RULE_FIELDS)}")
        out[name] = _value(name, raw.strip())
    return out


POSITIVE = ("horizon_s", "k", "unit_share")
AT_LEAST_ONE = ("warmup", "recent", "max_samples")


def _value(name: str, raw: str) -> Any:
    field = f"--set {name}"
    if name == "floor" and raw.lower() in ("none", "null", ""):
        return None
    if name == "sure" and raw.lower() in ("none", "null", ""):
        return math.inf  # no sure level: the rule's default, null in the dump
    integer = RULE_FIELDS[name].type == "int"
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ConfigError(field, raw, "an integer" if integer else "a number") from None
    if not integer and not math.isfinite(value):
        raise ConfigError(field, raw, "a number, finite (not nan or inf)"
                          + ("; none: no sure level" if name == "sure" else ""))
    if name in AT_LEAST_ONE and value < 1:
        raise ConfigError(field, raw, "an integer of at least 1")
    if name in POSITIVE and value <= 0:
        raise ConfigError(field, raw, "a number above 0")
    return value


def decisions(clip: Clip, rule: Rule) -> list[tuple[bool | None, bool]]:
    """(answer, calibrating) of every window of the clip under ``rule``, from a new camera."""
    state, out = BaselineState(), list[tuple[bool | None, bool]]()
    for w in clip.windows:
        if w.evidence is None or w.key is None:
            out.append((None, False))
            continue
        ev, s = w.evidence, w.supports
        if clip.closer and s is not None:
            ev = judged(state, w.key, rule, replace(ev, support=s.stay),
                        replace(ev, support=s.turn), functools.partial(float, s.look))
        decision, state = step(state, w.key, ev, rule)
        out.append((decision.matched, decision.calibrating))
    return out


def figures(clips: Sequence[Clip], answers: Sequence[Sequence[tuple[bool | None, bool]]]
            ) -> dict[str, Any]:
    """Window and event figures of one set of answers (as ``bench answers`` gives them)."""
    tally, events = Tally(), EventCounts()
    for clip, mine in zip(clips, answers, strict=True):
        for w, (matched, calibrating) in zip(clip.windows, mine, strict=True):
            if w.truth is not None:
                tally.add(clip.background, matched == w.truth)
            tally.calibrating += calibrating
        events.add([Answered(w.start, w.end, m) for w, (m, _) in zip(clip.windows, mine,
                                                                      strict=True)],
                   clip.events, clip.duration)
    return {**tally.figures(), **events.figures()}


MAX_SWEEP = 4096
"""Most rule settings one ``--sweep`` replays."""
SWEPT = ("agreement", "event_recall", "false_alerts_per_hour", "persistence",
         "flips_per_event")
"""The figures a sweep reports per setting."""


def parse_sweep(pairs: Iterable[str]) -> list[dict[str, Any]]:
    """``name=v1,v2,...`` pairs into every combination of their values (in order)."""
    axes: list[list[tuple[str, Any]]] = []
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        values = [v for v in raw.split(",") if v.strip()] if sep else []
        if not values:
            raise ConfigError("--sweep", pair, "use NAME=V1,V2,... with NAME a rule field")
        axes.append([next(iter(parse_sets([f"{name}={v}"]).items())) for v in values])
    if len({axis[0][0] for axis in axes}) < len(axes):
        raise ConfigError("--sweep", " ".join(pairs), "each rule field once")
    combos = [dict(c) for c in itertools.product(*axes)] if axes else []
    if len(combos) > MAX_SWEEP:
        raise ConfigError("--sweep", f"{len(combos)} combinations", f"at most {MAX_SWEEP}")
    return combos


def sweep(clips: Sequence[Clip], base: Mapping[str, Any],
          combos: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each combination (over ``base``: a field in both takes the combination's value)
    replayed: its figures, best agreement first."""
    out = []
    for combo in combos:
        figs = figures(clips, [decisions(c, replace(c.rule, **{**base, **combo})) for c in clips])
        out.append({"set": _plain_set(combo), **{k: figs[k] for k in SWEPT}})
    return sorted(out, key=lambda r: -(r["agreement"] or 0.0))


def replay(clips: Sequence[Clip], sets: Mapping[str, Any]) -> dict[str, Any]:
    """The recorded rule replayed (it must give back every recorded answer) and the rule
    with ``sets`` applied, on the same evidence: one JSON-ready dict."""
    recorded = [decisions(c, c.rule) for c in clips]
    differ = [(c.name, w.end) for c, mine in zip(clips, recorded, strict=True)
              for w, (m, _) in zip(c.windows, mine, strict=True) if m != w.matched]
    windows = sum(len(c.windows) for c in clips)
    if differ:
        name, end = differ[0]
        raise DumpError(f"the recorded rule gives back {windows - len(differ)} of {windows} "
                        f"recorded answers (first difference: {name}, window ending at "
                        f"{end:g} s): the dump was written by another version of the tracker")
    changed = [decisions(c, replace(c.rule, **sets)) for c in clips]
    moved = [_clip_change(c, a, b) for c, a, b in zip(clips, recorded, changed, strict=True)
             if a != b]
    rules = {json.dumps(rule_json(c.rule), sort_keys=True) for c in clips}
    return {
        "clips": len(clips), "windows": windows, "reproduced": windows,
        "set": _plain_set(sets),
        "rule": json.loads(next(iter(rules))) if len(rules) == 1 else None,
        "recorded": figures(clips, recorded),
        "replayed": figures(clips, changed),
        "answers_changed": sum(a[0] != b[0] for x, y in zip(recorded, changed, strict=True)
                               for a, b in zip(x, y, strict=True)),
        "clips_changed": moved,
    }


def _plain_set(sets: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides as plain JSON: no sure level (infinite) as null, as the dump has it."""
    return {k: None if isinstance(v, float) and math.isinf(v) else v for k, v in sets.items()}


def _clip_change(clip: Clip, recorded: Sequence[tuple[bool | None, bool]],
                 replayed: Sequence[tuple[bool | None, bool]]) -> dict[str, Any]:
    """Where one clip's answers moved: its timelines and agreement both ways."""
    def agreement(answers: Sequence[tuple[bool | None, bool]]) -> float | None:
        scored = [m == w.truth for w, (m, _) in zip(clip.windows, answers, strict=True)
                  if w.truth is not None]
        return round(sum(scored) / len(scored), 4) if scored else None

    return {"clip": clip.name, "background": clip.background,
            "agreement_recorded": agreement(recorded), "agreement_replayed": agreement(replayed),
            "truth": timeline([w.truth for w in clip.windows]),
            "recorded": timeline([m for m, _ in recorded]),
            "replayed": timeline([m for m, _ in replayed])}
