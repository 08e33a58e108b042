"""``feedwatch bench search``: text-search latency and recall of the frame index
(the synthetic index and the timing are :mod:`workers.bench.search`)."""

from __future__ import annotations

from typing import Any

import click

from pipeline.errors import ConfigError
from workers.bench._table import emit_json, hardware, hardware_line, print_table
from workers.bench.search import CAMERAS, Scenes, fill, measure
from workers.cli.options import COUNT


@click.command("search")
@click.option("--frames", "n", type=int, required=True, help="Frames to index (e.g. 100000).")
@click.option("--db", default=None, help="Empty store to fill (default: a temporary SQLite "
              "file); a PostgreSQL URL with pgvector benchmarks HNSW.")
@click.option("--dim", type=int, default=512, show_default=True,
              help="Embedding size (512: ViT-B/32).")
@click.option("--queries", type=COUNT, default=50, show_default=True,
              help="Texts per scenario.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--reuse", is_flag=True,
              help="The --db already holds this bench's N frames (same --seed): measure only.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
def command(
    n: int, db: str | None, dim: int, queries: int, seed: int, reuse: bool, as_json: bool
) -> None:
    """Query latency (camera-hour, all-day) and recall@10 of the frame index."""
    import tempfile

    from connectors.store.frames.index import FrameIndex

    if n < CAMERAS * 10:
        raise ConfigError("--frames", n, f"at least {CAMERAS * 10}")
    if not 8 <= dim <= 4000:
        raise ConfigError("--dim", dim, "8..4000")

    def log(line: str) -> None:
        click.echo(line, err=True)

    with tempfile.TemporaryDirectory(prefix="fw-bench-search-") as tmp:
        index = FrameIndex.from_url(db or f"sqlite:///{tmp}/bench.db")
        try:
            scenes = Scenes(dim, seed)
            if reuse and index.count() == n:
                load_s = 0.0
            elif index.count():
                raise ConfigError("--db", db, "an empty store (the bench fills it)")
            else:
                load_s = fill(index, scenes, n, log)
            result = {s: measure(index, scenes, queries, s) for s in ("camera_hour", "all_day")}
            hnsw = {}
            if index.vector:  # the graph index on the same data, for comparison
                graph = FrameIndex(index.engine, ann="hnsw")
                hnsw = {f"{s} (HNSW)": measure(graph, scenes, queries, s) for s in ("all_day",)}
        finally:
            index.close()
    _report(n, index.backend, dim, load_s, result, hnsw, as_json)


def _report(n: int, backend: str, dim: int, load_s: float, result: dict[str, Any],
            extra: dict[str, Any], as_json: bool) -> None:
    rows = [
        [name, r["p50_ms"], r["p95_ms"], r["recall_at_10"], r["exact_p50_ms"],
         round(r["exact_p50_ms"] / max(r["p50_ms"], 1e-6), 2)]
        for name, r in {**result, **extra}.items()
    ]
    title = (f"search over {n} frames ({backend}, dim {dim}, loaded+indexed in {load_s:.0f}s) "
             f"on {hardware_line(hardware())}")
    columns = ["query", "p50 ms", "p95 ms", "recall@10", "exact p50 ms (baseline)",
               "speed-up vs exact"]
    if not as_json:
        print_table(title, columns, rows)
        return
    click.echo(title, err=True)
    for row in rows:
        click.echo("  ".join(f"{c}={v}" for c, v in zip(columns, row, strict=True)), err=True)
    emit_json({
        "frames": n,
        "backend": backend,
        **{name: {k: r[k] for k in ("p50_ms", "p95_ms", "recall_at_10")}
           for name, r in result.items()},
    })
