"""The alert state machine: hysteresis, minimum duration, conditions, hook policies."""

from __future__ import annotations

import pytest

from pipeline.alerts.machine import AlertEngine, step
from pipeline.alerts.model import (
    Condition,
    ConditionKind,
    EventKind,
    HookPolicy,
    IncidentState,
    Rule,
    Track,
)
from pipeline.alerts.state import (
    hook_state_from_dict,
    hook_state_to_dict,
    track_from_dict,
    track_to_dict,
)
from pipeline.errors import ConfigError
from pipeline.types import Answer


def answer(
    i: int,
    matched: bool | None = True,
    *,
    text: str = "",
    score: float | None = None,
    camera: str = "cam1",
    query: str = "q1",
    window: float = 1.0,
) -> Answer:
    return Answer(
        query_id=query,
        question="is there a red circle?",
        camera=camera,
        window_start=i * window,
        window_end=(i + 1) * window,
        evaluated_at=(i + 1) * window,
        answerer="clip",
        text=text or ("yes" if matched else "no"),
        matched=matched,
        score=score,
        frames=(),
        rois=(),
        visual_tokens=0,
        latency_ms=1.0,
    )


def run(
    rule: Rule, pattern: str, policies: dict[str, HookPolicy] | None = None, camera: str = "cam1"
) -> tuple[list[tuple[EventKind, int]], AlertEngine, list]:
    """Feed a pattern like "11001" (1 = matched) and return (event kind, window index)."""
    engine = AlertEngine([rule], policies)
    events, notes = [], []
    for i, ch in enumerate(pattern):
        evs, ns = engine.feed(answer(i, ch == "1", camera=camera))
        events += [(e.kind, i) for e in evs]
        notes += ns
    return events, engine, notes


def test_flicker_never_opens_with_hysteresis():
    rule = Rule("r", "q1", open_after=2, close_after=2)
    events, _, _ = run(rule, "1010101010101")
    assert events == []


def test_opens_after_n_and_closes_after_m():
    rule = Rule("r", "q1", open_after=3, close_after=2)
    events, _, _ = run(rule, "0111101100111")
    # opens at the 3rd consecutive hit (index 3); the single miss at 5 does not close;
    # two misses at 8,9 close it at 9; hits 10..12 reopen at 12.
    assert events == [(EventKind.OPENED, 3), (EventKind.CLOSED, 9), (EventKind.OPENED, 12)]


def test_one_miss_inside_an_incident_keeps_it_open():
    rule = Rule("r", "q1", open_after=2, close_after=2)
    events, engine, _ = run(rule, "11010101")
    assert events == [(EventKind.OPENED, 1)]
    assert engine.tracks[("r", "cam1")].incident is not None


def test_minimum_duration_delays_opening():
    rule = Rule("r", "q1", open_after=1, close_after=1, min_duration=3.0)
    events, _, _ = run(rule, "1101110111")
    # runs must span >= 3 s (3 windows of 1 s): the run at 0-1 is too short.
    assert events == [(EventKind.OPENED, 5), (EventKind.CLOSED, 6), (EventKind.OPENED, 9)]


def test_cameras_are_independent():
    rule = Rule("r", "q1", open_after=2, close_after=2)
    engine = AlertEngine([rule])
    opened = []
    for i in range(4):
        for cam, hit in (("a", True), ("b", i % 2 == 0)):
            evs, _ = engine.feed(answer(i, hit, camera=cam))
            opened += [e.incident.camera for e in evs if e.kind is EventKind.OPENED]
    assert opened == ["a"]


def test_other_queries_are_ignored():
    engine = AlertEngine([Rule("r", "q1")])
    assert engine.feed(answer(0, True, query="q2")) == ([], [])


def test_score_threshold():
    rule = Rule("r", "q1", Condition(ConditionKind.SCORE_AT_LEAST, threshold=0.5))
    t = Track()
    t, e = step(rule, t, answer(0, None, score=0.49))
    assert e is None
    t, e = step(rule, t, answer(1, None, score=0.5))
    assert e is not None and e.kind is EventKind.OPENED
    t, e = step(rule, t, answer(2, None, score=None))
    assert e is not None and e.kind is EventKind.CLOSED


def test_regex_on_text_is_case_insensitive():
    rule = Rule("r", "q1", Condition(ConditionKind.TEXT_REGEX, pattern=r"\b(\d+) people\b"))
    _, e = step(rule, Track(), answer(0, None, text="I see 3 People queueing"))
    assert e is not None and e.kind is EventKind.OPENED
    _, e = step(rule, Track(), answer(0, None, text="nobody"))
    assert e is None


def test_changed_compares_with_previous_window():
    rule = Rule("r", "q1", Condition(ConditionKind.CHANGED), open_after=1, close_after=1)
    engine = AlertEngine([rule])
    kinds = []
    for i, text in enumerate(["a red car", "A red  car", "a blue car", "a blue car"]):
        evs, _ = engine.feed(answer(i, None, text=text))
        kinds += [(e.kind, i) for e in evs]
    # first window has no previous; whitespace/case do not count as a change.
    assert kinds == [(EventKind.OPENED, 2), (EventKind.CLOSED, 3)]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"condition": Condition(ConditionKind.MATCHED), "open_after": 0}, "rule.open_after"),
        ({"close_after": -1}, "rule.close_after"),
        ({"min_duration": -1.0}, "rule.min_duration"),
        ({"min_duration": float("nan")}, "rule.min_duration"),
        ({"open_after": 2**31}, "rule.open_after"),  # a SQL INTEGER holds it no more
    ],
)
def test_bad_rules_name_the_field(kwargs, field):
    with pytest.raises(ConfigError) as info:
        Rule("r", "q1", **kwargs)
    assert info.value.field == field


def test_bad_conditions_name_the_field():
    with pytest.raises(ConfigError, match="condition.pattern"):
        Condition(ConditionKind.TEXT_REGEX, pattern="(unclosed")
    with pytest.raises(ConfigError, match="condition.threshold"):
        Condition(ConditionKind.SCORE_AT_LEAST)
    with pytest.raises(ValueError):
        Condition("sometimes")  # type: ignore[arg-type]


def test_redelivered_or_old_answers_are_ignored():
    rule = Rule("r", "q1", open_after=2, close_after=1)
    engine = AlertEngine([rule])
    engine.feed(answer(0, True))
    assert engine.feed(answer(0, True)) == ([], [])  # same window again: not a 2nd hit
    evs, _ = engine.feed(answer(1, True))
    assert [e.kind for e in evs] == [EventKind.OPENED]


def test_notification_on_open_and_optional_close():
    quiet = Rule("r", "q1", open_after=1, close_after=1, hooks=("h1", "h2"))
    _, _, notes = run(quiet, "10")
    assert [(n.hook_id, n.event.kind) for n in notes] == [
        ("h1", EventKind.OPENED),
        ("h2", EventKind.OPENED),
    ]
    loud = Rule("r", "q1", open_after=1, close_after=1, notify_close=True, hooks=("h1",))
    _, _, notes = run(loud, "10")
    assert [n.event.kind for n in notes] == [EventKind.OPENED, EventKind.CLOSED]
    closed = notes[1].event.incident
    assert closed.state is IncidentState.CLOSED and closed.id == notes[0].event.incident.id
    assert notes[0].idempotency_key != notes[1].idempotency_key


def test_cooldown_suppresses_reopening_of_same_track_only():
    rule = Rule("r", "q1", open_after=1, close_after=1, notify_close=True, hooks=("h",))
    policy = {"h": HookPolicy("h", cooldown=5.0)}
    _, _, notes = run(rule, "1010000101", policy)
    # opens at 0, 2, 7, 9: 2 is within 5 s of 0 (suppressed), 7 is 7 s after 0, 9 is 2 s after 7.
    opened = [
        (n.event.incident.opened_at, n.suppressed is None)
        for n in notes
        if n.event.kind is EventKind.OPENED
    ]
    assert opened == [(1.0, True), (3.0, False), (8.0, True), (10.0, False)]
    # closings only go to hooks that were told about the opening
    closed = [n.event.incident.opened_at for n in notes if n.event.kind is EventKind.CLOSED]
    assert closed == [1.0, 8.0]
    assert all("cooldown" in n.suppressed for n in notes if n.suppressed)
    # another camera is not cooled down by cam1
    engine = AlertEngine([rule], policy)
    engine.feed(answer(0, True, camera="cam1"))
    _, ns = engine.feed(answer(1, True, camera="cam2"))
    assert [n.suppressed for n in ns] == [None]


def test_rate_cap_per_hook_over_sliding_period():
    rules = [Rule("r", "q1", hooks=("h",))]
    policy = {"h": HookPolicy("h", rate_cap=2, rate_period=10.0)}
    engine = AlertEngine(rules, policy)
    results = []
    for i, cam in enumerate(["a", "b", "c", "d"]):
        _, ns = engine.feed(answer(i, True, camera=cam))
        results += [n.suppressed for n in ns]
    assert results[:2] == [None, None]
    assert all(r and r.startswith("rate cap") for r in results[2:]) and len(results) == 4
    _, ns = engine.feed(answer(11, True, camera="e"))  # 12 - 2 >= 10: window slid
    assert [n.suppressed for n in ns] == [None]


def test_replay_is_deterministic_and_state_round_trips():
    rule = Rule("r", "q1", open_after=2, close_after=2, notify_close=True, hooks=("h",))
    policy = {"h": HookPolicy("h", cooldown=3.0, rate_cap=5)}
    pattern = "0110011100011011110"
    _, _, first = run(rule, pattern, policy)
    # replay with a restart in the middle: states serialised and restored
    engine = AlertEngine([rule], policy)
    notes = []
    for i, ch in enumerate(pattern):
        if i == 9:
            tracks = {k: track_from_dict(track_to_dict(t)) for k, t in engine.tracks.items()}
            hooks = {
                k: hook_state_from_dict(hook_state_to_dict(s))
                for k, s in engine.hook_states.items()
            }
            engine = AlertEngine([rule], policy, tracks, hooks)
        notes += engine.feed(answer(i, ch == "1"))[1]
    assert [(n.idempotency_key, n.suppressed) for n in notes] == [
        (n.idempotency_key, n.suppressed) for n in first
    ]
    assert len(first) >= 4
