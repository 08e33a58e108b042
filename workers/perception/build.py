"""The one place a perceiver is built, for the embedded run, the worker and the benches.

Every mode gets the same objects: the CLIP encoder wrapped so its calls are timed
into the metrics, the segment decoder likewise, one engine with its answerer cache
and selection settings, one scheduler. The encoder's own counters
(``vision_frames_encoded``, ``encode_calls``) stay readable through the wrapper.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from pipeline.answerers.states import StateProvider
from pipeline.perceiver import AnswererCache, DecodeFn, Perceiver
from pipeline.perceiver import build_perceiver as _assemble
from pipeline.perception import SelectionConfig
from pipeline.scheduler import Scheduler
from pipeline.types import StandingQuery
from workers.ops import metrics


def load_encoder(p: Any) -> Any:
    """The CLIP encoder the perception settings name (loaded once per process)."""
    from pipeline.models.clip_encoder import ClipEncoder

    return ClipEncoder.from_spec(p.clip, device=p.device, precision=p.precision,
                                 batch_size=p.encode_batch)


def scheduler_of(p: Any, queries: Iterable[StandingQuery] = ()) -> Scheduler:
    """The scheduler; ``max_lag_s`` turns on the live catch-up skip policy."""
    max_lag = getattr(p, "max_lag_s", None)
    return Scheduler(list(queries), max_lag=max_lag, clock=time.time if max_lag else None)


def perceiver_from_settings(
    p: Any,
    encoder: Any | None = None,
    *,
    queries: Iterable[StandingQuery] = (),
    decode: DecodeFn | None = None,
    selection: SelectionConfig | None = None,
    states: StateProvider | None = None,
) -> Perceiver:
    """A perceiver from perception settings ``p`` (``encoder``/``decode`` may be given);
    ``states`` keeps the clip answerers' baselines (in memory when None)."""
    if decode is None:
        from connectors.video import decode_segment

        decode = decode_segment
    timed = metrics.TimedEncoder(encoder if encoder is not None else load_encoder(p))
    return _assemble(
        timed,
        AnswererCache(timed, getattr(p, "vlm", ""), states),
        selection or p.selection(),
        scheduler_of(p, queries),
        metrics.timed_decode(decode),
        p.sample_fps,
    )
