"""Video connectors: camera sources, keyframe-aligned segments, sampling decode.

Names are imported lazily so that ``import connectors.video.settings`` (done by the
CLI's configuration) does not load PyAV.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "VideoSource": "base", "SegmentSink": "base", "StatusObserver": "base",
    "StreamStalled": "base", "StreamEnded": "base", "InvalidTransition": "base",
    "SourceUnreachable": "base", "ClipError": "base",
    "Clip": "clip_cut", "cut_clip": "clip_cut", "ClipWindow": "clip_plan",
    "TimedPacket": "packets", "StreamInfo": "packets", "Timeline": "packets",
    "open_source": "sources", "PyAVSource": "sources", "coalesce": "pieces",
    "Segmenter": "segmenter", "Cutter": "cutter", "Cut": "cutter", "mux_segment": "segmenter",
    "Transcoder": "transcode",
    "decode_segment": "decoder", "plan_for": "decoder",
    "SampleClock": "sampling", "keyframes_suffice": "sampling",
    "StreamStatus": "status", "StatusEvent": "status", "StatusTracker": "status",
    "LiveSegments": "resilience", "segments": "resilience",
    "DirectorySink": "segment_sinks", "read_index": "segment_sinks",
    "MemorySource": "testing", "MemorySink": "testing", "make_clip": "testing",
    "VideoSettings": "settings", "check_settings": "settings",
    "SourceSpec": "uri", "parse_uri": "uri",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'connectors.video' has no attribute {name!r}")
    return getattr(importlib.import_module(f"connectors.video.{module}"), name)


def __dir__() -> list[str]:
    return __all__
