"""A synthetic answer stream with known runs, for the answers-over-time tests.

One question ("dock") on one camera, a 6 s window every 2 s (windows overlap), on a
clock starting at T0 (a UTC hour). Written out by hand, with the truth beside it:

* t 2..60 no; run A: yes 62..180 (60 windows, [60, 180));
* 182..240 no; run B1: yes 242..300; 302..306 missing (3 steps unanswered: the run ends);
* run B2: yes 308..318, 320 and 322 missing (2 steps: the run goes on), yes 324..340;
  a restart: answers resume at 341, 343, .. 401 (odd ends; 341's step overlaps 340's
  by one second, counted once);
* 403..421 no; run C: yes 423..441 (version 1); run D: yes 443..481 (version 2, a
  new run although nothing else changed; 443..451 backfilled); 483..499 no.

:func:`deliveries` shuffles it, cuts it into batches and redelivers a fifth of it;
:func:`store_embedded` (the sink directly) and :func:`store_via_kafka_sink` (records
through the answers consumer both modes run) store it,
:func:`check_truth` compares the rollups with the truth.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from connectors.bus.base import Record
from connectors.bus.deadletter import DeadLetters
from connectors.bus.messages import encode_answer
from connectors.store import AnswerSink, Store
from connectors.store.rollups.reads import RollupReads
from connectors.store.rollups.span import grid, zone
from pipeline.types import Answer
from tests.unit.fakes import RecordingProducer
from workers.answers_consumer import AnswersConsumer

T0 = 1_699_999_200.0  # 2023-11-14T22:00:00Z
EVERY, WINDOW = 2.0, 6.0
QUERY, CAMERA = "dock", "cam1"


@dataclass(frozen=True)
class TrueRun:
    start: float
    end: float
    windows: int
    matched_s: float
    version: int
    backfilled: int = 0


RUNS = (
    TrueRun(T0 + 60, T0 + 180, 60, 120.0, 1),
    TrueRun(T0 + 240, T0 + 300, 30, 60.0, 1),
    TrueRun(T0 + 306, T0 + 401, 46, 91.0, 1),
    TrueRun(T0 + 421, T0 + 441, 10, 20.0, 1),
    TrueRun(T0 + 441, T0 + 481, 20, 40.0, 2, backfilled=5),
)
MATCHED = tuple((T0 + a, T0 + b) for a, b in ((60, 180), (240, 300), (306, 318), (322, 401),
                                               (421, 481)))
"""The matched time: the union of the yes windows' steps."""


def _plan() -> list[tuple[int, bool, int]]:
    """(end offset, yes, version) of every answer, in time order."""
    out = [(t, False, 1) for t in range(2, 61, 2)]
    out += [(t, True, 1) for t in range(62, 181, 2)]
    out += [(t, False, 1) for t in range(182, 241, 2)]
    out += [(t, True, 1) for t in range(242, 301, 2)]
    out += [(t, True, 1) for t in (*range(308, 319, 2), *range(324, 341, 2))]
    out += [(t, True, 1) for t in range(341, 402, 2)]
    out += [(t, False, 1) for t in range(403, 422, 2)]
    out += [(t, True, 1) for t in range(423, 442, 2)]
    out += [(t, True, 2) for t in range(443, 482, 2)]
    out += [(t, False, 2) for t in range(483, 500, 2)]
    return out


def answer(t: int, yes: bool, version: int) -> Answer:
    end = T0 + t
    return Answer(
        QUERY, "is the dock door open?", CAMERA, end - WINDOW, end, end + 0.5, "clip",
        "yes" if yes else "no", yes, 0.3 + 0.001 * t if yes else 0.1, (end - 1,),
        ((0.0, 0.0, 1.0, 1.0),), 10, 5.0,
        backfilled=version == 2 and 443 <= t <= 451, every=EVERY, query_version=version,
    )


def stream() -> list[Answer]:
    return [answer(*p) for p in _plan()]


def deliveries(seed: int = 29, batch: int = 7) -> list[list[Answer]]:
    """The stream out of order, in batches, a fifth of it delivered again (some twice
    in one batch)."""
    rng = random.Random(seed)
    answers = stream()
    sent = answers + rng.sample(answers, len(answers) // 5)
    rng.shuffle(sent)
    return [sent[i:i + batch] for i in range(0, len(sent), batch)]


def windows_in(lo: float, hi: float) -> int:
    """Answered windows whose step starts in ``[lo, hi)``."""
    return sum(1 for a in stream() if lo <= a.window_end - EVERY < hi)


def matched_in(lo: float, hi: float) -> float:
    return sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in MATCHED)


def runs_started_in(lo: float, hi: float) -> int:
    return sum(1 for r in RUNS if lo <= r.start < hi)


def store_embedded(store: Store) -> None:
    """Answers straight into the store's sink (add, then flush per batch), as backfill
    and any in-process writer do."""
    sink = AnswerSink(store)
    for batch in deliveries():
        for a in batch:
            sink.add(a)
        sink.flush()


def store_via_kafka_sink(store: Store) -> None:
    """As both modes store answers: records of the answers topic through the answers
    consumer (the in-process bus of ``feedwatch run`` and Kafka feed it alike)."""
    handler = AnswersConsumer(AnswerSink(store), DeadLetters(RecordingProducer(), "dl"))
    offset = 0
    for batch in deliveries(seed=7, batch=11):
        records = []
        for a in batch:
            m = encode_answer(a)
            records.append(Record("answers", 0, offset, m.key, m.value, m.headers, 0.0))
            offset += 1
        handler(records)


def check_truth(store: Store) -> None:
    """Runs and summaries match the synthetic stream's truth to the second."""
    reads = RollupReads(store.engine)
    runs = sorted(reads.runs(0, 1e11, limit=100), key=lambda r: r.start)
    got = [(r.start, r.end, r.windows, r.matched_s, r.query_version, r.backfilled) for r in runs]
    want = [(r.start, r.end, r.windows, r.matched_s, r.version, r.backfilled) for r in RUNS]
    assert got == want
    assert [r.open for r in runs] == [False] * 5 and runs[0].first_answer_id is not None
    utc = zone("UTC")
    minutes = grid(T0 - 60, T0 + 600, "1m", utc, 1500)
    buckets = reads.summary(minutes, QUERY, CAMERA)
    assert [(b.matched_s, b.windows, b.runs) for b in buckets] == [
        (matched_in(lo, hi), windows_in(lo, hi), runs_started_in(lo, hi))
        for lo, hi in minutes.bounds()
    ]
    assert sum(b.matched_s for b in buckets) == 331.0
    kolkata = grid(T0 - 7200, T0 + 7200, "1h", zone("Asia/Kolkata"), 100)
    hours = reads.summary(kolkata, QUERY)
    assert [b.start - T0 for b in hours] == [-9000, -5400, -1800, 1800, 5400]
    assert [b.matched_s for b in hours] == [0, 0, 331.0, 0, 0]
    day = reads.summary(grid(T0, T0 + 1, "1d", zone("America/New_York"), 5), camera=CAMERA)
    assert [(b.matched_s, b.windows, b.runs) for b in day] == [(331.0, len(stream()), 5)]


DOC = Path(__file__).resolve().parents[1] / "docs" / "answers-over-time.md"
DOC_NOW = {"sqlite": ("'now'", "'2023-11-15 00:00:00'"),
           "postgresql": ("now()", "TIMESTAMPTZ '2023-11-15 00:00:00+00'")}


def documented_queries(dialect: str) -> list[str]:
    """The example SQL of docs/answers-over-time.md for ``dialect``, with ``now`` read as
    2023-11-15 00:00 UTC (just after the synthetic stream)."""
    blocks = re.findall(r"```sql\n-- (\w+)\n(.*?)```", DOC.read_text(), flags=re.S)
    old, new = DOC_NOW[dialect]
    return [sql.replace(old, new) for kind, sql in blocks if kind == dialect]


def check_documented_queries(store: Store) -> None:
    """Each example query of the docs runs and sees the stream's truth."""
    dialect = store.engine.dialect.name
    with store.engine.connect() as conn:
        hourly, runs, hours, rate = (
            conn.execute(sa.text(q.strip().rstrip(";"))).all() for q in documented_queries(dialect)
        )
    assert [round(float(r[1]) * 60, 6) for r in hourly] == [331.0]
    assert sorted(float(r[3]) for r in runs) == [95.0, 120.0]  # runs B2 and A
    assert [int(r[0]) for r in hours] == [23 if dialect == "postgresql" else 22]  # Berlin
    assert [int(r[2]) for r in rate] == [len(stream())]


def reference_runs(answers: list[Answer]) -> list[tuple[float, float, int, float]]:
    """Runs by the definition, from the answers sorted by window end, independently of
    the store: (start, end, windows, matched_s) each."""
    runs: list[list[Answer]] = []
    prev: Answer | None = None
    for a in answers:
        starts_run = not (prev is not None and prev.matched and prev.query_version
                          == a.query_version and a.window_end - a.every - prev.window_end
                          <= 2 * a.every + 1e-6)
        if a.matched:
            if starts_run:
                runs.append([])
            runs[-1].append(a)
        prev = a
    return [
        (r[0].window_end - r[0].every, r[-1].window_end, len(r),
         round(union([(a.window_end - a.every, a.window_end) for a in r]), 6))
        for r in runs
    ]


def union(steps: list[tuple[float, float]]) -> float:
    total, reach = 0.0, float("-inf")
    for lo, hi in sorted(steps):
        if hi > reach:
            total += hi - max(lo, reach)
            reach = hi
    return total
