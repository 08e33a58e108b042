"""Alert rules that need the VLM's confirmation, and the VLM's description of the evidence."""

from __future__ import annotations

from typing import Any

from pipeline.alerts.machine import AlertEngine
from pipeline.alerts.model import Condition, ConditionKind, EventKind, Rule, vlm_description
from pipeline.types import Answer

VERIFIED = Condition(ConditionKind.VERIFIED)


def _answer(end: float, answerer: str, text: str, matched: bool | None, **stages: Any) -> Answer:
    return Answer(
        "q",
        "is there a forklift at the exit?",
        "cam",
        end - 4,
        end,
        end,
        answerer,
        text,
        matched,
        0.3,
        (),
        (),
        0,
        0.0,
        stages=dict(stages),
    )


def test_only_vlm_confirmed_windows_open_a_verified_incident() -> None:
    engine = AlertEngine([Rule("r", "q", VERIFIED, open_after=2, hooks=("h",))])
    clip_yes = [_answer(t, "clip", "yes", True) for t in (1.0, 2.0, 3.0)]
    vlm_no = [
        _answer(t, "cascade", "no, the exit is clear.", False, decided_by="vlm") for t in (4.0, 5.0)
    ]
    assert not [e for a in clip_yes + vlm_no for e in engine.feed(a)[0]]
    said = "yes, a forklift stands in front of the exit door. It has not moved."
    events, notes = [], []
    for t in (6.0, 7.0, 8.0):
        got = engine.feed(_answer(t, "cascade", said, True, decided_by="vlm"))
        events += got[0]
        notes += got[1]
    assert [e.kind for e in events] == [EventKind.OPENED]
    assert [n.hook_id for n in notes] == ["h"]
    assert vlm_description(events[0].answer) == "a forklift stands in front of the exit door."


def test_matched_rules_still_open_on_clip_answers() -> None:
    engine = AlertEngine([Rule("r", "q", Condition(), open_after=1)])
    assert engine.feed(_answer(1.0, "clip", "yes", True))[0]


def test_description_is_the_vlm_sentence_without_its_verdict() -> None:
    assert vlm_description(_answer(1, "vlm", "Yes - a red circle in the middle", True)) == (
        "a red circle in the middle"
    )
    assert vlm_description(_answer(1, "cascade", "no", False, decided_by="clip")) is None
    assert vlm_description(_answer(1, "clip", "yes", True)) is None
    assert vlm_description(_answer(1, "vlm", "yes.", True)) is None
    assert vlm_description(_answer(1, "vlm", "a cat. a dog.", None)) == "a cat."
