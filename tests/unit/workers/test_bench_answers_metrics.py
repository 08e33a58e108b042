"""The answers bench's window truth and event metrics, on hand-made answer sequences."""

from __future__ import annotations

import numpy as np
import pytest

from workers.bench.answers.metrics import (
    Answered,
    EventCounts,
    Hindsight,
    absent_seconds,
    best_threshold_right,
    false_alerts,
    flips,
    onset_delay,
    persistence_counts,
    window_truth,
)


def said(marks: str, *, window: float = 4.0, first_end: float = 4.0) -> list[Answered]:
    """Windows of ``window`` s ending every second from ``first_end``: '#' yes, '.' no,
    '?' undecided."""
    out = []
    for i, m in enumerate(marks):
        end = first_end + i
        out.append(Answered(end - window, end, {"#": True, ".": False, "?": None}[m]))
    return out


def test_window_truth_takes_the_event_the_window_overlaps_most() -> None:
    events = [(0.0, 5.5), (7.0, 20.0)]
    assert window_truth(5.0, 9.0, events) is True  # 0.5 s of one, 2 s of the other
    assert window_truth(4.5, 7.5, [(7.0, 20.0)]) is None  # 0.5 s: an edge window
    assert window_truth(3.0, 7.0, [(7.0, 20.0)]) is False  # ends where the event starts
    assert window_truth(6.0, 10.0, [(1.0, 3.5), (9.5, 10.2)]) is None  # 0.5 s at most
    assert window_truth(0.0, 4.0, []) is False


def test_onset_delay_runs_from_the_first_full_window_to_the_first_yes() -> None:
    event = (10.0, 30.0)  # first window overlapping it by >= 1 s: [7, 11)
    answers = said("." * 10 + "###")  # yes from the window ending at 14
    assert onset_delay(answers, event) == pytest.approx(3.0)
    assert onset_delay(said("." * 7 + "#" * 20), event) == pytest.approx(0.0)  # from [7, 11)


def test_onset_delay_is_negative_when_an_edge_window_already_says_yes() -> None:
    event = (10.5, 30.0)  # [7, 11) overlaps 0.5 s (edge), [8, 12) is the first full one
    answers = said("..#" + "." * 4 + "#" * 10)  # a yes at [2, 6) touches nothing: ignored
    assert onset_delay(answers, event) == pytest.approx(-1.0)


def test_an_event_seen_only_by_edge_windows_is_not_detected() -> None:
    event = (10.5, 14.0)  # 3.5 s
    assert onset_delay(said("." * 7 + "#" + "." * 10), event) is None  # only [7, 11): 0.5 s
    assert onset_delay(said("." * 20), event) is None


def test_false_alerts_count_runs_of_yes_that_touch_no_event() -> None:
    event = [(15.0, 25.0)]  # windows [11, 15) and [25, 29) touch nothing
    assert false_alerts(said("#" * 40), event) == 2  # before and after, one run each
    assert false_alerts(said("##.#?#" + "." * 30), event) == 3  # a no or undecided ends a run
    assert false_alerts(said("." * 8 + "#" * 10 + "." * 20), event) == 1  # early by 4 windows
    assert false_alerts(said("." * 11 + "#" * 7 + "." * 20), event) == 1  # [11, 15) touches 0 s
    assert false_alerts(said("." * 12 + "#" * 7 + "." * 20), event) == 0  # touching only
    assert false_alerts(said("#" * 10), []) == 1


def test_absent_time_is_the_clip_outside_the_union_of_its_events() -> None:
    assert absent_seconds([(5.0, 15.0), (10.0, 20.0)], 30.0) == pytest.approx(15.0)
    assert absent_seconds([(25.0, 40.0), (0.0, 2.0)], 30.0) == pytest.approx(23.0)
    assert absent_seconds([], 12.0) == pytest.approx(12.0)


def test_persistence_counts_only_windows_fully_inside_long_events() -> None:
    events = [(2.0, 70.0), (80.0, 90.0)]  # 68 s and 10 s
    answers = said("#" * 96)  # windows ending 4..99
    yes, total = persistence_counts(answers, events)
    assert (yes, total) == (65, 65)  # [2, 6) .. [66, 70); none of the 10-s event
    answers = said("." * 30 + "#" * 66)  # ends 4..33 say no: [2,6)..[29,33) -> 28 of them
    assert persistence_counts(answers, events) == (37, 65)


def test_flips_count_yes_to_not_yes_inside_the_event_only() -> None:
    event = (10.0, 20.0)  # windows overlapping >= 1 s end at 11..23
    # ends 4..10 outside (a yes->no there is ignored); inside: # . # ? # # . then no more
    answers = said("#." + "....." + "#.#?##." + "......")
    assert flips(answers, event) == 3
    assert flips(said("." * 7 + "#" * 13), event) == 0
    assert flips(said("...."), event) is None  # no window reaches the event


def test_counts_pool_events_and_windows_over_clips() -> None:
    counts = EventCounts()
    # clip 1: 40 s, events of 10 s (found 2 s late) and of 3 s (too short for the recall)
    clip1 = said("." * 9 + "#" * 9 + "." * 19)  # ends 4..40, yes from [9, 13)
    counts.add(clip1, [(10.0, 20.0), (30.0, 33.0)], 40.0)
    # clip 2: 100 s, a 70-s event never said yes, and one false alert
    clip2 = said("." * 10 + "##" + "." * 85)  # ends 4..100; yes at [10, 14) and [11, 15)
    counts.add(clip2, [(20.0, 90.0)], 100.0)
    figs = counts.figures()
    assert figs["events"] == 2 and figs["events_detected"] == 1
    assert figs["event_recall"] == 0.5
    assert figs["onset_delay_s"] == {"p50": 2.0, "p95": 2.0}
    absent = (40 - 13) + (100 - 70)
    assert figs["absent_s"] == pytest.approx(absent)
    assert figs["false_alerts"] == 1
    assert figs["false_alerts_per_hour"] == pytest.approx(round(3600 / absent, 3))
    assert figs["persistence_windows"] == 67 and figs["persistence"] == 0.0
    assert figs["flips_per_event"] == pytest.approx(round(1 / 3, 4))  # 1 flip, 3 events


def test_delay_percentiles_and_empty_figures() -> None:
    counts = EventCounts(delays=[0.0, 2.0, 10.0], detected=3, events=3)
    assert counts.figures()["onset_delay_s"] == {"p50": 2.0, "p95": 9.2}
    empty = EventCounts().figures()
    assert empty["event_recall"] is None and empty["persistence"] is None
    assert empty["onset_delay_s"] == {"p50": None, "p95": None}
    assert empty["false_alerts_per_hour"] is None and empty["flips_per_event"] is None


def brute_right(scores: list[float | None], truths: list[bool]) -> int:
    """Every threshold tried: below, at and above each score."""
    cuts = [-1e9, 1e9, *[x for x in scores if x is not None]]
    return max(sum((sc is not None and sc >= t) == y for sc, y in zip(scores, truths,
                                                                    strict=True))
               for t in cuts)


def test_best_threshold_right_is_what_the_best_single_cut_gets() -> None:
    assert best_threshold_right([0.1, 0.2, 0.3, 0.4], [False, False, True, True]) == 4
    assert best_threshold_right([0.4, 0.3, 0.2, 0.1], [False, False, True, True]) == 2
    assert best_threshold_right([0.2, 0.2, 0.2], [True, False, True]) == 2  # ties cut as one
    assert best_threshold_right([None, 0.5], [False, True]) == 2  # no score: never yes
    assert best_threshold_right([None, 0.5], [True, True]) == 1
    assert best_threshold_right([], []) == 0
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 12))
        scores = [None if rng.random() < 0.1 else round(float(rng.normal()), 1)
                  for _ in range(n)]
        truths = [bool(rng.random() < 0.5) for _ in range(n)]
        assert best_threshold_right(scores, truths) == brute_right(scores, truths)


def test_hindsight_per_clip_can_beat_one_threshold_for_the_run() -> None:
    h = Hindsight()
    h.add([0.1, 0.2, 0.3, 0.4], [False, False, True, True])  # the asked thing scores high
    h.add([0.5, 0.6, 0.7, 0.8], [False, False, True, True])  # here a look-alike does too
    figs = h.figures()
    assert figs["per_clip_threshold"] == 1.0  # each clip's own cut
    assert figs["one_threshold"] == 0.75  # one cut: 0.3 or 0.7, two windows wrong
    assert Hindsight().figures() == {"per_clip_threshold": None, "one_threshold": None}


def test_a_clips_own_figures_and_strips() -> None:
    from workers.bench.answers.metrics import clip_figures

    answers = said("..###.#?..")  # windows end 4..13
    truths = [window_truth(a.start, a.end, [(5.0, 10.0)]) for a in answers]
    out = clip_figures(answers, truths, [(5.0, 10.0)], 20.0)
    assert out["truth"] == "..########" and out["answers"] == "..###.#?.."
    assert out["windows"] == 10 and out["agreement"] == 0.6  # '?' counts wrong
    edges = clip_figures(said("##"), [None, True], [(3.5, 9.0)], 10.0)
    assert edges["truth"] == "?#" and edges["windows"] == 1
    assert (out["events"], out["events_detected"], out["false_alerts"], out["flips"]) == (
        1, 1, 0, 2)


def test_the_gate_counts_what_a_vlm_would_be_asked_and_its_bound() -> None:
    from workers.bench.answers.metrics import Gate

    gate = Gate()
    for truth, matched, near in [(True, True, True), (True, False, True), (True, False, False),
                                 (False, True, True), (False, False, True), (False, False, False),
                                 (False, None, False)]:
        gate.add(truth, matched, near)
    # asked: yes, near or undecided (5 of 7); 2 of 3 present asked; right: every asked window
    # and the unasked absent one (the unasked present one stays a wrong no)
    assert gate.figures() == {"asked": round(5 / 7, 4), "recall": round(2 / 3, 4),
                              "bound": round(6 / 7, 4)}
