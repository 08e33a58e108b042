"""Time ranges and buckets of summaries, as people write them.

``since``/``until`` take epoch seconds (``1733140800``), ISO-8601 (``2026-12-02``,
``2026-12-02T08:00:00Z``; without an offset, in the summary's ``tz``) or a duration
(``90s``, ``30m``, ``24h``, ``7d``, ``2w``) counted back from the newest stored window,
so a file run, whose clock starts at 0, is asked the same way as a live camera.
Buckets (``1m``, ``5m``, ``1h``, ``1d``) are aligned to the wall clock of ``tz`` (an
IANA name): a day bucket runs from local midnight to local midnight, 23 or 25 hours
across a DST change. The patterns here are the ones the API publishes, so everything
they admit parses.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pipeline.errors import ConfigError

BUCKETS = {"1m": 60, "5m": 300, "1h": 3600, "1d": 86400}
EARLIEST, LATEST = 0.0, 1e11  # the range of stream times a summary covers (1970..5138)
_EPOCH = r"-?\d{1,11}(?:\.\d{1,6})?"
_DURATION = r"\d{1,7}(?:\.\d{1,3})?[smhdw]"
_CLOCK = (
    r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?)?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?"
)
_ISO = r"[1-9]\d{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])" + _CLOCK
_MONTH_DAY = (  # the days each month has (February's 29th in every year)
    r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31|02-29)"
)
TIME_PATTERN = f"^(?:{_EPOCH}|{_DURATION}|[1-9]\\d{{3}}-{_MONTH_DAY}{_CLOCK})$"
"""What the API's schema publishes: no 30th of February, no 31st of April."""
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_ISO_PARTS = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(\.\d+)?)?)?(Z|([+-])(\d\d):?(\d\d))?$"
)
TIME_HELP = (
    "epoch seconds, ISO-8601 (2026-12-02T08:00Z) or a duration back from the newest window (24h)"
)


@lru_cache(maxsize=1)
def timezones() -> tuple[str, ...]:
    """The IANA names ``tz`` accepts."""
    return tuple(sorted(available_timezones()))


def zone(name: str, field: str = "tz") -> ZoneInfo:
    if name not in timezones():
        raise ConfigError(field, name, "an IANA time zone name such as UTC or Europe/Berlin")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(field, name, "an IANA time zone name such as UTC") from exc


def parse_time(value: str | float, field: str, newest: float | None, tz: ZoneInfo,
               strict: bool = False) -> float | None:
    """Epoch seconds of ``value``; None for a duration when nothing is stored yet. A time
    before 1970 reads as 0 (the schema's pattern allows it), or is refused (``strict``:
    the command line, whose user would not see it silently moved)."""
    text = str(value).strip()
    if re.fullmatch(_DURATION, text):
        seconds = float(text[:-1]) * _UNITS[text[-1]]
        return None if newest is None else _clamp(newest - seconds)
    if re.fullmatch(_EPOCH, text):
        t = float(text)
    elif re.fullmatch(_ISO, text):
        t = _iso(text, tz, field, strict)
    else:
        raise ConfigError(field, value, TIME_HELP)
    if strict and t < EARLIEST:  # it would silently mean 0
        raise ConfigError(field, value, "a time at or after 1970-01-01T00:00:00Z (epoch 0)")
    return _clamp(t)


def _iso(text: str, tz: ZoneInfo, field: str, strict: bool) -> float:
    """ISO-8601 as epoch seconds. A day past the month's end (2026-02-30) is refused,
    naming the field; the API's pattern already refuses all but the 29th of February in
    a common year, which rolls over to 1 March there (a schema-valid value is never a
    422) and is refused on the command line (``strict``)."""
    m = _ISO_PARTS.match(text)
    assert m is not None
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    clock = timedelta(hours=int(m[4] or 0), minutes=int(m[5] or 0), seconds=int(m[6] or 0),
                      microseconds=round(float(m[7] or 0) * 1e6))
    try:
        local = datetime(year, month, day, tzinfo=UTC) + clock
    except ValueError as exc:  # day is out of range for month
        if strict:
            raise ConfigError(field, text, f"a date that exists ({exc})") from None
        local = datetime(year, month, 1, tzinfo=UTC) + timedelta(days=day - 1) + clock
    if m[8] is None:
        return local.replace(tzinfo=tz).timestamp()
    offset = timedelta(hours=int(m[10] or 0), minutes=int(m[11] or 0))
    sign = -1 if m[9] == "-" else 1
    return local.replace(tzinfo=timezone(sign * offset)).timestamp()


def _clamp(t: float) -> float:
    return min(max(t, EARLIEST), LATEST)


@dataclass(frozen=True)
class Grid:
    """Buckets covering ``[since, until)``: ``starts`` (epoch s) and the end of the last."""

    bucket: str
    tz: ZoneInfo
    starts: tuple[float, ...]
    end: float
    next_since: float | None  # where the next page starts when the cap cut the grid

    @property
    def size(self) -> int:
        return BUCKETS[self.bucket]

    def bounds(self) -> list[tuple[float, float]]:
        return list(zip(self.starts, (*self.starts[1:], self.end), strict=False))

    def local_key(self, t: float) -> int:
        """The bucket's local wall-clock start, as naive epoch seconds (the SQL group key)."""
        return _floor(int(t) + offset_at(self.tz, t), self.size)

    def label(self, t: float) -> str:
        return datetime.fromtimestamp(t, self.tz).isoformat()


def grid(since: float, until: float, bucket: str, tz: ZoneInfo, cap: int) -> Grid:
    """The buckets from the one holding ``since`` up to ``until``, at most ``cap``."""
    if bucket not in BUCKETS:
        raise ConfigError("bucket", bucket, "one of " + ", ".join(BUCKETS))
    starts: list[float] = []
    t = bucket_start(since, bucket, tz)
    while t < until and len(starts) < cap:
        starts.append(t)
        t = _next(t, bucket, tz)
    next_since = t if t < until else None
    return Grid(bucket, tz, tuple(starts), t, next_since)


def bucket_start(t: float, bucket: str, tz: ZoneInfo) -> float:
    """Start of the bucket holding ``t``, on ``tz``'s wall clock."""
    size = BUCKETS[bucket]
    if size == 86400:
        return _midnight(datetime.fromtimestamp(t, tz).date(), tz)
    whole = math.floor(t)
    return float(whole - (whole + offset_at(tz, t)) % size)


def _next(t: float, bucket: str, tz: ZoneInfo) -> float:
    if BUCKETS[bucket] == 86400:
        return _midnight(datetime.fromtimestamp(t, tz).date() + timedelta(days=1), tz)
    return t + BUCKETS[bucket]


def _midnight(day: date, tz: ZoneInfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


def offset_at(tz: ZoneInfo, t: float) -> int:
    """``tz``'s UTC offset at ``t``, in whole seconds."""
    delta = datetime.fromtimestamp(t, UTC).astimezone(tz).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def offsets(tz: ZoneInfo, since: float, until: float) -> list[tuple[float, int]]:
    """``tz``'s offset changes in ``[since, until]``: (from time, offset), first from since."""
    out = [(since, offset_at(tz, since))]
    t = since
    while t < until:  # daily probes: zones change offset months apart, not within a day
        lo, t = t, min(t + 86400, until)
        off = offset_at(tz, t)
        if off != out[-1][1]:
            hi = t
            while hi - lo > 60:  # bisect to the minute
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if offset_at(tz, mid) == out[-1][1] else (lo, mid)
            out.append((math.floor(hi / 60) * 60, off))
    return out


def _floor(x: int, size: int) -> int:
    return x - x % size
