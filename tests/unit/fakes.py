"""Fakes shared by unit tests: a producer that records what is sent, and the frames of fake
segments whose value is JSON (a red rectangle marks the object)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from connectors.bus.base import Producer
from connectors.kafka.base import ProduceError
from pipeline.errors import BusError, DecodeError
from pipeline.types import Frame, Segment


class RecordingProducer(Producer):
    """Records every send; refuses the first ``fail_flushes`` flushes (``math.inf``: all) with
    ``error``, as a broker that is away; ``acked`` counts the records sent at each good flush."""

    def __init__(
        self, fail_flushes: float = 0, error: type[BusError] = ProduceError
    ) -> None:
        self.sent: list[tuple[str, bytes, bytes | None, list[tuple[str, bytes]]]] = []
        self.acked: list[int] = []
        self.fail_flushes, self.error = fail_flushes, error
        self.closed = False

    def send(
        self, topic: str, key: bytes, value: bytes | None, headers: Sequence[tuple[str, bytes]] = ()
    ) -> None:
        self.sent.append((topic, key, value, list(headers)))

    def flush(self, timeout: float | None = None) -> None:
        if self.fail_flushes:
            self.fail_flushes -= 1
            raise self.error("broker away")
        self.acked.append(len(self.sent))

    def close(self) -> None:
        self.closed = True


def segment_json(segment: Segment, reason: str = "not a video") -> Any:
    """The JSON value of a fake segment; one that is not JSON fails to decode."""
    try:
        return json.loads(segment.data)
    except ValueError as exc:
        raise DecodeError(segment.camera, segment.seq, reason) from exc


def red_frame(camera: str, t: float, red: bool) -> Frame:
    """A grey 64x48 frame, with a red rectangle where ``red``."""
    rgb = np.full((48, 64, 3), 90, np.uint8)
    if red:
        rgb[10:22, 30:46] = (230, 20, 20)
    return Frame(camera, float(t), rgb)
