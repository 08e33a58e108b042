"""``feedwatch bench alerts``: object onset → ``opened`` webhook on live-paced streams,
embedded and Kafka side by side (the run is :mod:`workers.bench.alerts`)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from workers.bench.alerts import MODES, AlertBench, measure
from workers.cli.options import COUNT, SECONDS, Finite, setting_option


@click.command("alerts")
@click.option("--mode", type=click.Choice(["embedded", "kafka", "both"]), default="both",
              show_default=True, help="Which path to measure; both: the same clip and "
              "settings through each, one after the other.")
@setting_option("kafka", "--kafka", "bootstrap", field="bootstrap", default=None,
                help="Kafka bootstrap host:port (the Kafka mode; `python -m "
                "tests.services.kafka` starts a local broker).")
@click.option("--cameras", type=COUNT, default=1, show_default=True, help="Synthetic cameras.")
@click.option("--events", type=COUNT, default=20, show_default=True,
              help="Appearances of the object per camera.")
@click.option("--event-s", type=SECONDS, default=10.0, show_default=True,
              help="How long the object stays.")
@click.option("--gap-s", type=SECONDS, default=20.0, show_default=True,
              help="Seconds without it between events.")
@click.option("--window", type=SECONDS, default=2.0, show_default=True,
              help="The question's window, seconds.")
@click.option("--every", type=SECONDS, default=1.0, show_default=True,
              help="The question's evaluation interval, seconds.")
@click.option("--open-after", type=COUNT, default=1, show_default=True,
              help="Matched windows that open an incident.")
@click.option("--clip", "clip_spec", default="shapes-demo", show_default=True, help="CLIP spec.")
@click.option("--threshold", type=Finite(-1.0, 1.0), default=None,
              help="Fixed score threshold for the clip answerer (embedded mode only; "
              "default: its adaptive mode).")
@click.option("--timeout", type=SECONDS, default=60.0, show_default=True,
              help="Seconds after the stream ends to wait for the rest of the work.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (last line).")
def command(mode: str, bootstrap: str | None, cameras: int, events: int, event_s: float,
            gap_s: float, window: float, every: float, open_after: int, clip_spec: str,
            threshold: float | None, timeout: float, as_json: bool) -> None:
    """Time from an object appearing to the webhook receiving the alert: p50/p95, per
    mode (exit 1 when a mode did not see all its work finish, or alerted nothing)."""
    bench = AlertBench(cameras=cameras, events=events, event_s=event_s, gap_s=gap_s,
                       window=window, every=every, open_after=open_after, clip=clip_spec,
                       threshold=threshold, timeout=timeout)
    modes = MODES if mode == "both" else (mode,)
    result = measure(bench, modes, bootstrap, say=lambda m: click.echo(m, err=True))
    if as_json:
        click.echo(json.dumps(result))
    else:
        _print(result, modes)
    if not result["complete"] or any(result[m]["detected"] == 0 for m in modes):
        sys.exit(1)


def _print(r: dict[str, Any], modes: tuple[str, ...]) -> None:
    s = r["settings"]
    click.echo(f"{s['cameras']} camera(s), {s['events']} events each, window {s['window']} s "
               f"every {s['every']} s, open after {s['open_after']}; bound {r['bound_s']} s")
    for mode in modes:
        m = r[mode]
        click.echo(f"{mode}: {m['detected']}/{m['events']} events alerted, "
                   f"{m['false_alerts']} false alerts, p95 within bound: {m['within_bound']}")
        for name in ("onset_to_webhook_s", "detection_delay_s", "pipeline_latency_s"):
            v = m[name]
            click.echo(f"  {name:20} p50 {v['p50']} s  p95 {v['p95']} s  max {v['max']} s")
        c = m["clip_cost"]
        click.echo(f"  clips: {c['clips']} ({c['clip_seconds']} s), {c['cpu_s_per_clip_second']}"
                   f" CPU-s per clip-s, {c['bytes_vs_segments']} of the segment bytes")
        if m["work"]["shortfall"]:
            click.echo(f"  NOT FINISHED: {m['work']['shortfall']}")
