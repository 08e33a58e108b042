"""``feedwatch bench e2e``: the product run end to end, measured, in either mode or both
(the runs are :mod:`workers.bench.e2e`)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from pipeline.errors import ConfigError
from workers.bench.e2e import measure
from workers.cli.options import COUNT, SECONDS, perception_option, setting_option


@click.command()
@setting_option("kafka", "--kafka", "bootstrap", field="bootstrap", default=None,
                help="Kafka bootstrap host:port; without it the embedded run is measured.")
@click.option("--compare", is_flag=True,
              help="Run the embedded mode, then the Kafka mode, on the same clips; one object.")
@click.option("--cameras", type=COUNT, default=4, show_default=True, help="Synthetic cameras.")
@click.option("--seconds", type=SECONDS, default=20.0, show_default=True, help="Clip length.")
@click.option("--workers", type=COUNT, default=1, show_default=True, help="Worker processes.")
@perception_option("--clip", "clip_spec", default=None, help="CLIP spec (default shapes-demo).")
@click.option("--burst", is_flag=True, help="Ingest as fast as possible (capacity, no latency).")
@perception_option("--precision", type=click.Choice(["fp32", "int8"]), default="fp32",
                   show_default=True, help="Encoder precision, the same in both modes.")
@click.option("--ingest", type=click.Choice(["one", "each"]), default="one", show_default=True,
              help="Kafka mode: one ingest process for every camera, or one per camera.")
@click.option("--timeout", type=SECONDS, default=60.0, show_default=True,
              help="Seconds after the last segment to wait for every expected answer.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def command(bootstrap: str | None, compare: bool, cameras: int, seconds: float, workers: int,
            clip_spec: str | None, burst: bool, precision: str, ingest: str, timeout: float,
            as_json: bool) -> None:
    """Latency (segment end → answer row) and camera-seconds per wall-second."""
    if cameras < 1 or workers < 1 or seconds < 4:
        raise ConfigError("--cameras/--workers/--seconds", (cameras, workers, seconds),
                          ">= 1 camera, >= 1 worker, >= 4 seconds")
    if compare and not bootstrap:
        raise ConfigError("--kafka", bootstrap, "a bootstrap host:port with --compare")
    result = measure(bootstrap, compare, cameras, seconds, workers,
                     clip_spec or os.environ.get("FEEDWATCH_PERCEPTION_CLIP", "shapes-demo"),
                     burst, timeout, precision=precision, one_ingest=ingest == "one")
    if as_json:
        click.echo(json.dumps(result))
    else:
        _print(result)
    modes = [result[m] for m in ("embedded", "kafka") if m in result] or [result]
    short = [m for m in modes if m["shortfall"]]
    for m in short:
        click.echo(f"{m['mode']}: {m['shortfall']} of {m['answers_expected']} expected answers "
                   f"missing after the timeout", err=True)
    if short:
        sys.exit(1)



def _print(result: dict[str, Any]) -> None:
    for m in [result[k] for k in ("embedded", "kafka") if k in result] or [result]:
        click.echo(
            f"{m['mode']}: {m['cameras']} cameras, answers {m['answers']}/"
            f"{m['answers_expected']}, {m['camera_seconds_per_wall_second']} camera-s per "
            f"wall-s, latency p50 {m['latency_p50_ms']} ms p95 {m['latency_p95_ms']} ms, "
            f"{m['frames_per_encode_call']} frames per encoder call"
        )
    if "ratio" in result:
        click.echo(f"ratio kafka/embedded camera-s per wall-s: {result['ratio']}")
