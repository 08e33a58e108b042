"""The ``bench answers --dump-windows`` format, written by the bench
(:func:`write_clip`) and read back (:func:`read_dump`) by ``feedwatch bench replay``.

Per clip, one ``clip`` record (the target, background, events, decoded length,
``closer_look`` and each pass's tracker rule), then one ``window`` record per window and
pass; for the adaptive passes it carries the evidence the tracker judged and kept
(``support``, ``unit``, the window ``key``) at full precision, so a replay decides on
exactly what the tracker saw. With the closer look on, the default pass's windows also
carry all three ``supports`` it may be judged on (``stay``: the whole frame against its
ten closest alternatives, ``turn``: against the strongest, ``look``: the crop against
the strongest), the crop encoded for every window, so which one a replayed rule asks
is decided again (:func:`pipeline.answerers.closer.judged`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Protocol, TextIO

from pipeline.answerers.baseline import Evidence, Rule
from pipeline.answerers.closer import Supports
from workers.bench.answers.metrics import Interval

REPLAYED_MODE = "adaptive"
"""The pass a replay reads (the default mode of ``bench answers``)."""
RULE_FIELDS = {f.name: f for f in fields(Rule)}


class DumpError(ValueError):
    """The dump cannot be replayed (names the line and what is wrong)."""


@dataclass(frozen=True)
class Window:
    """One recorded window of the adaptive pass."""

    start: float
    end: float
    key: float | None
    truth: bool | None
    matched: bool | None
    evidence: Evidence | None  # None: no frame in the window, nothing was judged
    supports: Supports | None = None  # the closer look's three (closer-look clips only)


@dataclass(frozen=True)
class Clip:
    """One recorded clip: its truth, the rule it was answered with, its windows."""

    name: str
    background: str
    events: tuple[Interval, ...]
    duration: float
    rule: Rule
    windows: tuple[Window, ...]
    closer: bool = False  # answered with the closer look: judged on ``Window.supports``


class Truth(Protocol):
    @property
    def target(self) -> str: ...

    @property
    def events(self) -> Sequence[Interval]: ...


def write_clip(out: TextIO, clip: str, background: str, truth: Truth, duration: float,
               closer_look: float | None, passes: Sequence[Any]) -> None:
    """One ``clip`` record (truth, decoded length, each pass's tracker rule), then one
    ``window`` record per window and pass (``bench answers``' passes: ``name``,
    ``answerer``, ``rows``), with the evidence the tracker judged (``support``, ``unit``,
    ``key``: adaptive passes) at full precision: a replay decides on exactly that."""
    rules = {p.name: rule_json(p.answerer.rule) if p.answerer.settings.mode == REPLAYED_MODE
             else None for p in passes}
    out.write(json.dumps({
        "record": "clip", "clip": clip, "target": truth.target, "background": background,
        "events": [list(e) for e in truth.events], "duration": round(duration, 6),
        "closer_look": closer_look, "rules": rules}) + "\n")
    for p in passes:
        for r in p.rows:
            out.write(json.dumps({
                "record": "window", "clip": clip, "mode": p.name, "start": r.start,
                "end": r.end, "truth": r.truth, "matched": r.matched,
                "score": _plain(r.score), "support": _plain(r.support), "unit": _plain(r.unit),
                "key": r.key, "calibrating": r.calibrating, "why": r.why,
                "supports": None if r.supports is None else asdict(r.supports)}) + "\n")
    out.flush()


def _plain(value: float | None) -> float | None:
    return None if value is None else float(value)


def rule_json(rule: Rule) -> dict[str, Any]:
    """The rule as plain JSON (an infinite ``sure`` level as null)."""
    out = asdict(rule)
    out["sure"] = None if math.isinf(rule.sure) else rule.sure
    return out


def rule_from_json(data: Mapping[str, Any]) -> Rule:
    unknown = sorted(set(data) - set(RULE_FIELDS))
    if unknown:
        raise DumpError(f"unknown rule field {unknown[0]!r}")
    values = dict(data)
    if values.get("sure", 0.0) is None:
        values["sure"] = math.inf
    return replace(Rule(), **values)


def read_dump(path: Path) -> list[Clip]:
    """The adaptive pass's clips of a ``--dump-windows`` file."""
    heads: dict[str, dict[str, Any]] = {}
    rows: dict[str, list[Window]] = {}
    with path.open() as lines:
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                if rec.get("record") == "clip":
                    heads[rec["clip"]] = _head(rec)
                    rows[rec["clip"]] = []
                elif rec.get("record") == "window":
                    if rec["clip"] not in rows:
                        raise DumpError(f"a window of clip {rec['clip']!r} before its clip "
                                        "record")
                    if rec["mode"] == REPLAYED_MODE:
                        rows[rec["clip"]].append(_window(rec, heads[rec["clip"]]["closer"]))
                else:
                    raise DumpError("not a record of bench answers --dump-windows "
                                    "(no \"record\": \"clip\" or \"window\")")
            except KeyError as exc:
                raise DumpError(f"{path}:{n}: no {exc} field") from None
            except (json.JSONDecodeError, TypeError, ValueError) as exc:
                raise DumpError(f"{path}:{n}: {exc}") from None
    if not heads:
        raise DumpError(f"{path}: no clip records (is it a bench answers --dump-windows file?)")
    return [Clip(name, h["background"], h["events"], h["duration"], h["rule"],
                 tuple(rows[name]), h["closer"]) for name, h in heads.items()]


def _head(rec: Mapping[str, Any]) -> dict[str, Any]:
    rule = rec["rules"].get(REPLAYED_MODE)
    if rule is None:
        raise DumpError(f"clip {rec['clip']!r}: no {REPLAYED_MODE} rule recorded")
    return {"background": str(rec["background"]), "duration": float(rec["duration"]),
            "events": tuple((float(a), float(b)) for a, b in rec["events"]),
            "rule": rule_from_json(rule), "closer": bool(rec.get("closer_look"))}


def _window(rec: Mapping[str, Any], closer: bool) -> Window:
    score = rec["score"]
    evidence = supports = None
    if score is not None:
        if rec.get("support") is None or rec.get("unit") is None or rec.get("key") is None:
            raise DumpError("a judged window without its support, unit and key")
        evidence = Evidence(float(score), float(rec["support"]), float(rec["unit"]))
        if closer:
            if not isinstance(rec.get("supports"), Mapping):
                raise DumpError(f"clip {rec['clip']!r} was answered with --closer-look, but "
                                "its windows carry no closer-look supports (written before "
                                "bench answers recorded them): dump it again")
            supports = Supports(**{k: float(rec["supports"][k]) for k in ("stay", "turn",
                                                                          "look")})
    return Window(float(rec["start"]), float(rec["end"]),
                  None if rec.get("key") is None else float(rec["key"]), rec["truth"],
                  rec["matched"], evidence, supports)
