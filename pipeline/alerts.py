"""Alert rules and incidents: a pure, deterministic state machine over answers.

A :class:`Rule` watches the answers of one standing query. Per (rule, camera) a
:class:`Track` counts consecutive windows that meet the rule's :class:`Condition`:
an incident opens after ``open_after`` consecutive hits (and, optionally, once the
hit run spans ``min_duration`` seconds) and closes after ``close_after`` consecutive
misses — hysteresis, so a flickering answer cannot open an incident per window.

Opening (and, if the rule asks, closing) an incident notifies the rule's hooks.
Each hook has a :class:`HookPolicy`: a cooldown per (rule, camera) between two
opening notifications and a rate cap over a sliding period. A notification that a
policy holds back is still emitted, marked ``suppressed`` with the reason, so
nothing disappears silently.

All time is event time (the answers' ``window_end``), never the wall clock, so
replaying the same answers from the same states yields the same incidents, ids and
notifications. Answers that are not newer than the last one seen on a track are
ignored, which makes redelivered answers harmless. States serialise to plain dicts
for durable storage.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from pipeline.errors import ConfigError
from pipeline.types import Answer

_INCIDENT_NS = uuid.UUID("5d7c1f0e-59a6-4b8e-9a43-0f1c2a7e6b11")


class ConditionKind(StrEnum):
    """What makes a window count as a hit."""

    MATCHED = "matched"
    SCORE_AT_LEAST = "score_at_least"
    TEXT_REGEX = "text_regex"
    CHANGED = "changed"


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
        return previous_text is not None and _norm(answer.text) != _norm(previous_text)


def _compile(pattern: str | None) -> re.Pattern[str]:
    if not pattern:
        raise ConfigError("condition.pattern", pattern, "text_regex needs a regular expression")
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(
            "condition.pattern", pattern, f"a valid regular expression ({exc})"
        ) from exc


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
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"rule.{name}", value, "a whole number of windows >= 1")
        if self.min_duration < 0:
            raise ConfigError("rule.min_duration", self.min_duration, "seconds >= 0")


@dataclass(frozen=True)
class HookPolicy:
    """Per-hook limits: ``cooldown`` s between openings of one (rule, camera);
    at most ``rate_cap`` notifications per ``rate_period`` s (0 = no cap)."""

    id: str
    cooldown: float = 0.0
    rate_cap: int = 0
    rate_period: float = 3600.0


@dataclass(frozen=True)
class Incident:
    """One episode of a rule's condition holding on one camera."""

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
    """An incident opened or closed, with the answer that decided it."""

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


def incident_id(rule_id: str, camera: str, opened_at: float) -> str:
    """Deterministic, so a replay produces the same ids (and idempotency keys)."""
    return str(uuid.uuid5(_INCIDENT_NS, f"{rule_id}|{camera}|{opened_at!r}"))


def step(rule: Rule, track: Track, answer: Answer) -> tuple[Track, IncidentEvent | None]:
    """Advance one track by one answer; returns the new track and any event."""
    if track.last_window_end is not None and answer.window_end <= track.last_window_end:
        return track, None
    hit = rule.condition.holds(answer, track.last_text)
    seen = replace(track, last_text=answer.text, last_window_end=answer.window_end)
    if hit:
        return _on_hit(rule, seen, answer)
    return _on_miss(rule, seen, answer)


def _on_hit(rule: Rule, track: Track, answer: Answer) -> tuple[Track, IncidentEvent | None]:
    start = answer.window_start if track.hits == 0 else track.run_start
    track = replace(track, hits=track.hits + 1, misses=0, run_start=start)
    if track.incident is not None:
        return replace(track, incident=replace(track.incident, last_hit_at=answer.window_end)), None
    lasted = answer.window_end - float(start if start is not None else answer.window_start)
    if track.hits < rule.open_after or lasted < rule.min_duration:
        return track, None
    incident = Incident(
        id=incident_id(rule.id, answer.camera, answer.window_end),
        rule_id=rule.id,
        query_id=answer.query_id,
        camera=answer.camera,
        question=answer.question,
        state=IncidentState.OPEN,
        started_at=float(start if start is not None else answer.window_start),
        opened_at=answer.window_end,
        last_hit_at=answer.window_end,
    )
    return replace(track, incident=incident), IncidentEvent(EventKind.OPENED, incident, answer)


def _on_miss(rule: Rule, track: Track, answer: Answer) -> tuple[Track, IncidentEvent | None]:
    track = replace(track, hits=0, misses=track.misses + 1, run_start=None)
    if track.incident is None or track.misses < rule.close_after:
        return track, None
    closed = replace(track.incident, state=IncidentState.CLOSED, closed_at=answer.window_end)
    return replace(track, incident=None), IncidentEvent(EventKind.CLOSED, closed, answer)


def route(
    rule: Rule,
    event: IncidentEvent,
    policies: Mapping[str, HookPolicy],
    states: Mapping[str, HookState],
) -> tuple[list[Notification], dict[str, HookState], Incident]:
    """Notifications for one event, the hooks' new states, and the incident with
    ``notified`` updated (closings go only to hooks told about the opening)."""
    if event.kind is EventKind.CLOSED:
        return _route_close(rule, event), dict(states), event.incident
    out: list[Notification] = []
    new_states = dict(states)
    for hook_id in rule.hooks:
        policy = policies.get(hook_id, HookPolicy(hook_id))
        state = new_states.get(hook_id, HookState())
        reason = _held_back(policy, state, event)
        if reason is None:
            new_states[hook_id] = _record_open(policy, state, event)
        out.append(Notification(hook_id, event, reason))
    told = tuple(n.hook_id for n in out if n.suppressed is None)
    return out, new_states, replace(event.incident, notified=told)


def _route_close(rule: Rule, event: IncidentEvent) -> list[Notification]:
    if not rule.notify_close:
        return []
    return [Notification(h, event) for h in event.incident.notified if h in rule.hooks]


def _track_key(incident: Incident) -> str:
    return f"{incident.rule_id}|{incident.camera}"


def _held_back(policy: HookPolicy, state: HookState, event: IncidentEvent) -> str | None:
    now = event.incident.opened_at
    last = state.last_open.get(_track_key(event.incident))
    if policy.cooldown > 0 and last is not None and now - last < policy.cooldown:
        return f"cooldown: last opening {now - last:.1f}s ago < {policy.cooldown:g}s"
    recent = [t for t in state.sent if now - t < policy.rate_period]
    if policy.rate_cap > 0 and len(recent) >= policy.rate_cap:
        return f"rate cap: {len(recent)} notifications in {policy.rate_period:g}s"
    return None


def _record_open(policy: HookPolicy, state: HookState, event: IncidentEvent) -> HookState:
    now = event.incident.opened_at
    horizon = max(policy.rate_period, policy.cooldown)
    sent = tuple(t for t in state.sent if now - t < policy.rate_period) + (now,)
    last_open = {k: t for k, t in state.last_open.items() if now - t < horizon}
    last_open[_track_key(event.incident)] = now
    return HookState(sent=sent, last_open=last_open)


class AlertEngine:
    """Rules, hook policies and their states held in memory; feed answers in order.

    The engine is a convenience around :func:`step` and :func:`route`: the worker
    loads states from the store, feeds a batch, and writes the states back.
    """

    def __init__(
        self,
        rules: Iterable[Rule],
        policies: Mapping[str, HookPolicy] | None = None,
        tracks: Mapping[tuple[str, str], Track] | None = None,
        hook_states: Mapping[str, HookState] | None = None,
    ) -> None:
        self.rules = tuple(rules)
        self.policies = dict(policies or {})
        self.tracks: dict[tuple[str, str], Track] = dict(tracks or {})
        self.hook_states: dict[str, HookState] = dict(hook_states or {})

    def feed(self, answer: Answer) -> tuple[list[IncidentEvent], list[Notification]]:
        """Run every rule of the answer's query; returns the events and notifications."""
        events: list[IncidentEvent] = []
        notes: list[Notification] = []
        for rule in self.rules:
            if rule.query_id != answer.query_id:
                continue
            event = self._feed_rule(rule, answer)
            if event is not None:
                events.append(event[0])
                notes.extend(event[1])
        return events, notes

    def _feed_rule(
        self, rule: Rule, answer: Answer
    ) -> tuple[IncidentEvent, list[Notification]] | None:
        key = (rule.id, answer.camera)
        track, event = step(rule, self.tracks.get(key, Track()), answer)
        if event is None:
            self.tracks[key] = track
            return None
        notes, self.hook_states, incident = route(rule, event, self.policies, self.hook_states)
        if event.kind is EventKind.OPENED:
            track = replace(track, incident=incident)
        self.tracks[key] = track
        return replace(event, incident=incident), notes


def track_to_dict(track: Track) -> dict[str, Any]:
    """A JSON-ready form of a track (for the store)."""
    data: dict[str, Any] = {
        "hits": track.hits,
        "misses": track.misses,
        "run_start": track.run_start,
        "last_text": track.last_text,
        "last_window_end": track.last_window_end,
        "incident": None,
    }
    if track.incident is not None:
        data["incident"] = {
            **track.incident.__dict__,
            "state": track.incident.state.value,
            "notified": list(track.incident.notified),
        }
    return data


def track_from_dict(data: Mapping[str, Any]) -> Track:
    raw = data.get("incident")
    incident = None
    if raw is not None:
        incident = Incident(
            **{
                **raw,
                "state": IncidentState(raw["state"]),
                "notified": tuple(raw.get("notified", ())),
            }
        )
    return Track(
        hits=int(data.get("hits", 0)),
        misses=int(data.get("misses", 0)),
        run_start=data.get("run_start"),
        last_text=data.get("last_text"),
        last_window_end=data.get("last_window_end"),
        incident=incident,
    )


def hook_state_to_dict(state: HookState) -> dict[str, Any]:
    return {"sent": list(state.sent), "last_open": dict(state.last_open)}


def hook_state_from_dict(data: Mapping[str, Any]) -> HookState:
    return HookState(
        sent=tuple(float(t) for t in data.get("sent", ())),
        last_open={str(k): float(v) for k, v in dict(data.get("last_open", {})).items()},
    )
