"""Answers over time at scale: summary latency from the rollups, and what keeping the
rollups costs the writer (``feedwatch bench summary``; no click here).

:func:`fill` bulk-loads ``cameras × questions`` series of ``windows`` answers 1 s apart
(yes and no stretches of random length) with COPY on PostgreSQL, and the rollups those
answers imply, computed column-wise; :func:`verify` rebuilds one series with the
store's own maintenance code and compares, so the loaded rollups are exactly what the
store would have written. :func:`measure_reads` times the two summaries of issue 29
(what ``GET /api/answers/summary`` calls); :func:`measure_writes` stores interleaved
answers through :class:`~connectors.store.AnswerSink` with rollups off and on,
alternating chunks so table growth and cache state weigh on both alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from connectors.store import AnswerSink, Store
from connectors.store.models import AnswerRow
from connectors.store.rollups.reads import RollupReads
from connectors.store.rollups.rebuild import rebuild_rollups
from connectors.store.rollups.schema import MINUTES, RUNS
from connectors.store.rollups.summary import summarize
from pipeline.types import Answer

T_END = 1_767_225_600  # 2026-01-01T00:00Z: the newest bulk-loaded window
ANSWERS: Any = AnswerRow.__table__
Log = Callable[[str], None]
ANSWER_COLUMNS = ("query_id", "camera_id", "question", "window_start", "window_end",
                  "evaluated_at", "answerer", "text", "matched", "score", "frames", "rois",
                  "visual_tokens", "latency_ms", "model_ids", "backfilled", "every",
                  "query_version")


@dataclass(frozen=True)
class Shape:
    cameras: int = 10
    questions: int = 5
    windows: int = 200_000
    seed: int = 0

    def series(self) -> list[tuple[str, str]]:
        return [(f"q{q}", f"cam{c:02d}") for q in range(self.questions)
                for c in range(self.cameras)]


def stretches(rng: np.random.Generator, n: int) -> np.ndarray:
    """Yes/no per window: no stretches of ~5 min, yes stretches of ~1 min."""
    out = np.zeros(n, dtype=bool)
    i, yes = 0, False
    while i < n:
        length = int(rng.geometric(1 / (60 if yes else 300)))
        out[i:i + length] = yes
        i, yes = i + length, not yes
    return out


def synthetic(shape: Shape, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(window ends, yes, score) of series ``index``."""
    rng = np.random.default_rng(shape.seed * 1000 + index)
    ends = T_END - shape.windows + np.arange(1, shape.windows + 1, dtype=np.int64)
    yes = stretches(rng, shape.windows)
    score = np.round(np.where(yes, 0.3, 0.1) + rng.normal(0, 0.02, shape.windows), 4)
    return ends, yes, score


def _answer_lines(key: tuple[str, str], ends: np.ndarray, yes: np.ndarray,
                  score: np.ndarray) -> str:
    q, c = key
    head = f"{q}\t{c}\tis the dock door open?\t"
    tail = "\t[]\t[]\t513\t18.0\t{}\tf\t1\t1\n"
    return "".join(
        f"{head}{e - 4}\t{e}\t{e}.2\tclip\t{'yes' if y else 'no'}\t{'t' if y else 'f'}\t{s}{tail}"
        for e, y, s in zip(ends.tolist(), yes.tolist(), score.tolist(), strict=True)
    )


def rollups_of(key: tuple[str, str], ends: np.ndarray, yes: np.ndarray,
               score: np.ndarray) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The minute rows and runs of one contiguous 1-s series, column-wise."""
    q, c = key
    minute = (ends - 1) // 60 * 60
    cut = np.flatnonzero(np.diff(minute)) + 1
    first = np.concatenate(([0], cut))
    edges = np.flatnonzero(np.diff(np.concatenate(([0], yes.astype(np.int8), [0]))))
    r0, r1 = edges[0::2], edges[1::2] - 1
    started = np.unique((ends[r0] - 1) // 60 * 60, return_counts=True)
    runs_at = dict(zip(started[0].tolist(), started[1].tolist(), strict=True))
    counts = np.diff(np.concatenate((first, [len(ends)])))
    yes_n = np.add.reduceat(yes.astype(np.int64), first)
    minutes = [
        {"query_id": q, "camera_id": c, "minute": int(m), "windows": int(n), "yes_windows": int(y),
         "matched_s": float(y), "runs_started": runs_at.get(int(m), 0), "score_sum": float(ss),
         "scored": int(n), "max_score": float(mx), "backfilled": 0, "last_end": float(le)}
        for m, n, y, ss, mx, le in zip(
            minute[first].tolist(), counts.tolist(), yes_n.tolist(),
            np.add.reduceat(score, first).tolist(), np.maximum.reduceat(score, first).tolist(),
            np.maximum.reduceat(ends, first).tolist(), strict=True)
    ]
    peaks = [float(score[a:b + 1].max()) for a, b in zip(r0.tolist(), r1.tolist(), strict=True)]
    runs = [
        {"query_id": q, "camera_id": c, "query_version": 1, "every": 1.0,
         "run_start": float(ends[a] - 1), "run_end": float(ends[b]), "first_end": float(ends[a]),
         "windows": int(b - a + 1), "matched_s": float(b - a + 1), "peak_score": float(p),
         "backfilled": 0}
        for a, b, p in zip(r0.tolist(), r1.tolist(), peaks, strict=True)
    ]
    return minutes, runs


def fill(store: Store, shape: Shape, log: Log) -> float:
    """Bulk-load the answers and their rollups; seconds taken."""
    t0 = time.perf_counter()
    for i, key in enumerate(shape.series()):
        ends, yes, score = synthetic(shape, i)
        minutes, runs = rollups_of(key, ends, yes, score)
        with store.engine.begin() as conn:
            _load_answers(conn, key, ends, yes, score)
            conn.execute(sa.insert(MINUTES), minutes)
            conn.execute(sa.insert(RUNS), runs)
        log(f"loaded {key[0]}/{key[1]}: {i + 1}/{len(shape.series())} series")
    with store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("ANALYZE"))
    return time.perf_counter() - t0


def _load_answers(conn: Any, key: tuple[str, str], ends: np.ndarray, yes: np.ndarray,
                  score: np.ndarray) -> None:
    """COPY on PostgreSQL; an executemany elsewhere (small runs on SQLite)."""
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY answers ({', '.join(ANSWER_COLUMNS)}) FROM STDIN") as copy:
            copy.write(_answer_lines(key, ends, yes, score))
        return
    rows = [
        {"query_id": key[0], "camera_id": key[1], "question": "is the dock door open?",
         "window_start": e - 4.0, "window_end": float(e), "evaluated_at": e + 0.2,
         "answerer": "clip", "text": "yes" if y else "no", "matched": y, "score": sc,
         "frames": [], "rois": [], "visual_tokens": 513, "latency_ms": 18.0, "model_ids": {},
         "backfilled": False, "every": 1.0, "query_version": 1}
        for e, y, sc in zip(ends.tolist(), yes.tolist(), score.tolist(), strict=True)
    ]
    conn.execute(sa.insert(ANSWERS), rows)


def verify(store: Store, shape: Shape) -> dict[str, Any]:
    """Rebuild the first series with the store's own code and compare with the load."""
    key = shape.series()[0]
    before = _rollup_rows(store, key)
    t0 = time.perf_counter()
    result = rebuild_rollups(store.engine, only=[key])
    seconds = time.perf_counter() - t0
    return {"series": f"{key[0]}/{key[1]}", "equal": _rollup_rows(store, key) == before,
            "rebuild_answers_per_s": round(result.answers / seconds)}


def _rollup_rows(store: Store, key: tuple[str, str]) -> list[tuple[Any, ...]]:
    out = []
    with store.engine.connect() as conn:
        for table, order, skip in ((MINUTES, MINUTES.c.minute, ()), (RUNS, RUNS.c.run_start,
                                                                   ("id",))):
            cols = [col for col in table.c if col.name not in skip]
            stmt = sa.select(*cols).where(table.c.query_id == key[0], table.c.camera_id == key[1])
            for row in conn.execute(stmt.order_by(order)):
                out.append(tuple(round(v, 6) if isinstance(v, float) else v for v in row))
    return out


def timings(call: Callable[[], Any], repeats: int) -> dict[str, float]:
    call()  # warm
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": round(float(np.percentile(times, 50)), 2),
            "p95_ms": round(float(np.percentile(times, 95)), 2), "n": repeats}


def measure_reads(store: Store, shape: Shape, repeats: int) -> dict[str, dict[str, float]]:
    """The issue's two summaries (and all questions at once), as the API computes them."""
    reads = RollupReads(store.engine)
    series = iter(_cycle(shape.series()))
    return {
        "7d_hourly_one_camera": timings(lambda: summarize(
            reads, **dict(zip(("query_id", "camera"), next(series), strict=True)),
            since="7d", bucket="1h"), repeats),
        "30d_daily_all_cameras": timings(lambda: summarize(
            reads, query_id=next(series)[0], since="30d", bucket="1d", tz="Europe/Berlin"),
            repeats),
        "30d_daily_all_questions": timings(lambda: summarize(
            reads, since="30d", bucket="1d", tz="Europe/Berlin"), repeats),
    }


def _cycle(items: list[Any]) -> Iterator[Any]:
    while True:
        yield from items


def live_answers(shape: Shape, total: int, prefix: str) -> list[Answer]:
    """``total`` answers, one per (question, camera) per second, after the loaded ones."""
    rng = np.random.default_rng(shape.seed + 7)
    series = shape.series()
    yes = {key: stretches(rng, total // len(series) + 1) for key in series}
    out = []
    for i in range(total):
        q, c = series[i % len(series)]
        step = i // len(series)
        end = float(T_END + 1 + step)
        y = bool(yes[(q, c)][step])
        out.append(Answer(f"{prefix}{q}", "is the dock door open?", c, end - 4, end, end + 0.2,
                          "clip", "yes" if y else "no", y, 0.3 if y else 0.1, (end - 1,),
                          ((0.1, 0.1, 0.6, 0.6),), 513, 18.0, {"clip": "bench"}, every=1.0,
                          query_version=1))
    return out


def measure_writes(store: Store, shape: Shape, total: int, batch: int = 500,
                   chunk: int = 10_000, log: Log = lambda _: None) -> dict[str, Any]:
    """Answers per second through the sink, rollups off and on (alternating chunks)."""
    modes = {"without_rollups": Store(store.engine, rollups=False),
             "with_rollups": Store(store.engine, rollups=True)}
    answers = {name: live_answers(shape, total + batch, f"w-{name[:4]}-") for name in modes}
    for name, mode in modes.items():  # warm up: compiled statements, first pages
        _store(mode, answers[name][total:], batch)
    seconds = dict.fromkeys(modes, 0.0)
    for k, start in enumerate(range(0, total, chunk)):
        order = list(modes) if k % 2 == 0 else list(reversed(modes))  # neither always first
        for name in order:
            seconds[name] += _store(modes[name], answers[name][start:start + chunk], batch)
        log(f"stored {min(start + chunk, total)}/{total} answers in each mode")
    rate = {name: round(total / s) for name, s in seconds.items()}
    return {"answers": total, "batch": batch, "answers_per_s": rate,
            "ratio": round(rate["with_rollups"] / rate["without_rollups"], 3)}


def _store(store: Store, answers: list[Answer], batch: int) -> float:
    """Seconds to store ``answers`` through the sink, one flush per ``batch``."""
    sink = AnswerSink(store, max_pending=batch)
    t0 = time.perf_counter()
    for i in range(0, len(answers), batch):
        for a in answers[i:i + batch]:
            sink.add(a)
        sink.flush()
    return time.perf_counter() - t0
