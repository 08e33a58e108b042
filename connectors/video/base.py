"""The video family's interfaces and exceptions (nothing else lives here).

A :class:`VideoSource` yields :class:`~connectors.video.packets.TimedPacket` objects
of one camera's video stream; a :class:`SegmentSink` receives finished segments with
add/flush semantics (batch in ``add``, write in ``flush``). Media errors come from
:mod:`pipeline.errors` (``SourceError``, ``DecodeError``); the ones below refine them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING

from pipeline.errors import FeedwatchError, MediaError, SourceError
from pipeline.types import Segment

if TYPE_CHECKING:
    import av

    from connectors.video.packets import StreamInfo, TimedPacket
    from connectors.video.status import StatusEvent

StatusObserver = Callable[["StatusEvent"], None]
"""Receives every status change of a stream (the dashboard subscribes later)."""


class SourceUnreachable(SourceError):
    """A transient failure (refused, reset, timed out, server error): worth retrying."""


class StreamStalled(SourceUnreachable):
    """No packet arrived for longer than the stall timeout."""


class StreamEnded(SourceUnreachable):
    """A live source closed its stream (EOF); the caller may reconnect."""


class ClipError(MediaError):
    """No incident clip can be cut: no segment, or no keyframe before its end."""


class InvalidTransition(FeedwatchError, ValueError):
    """A stream status change that the state machine does not allow (a bug)."""


class VideoSource(ABC):
    """One opened camera: iterate it for timestamped packets of its video stream."""

    camera: str
    live: bool
    """True for network/device feeds (reconnect on loss); False for plain files."""

    @property
    @abstractmethod
    def info(self) -> StreamInfo:
        """Codec, size and timing of the video stream."""

    @property
    @abstractmethod
    def stream(self) -> av.video.stream.VideoStream:
        """The demuxed video stream (template for remuxing)."""

    @abstractmethod
    def __iter__(self) -> Iterator[TimedPacket]:
        """Packets in decode order; raises ``SourceError`` subclasses on failure."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection or file; idempotent."""

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SegmentSink(ABC):
    """Where finished segments go: ``add`` batches, ``flush`` writes (at commit time).

    ``flush`` may raise :class:`pipeline.errors.BackpressureError` with
    ``retry_after``; the caller waits and flushes again (nothing is lost).
    """

    @abstractmethod
    def add(self, segment: Segment) -> None:
        """Queue one segment for the next flush."""

    @abstractmethod
    def flush(self) -> None:
        """Write every queued segment durably."""

    def close(self) -> None:
        """Flush what is left and release resources."""
        self.flush()
