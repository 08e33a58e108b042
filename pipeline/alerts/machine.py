"""The incident state machine: answers step tracks; opening/closing events route to hooks."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import replace

from pipeline.alerts.model import (
    _INCIDENT_NS,
    EventKind,
    HookPolicy,
    HookState,
    Incident,
    IncidentEvent,
    IncidentState,
    Notification,
    Rule,
    Track,
)
from pipeline.types import Answer


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
    loads states from the store, feeds a batch, and writes the states back. A rule that
    raises is set aside in ``failed`` (rule id → error) and skipped from then on; the
    other rules go on.
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
        self.failed: dict[str, str] = {}

    def feed(self, answer: Answer) -> tuple[list[IncidentEvent], list[Notification]]:
        """Run every rule of the answer's query; returns the events and notifications."""
        events: list[IncidentEvent] = []
        notes: list[Notification] = []
        for rule in self.rules:
            if rule.query_id != answer.query_id or rule.id in self.failed:
                continue
            try:
                event = self._feed_rule(rule, answer)
            except Exception as exc:  # noqa: BLE001 - one bad rule never stops the others
                self.failed[rule.id] = f"{type(exc).__name__}: {exc}"[:300]
                continue
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


