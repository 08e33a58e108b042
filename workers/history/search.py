"""Text search over the frame index, shared by ``feedwatch search`` and the API.

The text is encoded with the CLIP model the index was built with (its id is stored
with every frame): a differently named ``--clip`` is refused, since embeddings of
two models are not comparable. Results are moments (neighbouring frames of one
camera are one hit) with the frame's thumbnail URL and, when patch grids are kept,
the box the text points at.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.store.frames.index import FrameIndex
from pipeline.errors import ConfigError
from pipeline.history.moments import Moment, check_limit
from pipeline.questions import clean_question

THUMBNAIL_URL = "/api/frames/{id}/thumbnail"


def index_model(index: FrameIndex, clip: str | None) -> str:
    """The model to encode text with: the index's; ``clip`` must name the same one."""
    model = index.model_id()
    if model is None:
        raise ConfigError("frame index", "empty", "a store with frames in its frame index "
                          "(run `feedwatch run` or a worker first)")  # never the store's URL
    if clip and clip.strip() != model:
        raise ConfigError("--clip", clip, f"the model the index was built with ({model}), "
                          "or leave it out")
    return model


class Searcher:
    """Encodes text once per distinct text and searches the index."""

    def __init__(self, index: FrameIndex, encoder: Any, model_id: str) -> None:
        self.index = index
        self.encoder = encoder
        self.model_id = model_id

    @classmethod
    def load(cls, index: FrameIndex, clip: str | None = None, device: str = "cpu") -> Searcher:
        from pipeline.models.clip_encoder import ClipEncoder

        model = index_model(index, clip)
        return cls(index, ClipEncoder.from_spec(model, device=device), model)

    def search(
        self,
        text: str,
        *,
        cameras: Sequence[str] = (),
        since: float | None = None,
        until: float | None = None,
        limit: int = 10,
    ) -> list[Moment]:
        if not text.strip():
            raise ConfigError("q", text, "a non-empty text to search for")
        check_limit(limit)
        if since is not None and until is not None and until <= since:
            raise ConfigError("until", until, f"a time after since ({since})")
        emb = self.encoder.encode_text([clean_question(text)])[0]
        return self.index.search(
            emb, self.model_id, cameras=cameras, since=since, until=until, limit=limit
        )


def moment_json(m: Moment) -> dict[str, Any]:
    """The public JSON of one search hit (CLI ``--json`` line and API item)."""
    return {
        "camera": m.camera,
        "t": m.t,
        "score": round(m.score, 6),
        "thumbnail": THUMBNAIL_URL.format(id=m.frame_id),
        "box": None if m.box is None else [round(x, 6) for x in m.box],
        "frame_id": m.frame_id,
        "start": m.start,
        "end": m.end,
        "frames": m.frames,
    }
