"""Decode ahead: the next batch's segments are decoded while the current one is encoded.

A batch's work is serial — decode its segments, one encoder call, the due windows —
and the encoder is most of it. The driver (the embedded loop) already holds the next
batch when it hands the current one over, so its segments can be decoded meanwhile:
libav decodes and converts without the GIL while torch runs the encoder in its own
threads. :class:`DecodeAhead` does that with ONE worker thread and ONE batch in flight:

* the records of a batch are decoded in record order, and a batch only after the
  previous one was decoded, so a camera's segments still reach the decoder (and the
  decoder state it carries between segments) in order;
* each record's outcome is kept, error included, and raised where decoding it inline
  would have raised: a bad segment is still that record's dead letter, with its context,
  and the other records of the batch go on;
* at most one batch of frames is held ahead (memory stays bounded), and ``close`` waits
  for a decode in flight — a bounded piece of work — then ends the thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from connectors.bus import messages as msg
from connectors.bus.base import Record
from pipeline.types import Frame, Segment

log = logging.getLogger(__name__)

Position = tuple[str, int, int]
"""A record's place in the bus: topic, partition, offset."""


def position(record: Record) -> Position:
    return record.topic, record.partition, record.offset


@dataclass(frozen=True)
class Decoded:
    """One segment record decoded ahead: its segment and frames, or what raised first."""

    segment: Segment | Exception
    frames: list[Frame] | Exception | None = None  # None: the message did not decode

    def take_segment(self) -> Segment:
        """The segment; the message's decode error raised as inline decoding raises it."""
        if isinstance(self.segment, Exception):
            raise self.segment
        return self.segment

    def take_frames(self) -> list[Frame]:
        """The sampled frames; the segment's decode error raised here."""
        if isinstance(self.frames, Exception):
            raise self.frames
        assert self.frames is not None, "take_segment raises first"
        return self.frames


def decode_record(record: Record, frames_of: Callable[[Segment], list[Frame]]) -> Decoded:
    """What ``PerceiveCore`` would decode of ``record``, each step's error kept."""
    try:
        segment = msg.decode_segment(record.key, record.value, record.headers)
    except Exception as exc:  # raised again for this record alone, when it is admitted
        return Decoded(exc)
    try:
        return Decoded(segment, frames_of(segment))
    except Exception as exc:
        return Decoded(segment, exc)


class DecodeAhead:
    """One batch of segment records decoded ahead on one worker thread (see module)."""

    def __init__(self, decode: Callable[[Record], Decoded], *,
                 is_segment: Callable[[Record], bool] = lambda r: True) -> None:
        self.decode = decode
        self.is_segment = is_segment
        self._pool: ThreadPoolExecutor | None = None
        self._ahead: tuple[list[Position], Future[list[Decoded | None]]] | None = None
        self._closed = False

    def submit(self, records: Sequence[Record]) -> None:
        """Start decoding ``records`` (a batch the caller hands over next); a batch
        submitted before and never taken is finished first, then dropped."""
        self._drop()
        if self._closed or not any(map(self.is_segment, records)):
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="decode-ahead")
        batch = list(records)
        self._ahead = ([position(r) for r in batch], self._pool.submit(self._decode_all, batch))

    def take(self, records: Sequence[Record]) -> list[Decoded | None] | None:
        """Per record, what was decoded ahead (None for a record that is no segment);
        None when ``records`` is not the batch submitted (the caller decodes inline)."""
        if self._ahead is None:
            return None
        keys, future = self._ahead
        self._ahead = None
        if keys != [position(r) for r in records]:
            _wait(future)
            return None
        return _wait(future)

    def close(self) -> None:
        """Finish a decode in flight, drop it, end the worker thread (idempotent)."""
        self._closed = True
        self._drop()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _drop(self) -> None:
        if self._ahead is not None:
            _wait(self._ahead[1])
            self._ahead = None

    def _decode_all(self, records: list[Record]) -> list[Decoded | None]:
        return [self.decode(r) if self.is_segment(r) else None for r in records]


def _wait(future: Future[list[Decoded | None]]) -> list[Decoded | None] | None:
    """The batch's outcomes; None if the worker itself failed (each record's own errors
    are kept in its outcome, so this is a bug, logged: the caller decodes inline)."""
    try:
        return future.result()
    except Exception:
        log.exception("decoding ahead failed; the batch is decoded inline")
        return None
