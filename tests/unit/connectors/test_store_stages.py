"""A cascade answer's stages survive the store (migration 0005_answer_stages)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from connectors.store import Store
from connectors.store.db import current_revision, head_revision
from pipeline.types import Answer

STAGES = {
    "decided_by": "vlm",
    "clip": {"score": 0.31, "matched": True, "threshold": 0.27, "band": 0.05, "visual_tokens": 96},
    "vlm": {
        "text": "yes a red circle",
        "matched": True,
        "visual_tokens": 120,
        "called": True,
        "reused_from": None,
    },
}


def _answer(end: float, stages: dict) -> Answer:
    return Answer(
        "q-1",
        "is there a red circle?",
        "door",
        end - 4,
        end,
        end,
        "cascade",
        "yes a red circle",
        True,
        0.31,
        (end - 1,),
        ((0.0, 0.0, 0.5, 0.5),),
        120,
        12.0,
        {"clip": "c", "vlm": "v"},
        stages=stages,
    )


def test_stages_round_trip_and_other_answers_store_none(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'fw.db'}")
    try:
        assert current_revision(store.engine) == head_revision()
        assert "stages" in {c["name"] for c in sa.inspect(store.engine).get_columns("answers")}
        store.insert_answers([_answer(4.0, STAGES), _answer(5.0, {})])
        got = {a.window_end: a.stages for a in store.answers()}
        assert got == {4.0: STAGES, 5.0: {}}
    finally:
        store.close()
