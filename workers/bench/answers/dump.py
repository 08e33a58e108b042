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
    if not isinstance(data, Mapping):
        raise DumpError(f"the {REPLAYED_MODE} rule must be an object of rule fields, got "
                        f"{data!r}")
    unknown = sorted(set(data) - set(RULE_FIELDS))
    if unknown:
        raise DumpError(f"unknown rule field {unknown[0]!r}")
    values = dict(data)
    if values.get("sure", 0.0) is None:
        values["sure"] = math.inf
    for name, value in values.items():
        _rule_value(name, value)
    return replace(Rule(), **values)


def _rule_value(name: str, value: Any) -> None:
    if (name == "floor" and value is None) or (name == "sure" and value == math.inf):
        return
    whole = RULE_FIELDS[name].type == "int"
    if not _finite(value) or whole and not isinstance(value, int):
        raise DumpError(f"rule field {name!r} = {value!r}: "
                        f"{'a whole number' if whole else 'a finite number'}")


def read_dump(path: Path) -> list[Clip]:
    """The adaptive pass's clips of a ``--dump-windows`` file."""
    heads: dict[str, dict[str, Any]] = {}
    rows: dict[str, list[Window]] = {}
    with path.open("rb") as lines:
        for n, raw in enumerate(lines, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DumpError(f"{path}:{n}: not UTF-8 text (byte {exc.start}): not a bench "
                                "answers --dump-windows file") from None
            if not line.strip():
                continue
            try:
                _record(json.loads(line), heads, rows)
            except KeyError as exc:
                raise DumpError(f"{path}:{n}: no {exc} field") from None
            except (json.JSONDecodeError, TypeError, ValueError) as exc:
                raise DumpError(f"{path}:{n}: {exc}") from None
    if not heads:
        raise DumpError(f"{path}: no clip records (is it a bench answers --dump-windows file?)")
    empty = [name for name in heads if not rows[name]]
    if empty:
        raise DumpError(f"{path}: clip {empty[0]!r} has no {REPLAYED_MODE} window records "
                        "(a dump cut short?)")
    return [Clip(name, h["background"], h["events"], h["duration"], h["rule"],
                 tuple(rows[name]), h["closer"]) for name, h in heads.items()]


def _record(rec: Any, heads: dict[str, dict[str, Any]], rows: dict[str, list[Window]]
            ) -> None:
    """One line of the dump into ``heads`` (a clip record) or ``rows`` (a window)."""
    if not isinstance(rec, dict):
        raise DumpError(f"{_short(rec)} is not a JSON object (each line of a dump is a "
                        "clip or window record)")
    kind = rec.get("record")
    if kind not in ("clip", "window"):
        raise DumpError("not a record of bench answers --dump-windows "
                        "(no \"record\": \"clip\" or \"window\")")
    name = rec["clip"]
    if not isinstance(name, str):
        raise DumpError(f"'clip' must be the clip's name, got {_short(name)}")
    if kind == "clip":
        if name in heads:
            raise DumpError(f"clip {name!r} is recorded twice (dumps of two runs joined?)")
        heads[name], rows[name] = _head(rec), []
    elif name not in rows:
        raise DumpError(f"a window of clip {name!r} before its clip record")
    elif rec["mode"] == REPLAYED_MODE:
        rows[name].append(_window(rec, heads[name]["closer"]))


def _head(rec: Mapping[str, Any]) -> dict[str, Any]:
    rules = rec["rules"]
    if not isinstance(rules, Mapping):
        raise DumpError(f"clip {rec['clip']!r}: 'rules' must be an object (each mode's rule), "
                        f"got {_short(rules)}")
    rule = rules.get(REPLAYED_MODE)
    if rule is None:
        raise DumpError(f"clip {rec['clip']!r}: no {REPLAYED_MODE} rule recorded")
    duration = _number(rec, "duration")
    if duration <= 0:
        raise DumpError(f"clip {rec['clip']!r}: 'duration' = {duration!r}: seconds above 0")
    return {"background": str(rec["background"]), "duration": duration,
            "events": _events(rec), "rule": rule_from_json(rule),
            "closer": bool(rec.get("closer_look"))}


def _events(rec: Mapping[str, Any]) -> tuple[Interval, ...]:
    events = rec["events"]
    if not isinstance(events, list):
        raise DumpError(f"clip {rec['clip']!r}: 'events' must be a list of [on, off] pairs")
    for i, e in enumerate(events):
        if not (isinstance(e, list) and len(e) == 2 and all(_finite(v) for v in e)
                and 0 <= e[0] < e[1]):
            raise DumpError(f"clip {rec['clip']!r}: events[{i}] = {_short(e)} is not a pair "
                            "[on, off] of seconds with 0 <= on < off")
    return tuple((float(a), float(b)) for a, b in events)


def _window(rec: Mapping[str, Any], closer: bool) -> Window:
    start, end = _number(rec, "start"), _number(rec, "end")
    if not start < end:
        raise DumpError(f"a window from {start:g} s to {end:g} s: it must end after it starts")
    for name in ("truth", "matched"):
        if rec[name] is not None and not isinstance(rec[name], bool):
            raise DumpError(f"'{name}' = {_short(rec[name])}: true, false or null")
    evidence = supports = None
    if rec["score"] is not None:
        if rec.get("support") is None or rec.get("unit") is None or rec.get("key") is None:
            raise DumpError("a judged window without its support, unit and key")
        evidence = Evidence(_number(rec, "score"), _number(rec, "support"),
                            _number(rec, "unit"))
        if closer:
            if not isinstance(rec.get("supports"), Mapping):
                raise DumpError(f"clip {rec['clip']!r} was answered with --closer-look, but "
                                "its windows carry no closer-look supports (written before "
                                "bench answers recorded them): dump it again")
            given = rec["supports"]
            supports = Supports(_number(given, "stay"), _number(given, "turn"),
                                _number(given, "look"))
    return Window(start, end, None if rec.get("key") is None else _number(rec, "key"),
                  rec["truth"], rec["matched"], evidence, supports)


def _finite(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _number(rec: Mapping[str, Any], key: str) -> float:
    """``rec[key]`` as a float: a finite JSON number, or :class:`DumpError` naming it."""
    if not _finite(rec[key]):
        raise DumpError(f"{key!r} = {_short(rec[key])}: a finite number")
    return float(rec[key])


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
