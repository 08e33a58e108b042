"""Shared pieces of the incident-clip tests: a recorded scene and incident rows."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy.orm import Session

from connectors.store import Store
from connectors.store.alerts_models import IncidentRow
from connectors.video.segmenter import Segmenter
from connectors.video.sources import open_source
from pipeline.scenes import scripted_scene, write_clip
from pipeline.types import Segment

FPS = 10


def recorded_scene(folder: Path, seconds: float = 40.0) -> list[Segment]:
    """The scene generator's clip (a keyframe every 5 s) cut into 2-s mid-GOP segments."""
    spec = scripted_scene(visible=[(12.0, 20.0)], duration=seconds, size=(320, 240), fps=FPS)
    clip = write_clip(spec, folder / "scene.mp4", fps=FPS, keyframe_interval_s=5.0)
    with open_source(str(clip), "cam") as src:
        return list(Segmenter.from_config("cam").run(src))


def add_incident(store: Store, incident_id: str, *, started: float, opened: float,
                 closed: float | None = None, answer_id: int | None = None,
                 updated_at: float | None = None, camera: str = "cam",
                 question: str = "a red circle?") -> None:
    with Session(store.engine) as s, s.begin():
        s.merge(IncidentRow(
            id=incident_id, rule_id="r1", query_id="q1", camera_id=camera, question=question,
            state="closed" if closed is not None else "open", started_at=started,
            opened_at=opened, last_hit_at=closed if closed is not None else opened,
            closed_at=closed, notified=[], open_answer_id=answer_id,
            updated_at=time.time() if updated_at is None else updated_at))
