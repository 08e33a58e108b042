"""``feedwatch bench summary``: answers over time at scale — summary latency from the
rollups and the writer's cost of keeping them (the measuring is
:mod:`workers.bench.summary`)."""

from __future__ import annotations

from typing import Any

import click

from pipeline.errors import ConfigError
from workers.bench._table import emit_json, hardware, hardware_line, print_table

TARGETS = {"7d_hourly_one_camera": 100.0, "30d_daily_all_cameras": 300.0}  # p95 ms, issue 29
RATIO_TARGET = 0.8


@click.command("summary")
@click.option("--db", required=True, help="An empty store to fill: a PostgreSQL URL for the "
              "issue's figures (SQLite works for small runs).")
@click.option("--cameras", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--questions", type=click.IntRange(1, 1000), default=5, show_default=True)
@click.option("--windows", type=click.IntRange(100, 10_000_000), default=200_000,
              show_default=True, help="Answers per question and camera, 1 s apart.")
@click.option("--sink-answers", type=click.IntRange(0, 10_000_000), default=200_000,
              show_default=True, help="Interleaved answers stored through the sink per mode.")
@click.option("--repeats", type=click.IntRange(5, 10_000), default=50, show_default=True,
              help="Timed calls per summary.")
@click.option("--reuse", is_flag=True, help="The --db already holds this bench's answers: "
              "measure only.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
def command(db: str, cameras: int, questions: int, windows: int, sink_answers: int,
            repeats: int, reuse: bool, seed: int, as_json: bool) -> None:
    """Summary p50/p95 (7-day hourly, one camera; 30-day daily, all cameras) and sink
    throughput with rollups vs without."""
    from connectors.store import Store
    from workers.bench.summary import Shape, fill, measure_reads, measure_writes, verify

    def log(line: str) -> None:
        click.echo(line, err=True)

    shape = Shape(cameras, questions, windows, seed)
    store = Store.from_url(db)
    try:
        stored = store.count_answers()
        if reuse and stored >= cameras * questions * windows:
            load_s = None
        elif stored:
            raise ConfigError("--db", db, "an empty store (the bench fills it), or --reuse")
        else:
            load_s = fill(store, shape, log)
        check = verify(store, shape)
        reads = measure_reads(store, shape, repeats)
        writes = measure_writes(store, shape, sink_answers, log=log) if sink_answers else None
        backend = store.engine.dialect.name
    finally:
        store.close()
    result = {"backend": backend, "cameras": cameras, "questions": questions,
              "windows": windows, "answers": cameras * questions * windows,
              "load_s": None if load_s is None else round(load_s, 1), "loaded_rollups": check,
              "reads": reads, "writes": writes, "targets_met": _met(reads, writes),
              "hardware": hardware()}
    _report(result, as_json)


def _met(reads: dict[str, Any], writes: dict[str, Any] | None) -> dict[str, bool | None]:
    met: dict[str, bool | None] = {
        name: reads[name]["p95_ms"] <= limit for name, limit in TARGETS.items()}
    met["write_ratio"] = None if writes is None else writes["ratio"] >= RATIO_TARGET
    return met


def _report(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    title = (f"summaries over {result['answers']} answers ({result['backend']}) on "
             f"{hardware_line(result['hardware'])}")
    rows = [[name, r["p50_ms"], r["p95_ms"], TARGETS.get(name)]
            for name, r in result["reads"].items()]
    notes = [f"loaded rollups equal the store's own rebuild of {result['loaded_rollups']['series']}"
             f": {result['loaded_rollups']['equal']} "
             f"({result['loaded_rollups']['rebuild_answers_per_s']} answers/s rebuilt)"]
    if result["writes"]:
        w = result["writes"]
        notes.append(f"sink: {w['answers_per_s']['with_rollups']} answers/s with rollups, "
                     f"{w['answers_per_s']['without_rollups']} without: ratio {w['ratio']} "
                     f"(target >= {RATIO_TARGET})")
    print_table(title, ["summary", "p50 ms", "p95 ms", "p95 target ms"], rows, notes)
