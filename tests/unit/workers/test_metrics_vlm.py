"""VLM windows and calls per question and camera, counted from the answers themselves."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY

from pipeline.types import Answer
from workers.ops import metrics


def _answer(answerer: str, end: float, **stages: Any) -> Answer:
    return Answer(
        "q-metrics",
        "is there a red circle?",
        "cam-m",
        end - 4,
        end,
        end,
        answerer,
        "no",
        False,
        0.1,
        (),
        (),
        0,
        1.0,
        stages=dict(stages),
    )


def _value(name: str, answerer: str) -> float:
    labels = {"query": "q-metrics", "camera": "cam-m", "answerer": answerer}
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_cascade_counts_windows_calls_and_the_deciding_stage() -> None:
    before = {
        n: _value(n, "cascade")
        for n in ("feedwatch_vlm_windows_total", "feedwatch_vlm_calls_total")
    }
    by_vlm = REGISTRY.get_sample_value("feedwatch_cascade_decided_total", {"stage": "vlm"}) or 0
    metrics.count_answers(
        [
            _answer("cascade", 1, decided_by="clip", vlm=None),
            _answer("cascade", 2, decided_by="vlm", vlm={"called": True}),
            _answer("cascade", 3, decided_by="vlm", vlm={"called": False, "reused_from": 2.0}),
            _answer("clip", 4),
        ]
    )
    assert (
        _value("feedwatch_vlm_windows_total", "cascade") - before["feedwatch_vlm_windows_total"]
        == 3
    )
    assert _value("feedwatch_vlm_calls_total", "cascade") - before["feedwatch_vlm_calls_total"] == 1
    after = REGISTRY.get_sample_value("feedwatch_cascade_decided_total", {"stage": "vlm"})
    assert after == by_vlm + 2
    assert _value("feedwatch_vlm_windows_total", "clip") == 0


def test_vlm_answerer_calls_on_every_window() -> None:
    before = _value("feedwatch_vlm_calls_total", "vlm")
    metrics.count_answers([_answer("vlm", 1), _answer("vlm", 2)])
    assert _value("feedwatch_vlm_calls_total", "vlm") - before == 2
