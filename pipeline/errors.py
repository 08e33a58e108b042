"""The exception tree of feedwatch.

    FeedwatchError
    ├── ConfigError          bad user input or settings (CLI maps it to exit code 2)
    ├── ModelLoadError       a model spec that cannot be loaded (missing weights, offline)
    ├── MediaError           anything about video
    │   ├── SourceError      a camera cannot be opened / read
    │   └── DecodeError      a segment cannot be decoded (names camera and seq)
    ├── MessageError         a bus message that cannot be parsed (goes to dead letter)
    ├── StoreError           the SQL store failed (unreachable, or an outage)
    │   ├── StoreUnreachable no connection to it (refused, timed out, name not found)
    │   └── StoreDataError   it refused a value: a constraint, or data it cannot hold
    ├── BusError             the message bus (in-process or Kafka) failed
    ├── HookError            an alert delivery failed
    └── BackpressureError    a sink asks the caller to retry later (``retry_after``)
"""

from __future__ import annotations


class FeedwatchError(Exception):
    """Root of every error feedwatch raises on purpose."""


class ConfigError(FeedwatchError, ValueError):
    """Bad input: the message names the field, the value and what is allowed."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        super().__init__(field, value, allowed)  # the arguments stay in args: it pickles
        self.field, self.value, self.allowed = field, value, allowed

    def __str__(self) -> str:
        return f"{self.field}: {self.value!r} is not allowed; {self.allowed}"


class ModelLoadError(FeedwatchError):
    """A model spec could not be turned into a loaded model."""


class MediaError(FeedwatchError):
    """Base for video source and decode problems."""


class SourceError(MediaError):
    """A camera source could not be opened or read."""


def camera_reason(camera: str, error: BaseException | str) -> str:
    """What went wrong with ``camera``, without the leading ``camera '<id>': `` the video
    sources' errors carry, so a line that names the camera names it once."""
    text = str(error) or type(error).__name__
    lead = f"camera {camera!r}: "
    return text[len(lead):] if text.startswith(lead) else text


class DecodeError(MediaError):
    """A segment could not be decoded."""

    def __init__(self, camera: str, seq: int, reason: str) -> None:
        self.camera = camera
        self.seq = seq
        self.reason = reason
        super().__init__(f"camera {camera!r} segment {seq}: {reason}")


class MessageError(FeedwatchError):
    """A bus message could not be parsed or has an unknown schema."""


class StoreError(FeedwatchError):
    """The SQL store failed. The message never holds SQL text or parameters."""


class StoreUnreachable(StoreError):
    """No connection to the store could be opened: the database is down, starting, or
    elsewhere than the URL says. Long-running roles wait for it; one-shot commands fail."""


class StoreDataError(StoreError):
    """The store refused the data (a constraint, or a value it cannot hold such as a NUL
    character in PostgreSQL text): the caller's input, not an outage, so retrying the
    same write cannot succeed (the API answers 422, not 503)."""


class BusError(FeedwatchError):
    """The message bus failed."""


class HookError(FeedwatchError):
    """An alert delivery failed."""


class BackpressureError(FeedwatchError):
    """A sink cannot take more now; retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: float, reason: str = "") -> None:
        self.retry_after = retry_after
        super().__init__(f"retry after {retry_after:.1f}s{': ' + reason if reason else ''}")
