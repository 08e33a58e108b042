"""Alert rules, conditions, hook policies, incidents and per-track state (values only).

``text_regex`` patterns run on RE2 (google-re2): matching takes time linear in the
text whatever the pattern, so no rule can stall the evaluator; RE2 refuses what it
cannot match that way (backreferences, lookaround), and patterns are at most
:data:`PATTERN_MAX` characters.
"""

import functools
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import re2

from pipeline.errors import ConfigError
from pipeline.extensions import uses_vlm
from pipeline.types import Answer

_INCIDENT_NS = uuid.UUID("5d7c1f0e-59a6-4b8e-9a43-0f1c2a7e6b11")
PATTERN_MAX = 256
MAX_RULE_HOOKS = 32
INT32_MAX = 2**31 - 1
"""The largest count a SQL INTEGER column holds (window counts, rate caps)."""
"""Hooks one rule may notify (each opening is one delivery per hook)."""
"""Characters of a ``text_regex`` pattern."""
_RE2_MEMORY = 1 << 20  # bytes one compiled pattern may take


class ConditionKind(StrEnum):
    """What makes a window count as a hit."""

    MATCHED = "matched"
    SCORE_AT_LEAST = "score_at_least"
    TEXT_REGEX = "text_regex"
    CHANGED = "changed"
    VERIFIED = "verified"  # the VLM said yes (answerer vlm, or cascade decided by its VLM)


_LEAD = re.compile(r"^\s*(yes|no)\b[\s,.:;!-]*", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s")


def vlm_description(answer: Answer) -> str | None:
    """The VLM's one-sentence description of the evidence, without its leading yes/no.

    None when no VLM wrote the answer's text (a ``clip`` answer, a cascade window
    decided by CLIP) or nothing is left after the yes/no.
    """
    if not uses_vlm(answer.answerer) or answer.stages.get("decided_by") == "clip":
        return None
    rest = _LEAD.sub("", answer.text.strip(), count=1)
    first = _SENTENCE.split(rest, maxsplit=1)[0].strip()
    return first or None


class IncidentState(StrEnum):
    """An incident is open until enough quiet windows close it; closed is final."""

    OPEN = "open"
    CLOSED = "closed"


class EventKind(StrEnum):
    OPENED = "opened"
    CLOSED = "closed"


@dataclass(frozen=True)
class Condition:
    """A test on one answer (and, for ``changed``, the previous answer's text)."""

    kind: ConditionKind = ConditionKind.MATCHED
    threshold: float | None = None
    pattern: str | None = None

    def __post_init__(self) -> None:
        kind = ConditionKind(self.kind)
        object.__setattr__(self, "kind", kind)
        if kind is ConditionKind.SCORE_AT_LEAST and self.threshold is None:
            raise ConfigError("condition.threshold", None, "score_at_least needs a number")
        if self.threshold is not None and not _finite(self.threshold):
            raise ConfigError("condition.threshold", self.threshold, "a finite number")
        if kind is ConditionKind.TEXT_REGEX:
            _compile(self.pattern)

    def holds(self, answer: Answer, previous_text: str | None) -> bool:
        """Whether ``answer`` meets the condition."""
        if self.kind is ConditionKind.MATCHED:
            return answer.matched is True
        if self.kind is ConditionKind.SCORE_AT_LEAST:
            return answer.score is not None and answer.score >= float(self.threshold or 0.0)
        if self.kind is ConditionKind.TEXT_REGEX:
            return _compile(self.pattern).search(answer.text) is not None
        if self.kind is ConditionKind.VERIFIED:
            return uses_vlm(answer.answerer) and answer.matched is True
        return previous_text is not None and _norm(answer.text) != _norm(previous_text)


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _compile(pattern: str | None) -> Any:
    """The RE2 program of ``pattern``, case-insensitive (compiled once per pattern)."""
    if not pattern:
        raise ConfigError("condition.pattern", pattern, "text_regex needs a regular expression")
    if len(pattern) > PATTERN_MAX:
        raise ConfigError("condition.pattern", pattern[:40] + "…",
                          f"at most {PATTERN_MAX} characters")
    return _re2(pattern)


@functools.lru_cache(maxsize=512)
def _re2(pattern: str) -> Any:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = _RE2_MEMORY
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        why = exc.args[0].decode(errors="replace") if exc.args and isinstance(
            exc.args[0], bytes) else str(exc)
        raise ConfigError(
            "condition.pattern", pattern, f"a regular expression RE2 accepts ({why})"
        ) from None


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


@dataclass(frozen=True)
class Rule:
    """Incident logic for the answers of one query, notifying ``hooks``."""

    id: str
    query_id: str
    condition: Condition = field(default_factory=Condition)
    open_after: int = 1
    close_after: int = 1
    min_duration: float = 0.0
    notify_close: bool = False
    hooks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("open_after", "close_after"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1 <= value <= INT32_MAX:
                raise ConfigError(f"rule.{name}", value,
                                  f"a whole number of windows, 1 to {INT32_MAX}")
        if not 0 <= self.min_duration < math.inf:
            raise ConfigError("rule.min_duration", self.min_duration, "seconds >= 0")
        if len(self.hooks) > MAX_RULE_HOOKS:
            raise ConfigError(
                "rule.hooks", f"{len(self.hooks)} hook ids", f"at most {MAX_RULE_HOOKS} hooks"
            )


@dataclass(frozen=True)
class HookPolicy:
    """Per-hook limits: ``cooldown`` s between openings of one (rule, camera);
    at most ``rate_cap`` notifications per ``rate_period`` s (0 = no cap)."""

    id: str
    cooldown: float = 0.0
    rate_cap: int = 0
    rate_period: float = 3600.0


def check_hook_limits(cooldown_s: float | None, rate_cap: int | None,
                      rate_period_s: float | None) -> None:
    """A hook's own limits (None: the deployment's defaults), checked wherever a hook is
    registered: a negative or NaN cooldown or cap would hold back every notification."""
    if cooldown_s is not None and not 0 <= cooldown_s < math.inf:
        raise ConfigError("hook.cooldown_s", cooldown_s, "seconds >= 0")
    if rate_cap is not None and (not isinstance(rate_cap, int)
                                 or not 0 <= rate_cap <= INT32_MAX):
        raise ConfigError("hook.rate_cap", rate_cap,
                          f"a whole number of notifications, 0 (no cap) to {INT32_MAX}")
    if rate_period_s is not None and not 0 < rate_period_s < math.inf:
        raise ConfigError("hook.rate_period_s", rate_period_s, "seconds above 0")


@dataclass(frozen=True)
class Incident:
    """One episode of a rule's condition holding on one camera: the run of hits began
    at ``started_at`` (a window start) and opened the incident at ``opened_at``; the
    latest hit ended at ``last_hit_at``; ``closed_at`` stays ``None`` while it is open;
    ``notified`` names the hooks told of the opening (only they hear of the closing)."""

    id: str
    rule_id: str
    query_id: str
    camera: str
    question: str
    state: IncidentState
    started_at: float
    opened_at: float
    last_hit_at: float
    closed_at: float | None = None
    notified: tuple[str, ...] = ()


@dataclass(frozen=True)
class IncidentEvent:
    """An incident opened or closed (``kind``): ``incident`` as it stands after the change
    (a closed one carries ``closed_at``), with the ``answer`` that decided it."""

    kind: EventKind
    incident: Incident
    answer: Answer


@dataclass(frozen=True)
class Notification:
    """One message for one hook; ``suppressed`` names the policy that held it back."""

    hook_id: str
    event: IncidentEvent
    suppressed: str | None = None

    @property
    def idempotency_key(self) -> str:
        return f"{self.event.incident.id}:{self.event.kind.value}:{self.hook_id}"


@dataclass(frozen=True)
class Track:
    """The state of one (rule, camera): hit/miss run lengths and the open incident."""

    hits: int = 0
    misses: int = 0
    run_start: float | None = None
    last_text: str | None = None
    last_window_end: float | None = None
    incident: Incident | None = None


@dataclass(frozen=True)
class HookState:
    """Notification times a hook's policy needs: recent sends and last openings."""

    sent: tuple[float, ...] = ()
    last_open: Mapping[str, float] = field(default_factory=dict)
