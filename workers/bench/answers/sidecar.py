"""A clip's truth sidecar, ``clip.with_suffix(".json")``, in the public format
``{"target": "a red circle", "events": [[on, off], ...]}`` (seconds, half-open; an
optional ``duration`` and ``background``), read and checked by :func:`read_sidecar`
whatever the clip's source (:mod:`.scenes`)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError
from pipeline.questions import clean_question
from workers.bench.answers.metrics import Interval


class SidecarError(ValueError):
    """A clip's truth sidecar is missing or malformed (the message names the file)."""


@dataclass(frozen=True)
class Sidecar:
    """A clip's truth: the question, its events, and what else the sidecar says."""

    target: str
    events: tuple[Interval, ...]
    duration: float | None = None
    """The clip's length when the sidecar gives it: a shorter decode is a shortfall."""
    background: str | None = None
    order: tuple[int, ...] = field(default=(), compare=False)
    """Where each of ``events`` stands in the sidecar's list (``events[i]`` in messages)."""

    def starting_after(self, end: float) -> list[tuple[int, Interval]]:
        """``(i, event)`` of the events that start at or after ``end`` s: a clip that ends
        first never shows them, so their truth cannot be scored."""
        order = self.order or tuple(range(len(self.events)))
        return [(i, e) for i, e in zip(order, self.events, strict=True) if e[0] >= end]


def read_sidecar(clip: Path) -> Sidecar:
    """The sidecar of ``clip``, checked; :class:`SidecarError` names what is wrong."""
    path = clip.with_suffix(".json")
    if not path.is_file():
        if path.is_symlink() or path.exists():
            raise SidecarError(f"{path}: the truth sidecar is not a file "
                               f"({not_a_file(path)})")
        raise SidecarError(f"{clip}: no truth sidecar {path.name} beside it")
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))  # a BOM is fine
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SidecarError(f"{path}: not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise SidecarError(f"{path}: must be a JSON object with 'target' and 'events'")
    target = data.get("target")
    if not isinstance(target, str) or not target.strip():
        raise SidecarError(f"{path}: 'target' must be a non-empty string, got {target!r}")
    try:
        target = clean_question(target)  # the one rule for question text
    except ConfigError as exc:
        raise SidecarError(f"{path}: 'target' {exc.value!r} is not allowed: {exc.allowed}") \
            from None
    events = data.get("events")
    if not isinstance(events, list):
        raise SidecarError(f"{path}: 'events' must be a list of [on, off] pairs")
    indexed = sorted((_event(path, i, e), i) for i, e in enumerate(events))
    pairs = [e for e, _ in indexed]
    for a, b in zip(pairs, pairs[1:], strict=False):
        if b[0] < a[1]:
            raise SidecarError(f"{path}: events {list(a)} and {list(b)} overlap (each event "
                               "is one stretch of presence: join them into one)")
    duration = data.get("duration")
    if duration is not None and not (_number(duration) and duration > 0):
        raise SidecarError(f"{path}: 'duration', when given, must be a positive number")
    background = data.get("background")
    truth = Sidecar(target.strip(), tuple(pairs),
                    float(duration) if duration is not None else None,
                    background if isinstance(background, str) else None,
                    tuple(i for _, i in indexed))
    if truth.duration is not None and (late := truth.starting_after(truth.duration)):
        raise SidecarError(f"{path}: {after_end(*late[0], truth.duration)}")
    return truth


def after_end(i: int, event: Interval, end: float) -> str:
    """What is wrong with sidecar event ``i`` that starts after the clip's ``end``."""
    return (f"events[{i}] = {[_plain(v) for v in event]} starts after the clip's end "
            f"({round(end, 3):g} s): the clip never shows it, so no window can score it")


def _plain(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def not_a_file(path: Path) -> str:
    """Why an entry that should be a file is not one (it exists, or is a link)."""
    if path.is_symlink() and not path.exists():
        return "a broken symlink"
    return "a directory" if path.is_dir() else "not a regular file"


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _event(path: Path, i: int, e: Any) -> Interval:
    if not (isinstance(e, list) and len(e) == 2 and all(_number(v) for v in e)
            and 0 <= e[0] < e[1]):
        raise SidecarError(f"{path}: events[{i}] = {e!r} is not a pair [on, off] of seconds "
                           "with 0 <= on < off")
    return (float(e[0]), float(e[1]))
