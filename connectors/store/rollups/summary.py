"""Summaries, run pages and reports as the API and the CLI hand them out.

The ranges people write (``24h``, ISO dates, epoch seconds; see :mod:`.span`) are
resolved against the newest stored window of the selection, the buckets are laid on
the time zone's wall clock and capped, and the rows come from :class:`.RollupReads`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import sqlalchemy as sa

from connectors.store.models import AnswerRow, QueryRow
from connectors.store.rollups.newest import edge_minute, selected
from connectors.store.rollups.reads import Bucket, RollupReads
from connectors.store.rollups.span import LATEST, Grid, grid, parse_time, zone
from connectors.store.rollups.wire import Report, Run, RunPage, SeriesReport, Summary, SummaryBucket
from pipeline.errors import ConfigError

MAX_BUCKETS = 1500  # per response: 25 hours of minutes, 62 days of hours
RUN_CURSOR = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?~[0-9]{1,30}$"
"""A runs page position, ``START~ID`` (the answers list's cursor form)."""
MAX_ID = 2**63 - 1


def resolve(
    reads: RollupReads, since: str | None, until: str | None, tz: str,
    query_id: str | None = None, camera: str | None = None, default_since: str | None = "24h",
    strict: bool = False,
) -> tuple[float | None, float | None, float | None]:
    """(since, until, newest) in epoch s; None where nothing stored gives them a value.
    ``strict`` (the command line) refuses a time before 1970 and an empty or reversed
    range given both ways; the API's schema allows them, and they select nothing."""
    zone_ = zone(tz)
    newest = reads.newest(query_id, camera)
    first = since if since is not None else default_since
    start = 0.0 if first is None else parse_time(first, "since", newest, zone_, strict)
    end = newest if until is None else parse_time(until, "until", newest, zone_, strict)
    if strict and since is not None and until is not None and start is not None \
            and end is not None and end <= start:
        raise ConfigError("until", until, f"a time after since ({since})")
    if end is not None and until is None:
        end = min(end + 1e-6, LATEST)  # the newest window's step lies before its end
    return start, end, newest


def summarize(
    reads: RollupReads, *, query_id: str | None = None, camera: str | None = None,
    since: str | None = None, until: str | None = None, bucket: str = "1h", tz: str = "UTC",
    cap: int = MAX_BUCKETS,
) -> Summary:
    """Buckets of matched time, windows and runs over the selection."""
    start, end, newest = resolve(reads, since, until, tz, query_id, camera)
    if start is not None and end is not None and end <= start:
        start = end = None  # an empty range selects nothing (it read as a whole bucket)
    g = _onward(reads, _grid(start, end, bucket, tz, cap), end,
                [query_id] if query_id else [], [camera] if camera else [])
    buckets = [SummaryBucket.of(b, g) for b in reads.summary(g, query_id, camera)]
    return Summary(
        query_id=query_id, camera=camera, bucket=bucket, tz=tz,
        since=g.starts[0] if g.starts else None, until=g.end if g.starts else None,
        newest=newest, matched_s=round(sum(b.matched_s for b in buckets), 6),
        windows=sum(b.windows for b in buckets), runs=sum(b.runs for b in buckets),
        buckets=buckets, next_since=g.next_since,
    )


def run_page(
    reads: RollupReads, *, query_id: str | None = None, camera: str | None = None,
    since: str | None = None, until: str | None = None, limit: int = 100,
    cursor: str | None = None,
) -> RunPage:
    """Runs overlapping the range, newest start first, a page at a time."""
    start, end, _ = resolve(reads, since, until, "UTC", query_id, camera, default_since=None)
    if start is None or end is None:
        return RunPage(items=[], next_cursor=None)
    before = _position(cursor) if cursor else None
    found = reads.runs(start, end, query_id, camera, limit + 1, before)
    items = [Run.of(r) for r in found[:limit]]
    more = len(found) > limit
    return RunPage(items=items, next_cursor=f"{items[-1].start!r}~{items[-1].id}" if more else None)


def report(
    reads: RollupReads, *, since: str | None = None, until: str | None = None,
    bucket: str = "1h", tz: str = "UTC", queries: Sequence[str] = (),
    cameras: Sequence[str] = (), cap: int = MAX_BUCKETS,
) -> tuple[Report, Grid]:
    """Matched time per question and camera (everything stored without ``since``)."""
    start, end, _ = resolve(reads, since, until, tz, default_since=None)
    if since is None:
        start = _first(reads, queries, cameras)
    if until is None and (queries or cameras):
        end = _last(reads, queries, cameras)
    g = _onward(reads, _grid(start, end, bucket, tz, cap), end, queries, cameras)
    per_series = reads.per_series(g, queries=queries, cameras=cameras)
    questions = _questions(reads, {q for q, _ in per_series})
    series = []
    for (q, c), buckets in per_series.items():
        if (queries and q not in queries) or (cameras and c not in cameras):
            continue
        series.append(_series(q, questions.get(q, q), c, buckets, g))
    out = Report(since=g.starts[0] if g.starts else None, until=g.end if g.starts else None,
                 bucket=bucket, tz=tz, series=series, next_since=g.next_since)
    return out, g


def _position(cursor: str) -> tuple[float, int]:
    if not re.match(RUN_CURSOR, cursor):
        raise ConfigError("cursor", cursor, "next_cursor of a runs page (START~ID)")
    start, run_id = cursor.split("~")
    return float(start), min(int(run_id), MAX_ID)


def _grid(start: float | None, end: float | None, bucket: str, tz: str, cap: int) -> Grid:
    """The buckets of ``[start, end)``; none when nothing is stored to say where."""
    if start is None or end is None:
        return grid(0.0, 0.0, bucket, zone(tz), cap)
    return grid(start, end, bucket, zone(tz), cap)


def _onward(reads: RollupReads, g: Grid, end: float | None, queries: Sequence[str],
            cameras: Sequence[str]) -> Grid:
    """A capped page's ``next_since`` is None when nothing of the selection is stored
    from there to ``end``: a range reaching far past the newest answer (``until`` a
    year ahead) was paged through bucket by empty bucket. Pages stay contiguous."""
    if g.next_since is None or end is None:
        return g
    more = reads.seeks(lambda conn: edge_minute(
        conn, selected(conn, queries, cameras), at_least=g.next_since, below=end))
    return g if more is not None else replace(g, next_since=None)


def _series(q: str, question: str, c: str, buckets: list[Bucket], g: Grid) -> SeriesReport:
    return SeriesReport(
        query_id=q, question=question, camera=c,
        matched_s=round(sum(b.matched_s for b in buckets), 6),
        windows=sum(b.windows for b in buckets), runs=sum(b.runs for b in buckets),
        buckets=[SummaryBucket.of(b, g) for b in buckets],
    )


def _first(reads: RollupReads, queries: Sequence[str] = (),
           cameras: Sequence[str] = ()) -> float | None:
    """The first stored minute of the selection (a file camera's clock starts at 0, a
    live one's in 1970: a report of one starts where its own answers do)."""
    value = reads.seeks(lambda conn: edge_minute(conn, selected(conn, queries, cameras)))
    return None if value is None else float(value)


def _last(reads: RollupReads, queries: Sequence[str], cameras: Sequence[str]) -> float | None:
    """The end of the selection's last stored minute."""
    value = reads.seeks(lambda conn: edge_minute(
        conn, selected(conn, queries, cameras), last=True))
    return None if value is None else min(float(value) + 60.0, LATEST)


def _questions(reads: RollupReads, query_ids: set[str]) -> dict[str, str]:
    """Each query's question: its stored query, else one of its answers (Kafka mode may
    store answers of queries the store never saw)."""
    with reads.engine.connect() as conn:
        rows = conn.execute(sa.select(QueryRow.id, QueryRow.question)).all()
        found = {r[0]: r[1] for r in rows}
        for q in sorted(query_ids - set(found)):
            stmt = sa.select(AnswerRow.question).where(AnswerRow.query_id == q).limit(1)
            found[q] = conn.execute(stmt).scalar() or q
    return found
