"""``feedwatch bench alert-latency``: object onset → webhook, on a live-paced stream
(the run is :mod:`workers.bench.alert_latency`)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from workers.bench.alert_latency import AlertBench, measure


@click.command("alert-latency")
@click.option("--cameras", type=int, default=1, show_default=True, help="Synthetic cameras.")
@click.option("--events", type=int, default=20, show_default=True,
              help="Appearances of the object per camera.")
@click.option("--event-s", type=float, default=10.0, show_default=True,
              help="How long the object stays.")
@click.option("--gap-s", type=float, default=20.0, show_default=True,
              help="Seconds without it between events.")
@click.option("--window", type=float, default=2.0, show_default=True,
              help="The question's window, seconds.")
@click.option("--every", type=float, default=1.0, show_default=True,
              help="The question's evaluation interval, seconds.")
@click.option("--open-after", type=int, default=1, show_default=True,
              help="Matched windows that open an incident.")
@click.option("--clip", "clip_spec", default="shapes-demo", show_default=True, help="CLIP spec.")
@click.option("--threshold", type=float, default=None,
              help="Fixed score threshold for the clip answerer (default: its adaptive mode).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (last line).")
def command(cameras: int, events: int, event_s: float, gap_s: float, window: float,
            every: float, open_after: int, clip_spec: str, threshold: float | None,
            as_json: bool) -> None:
    """Time from an object appearing to the webhook receiving the alert: p50/p95."""
    bench = AlertBench(cameras=cameras, events=events, event_s=event_s, gap_s=gap_s,
                       window=window, every=every, open_after=open_after, clip=clip_spec,
                       threshold=threshold)
    result = measure(bench, say=lambda m: click.echo(m, err=True))
    if as_json:
        click.echo(json.dumps(result))
    else:
        _print(result)
    if result["detected"] == 0:
        sys.exit(1)


def _print(r: dict[str, Any]) -> None:
    s = r["settings"]
    click.echo(f"{r['cameras_seen']} camera(s), window {s['window']} s every {s['every']} s, "
               f"open after {s['open_after']}: {r['detected']}/{r['events']} events alerted, "
               f"{r['false_alerts']} false alerts")
    for name in ("onset_to_webhook_s", "detection_delay_s", "pipeline_latency_s"):
        v = r[name]
        click.echo(f"  {name:20} p50 {v['p50']} s  p95 {v['p95']} s  max {v['max']} s")
    c = r["clip_cost"]
    click.echo(f"  clips: {c['clips']} ({c['clip_seconds']} s), {c['cpu_s_per_clip_second']} "
               f"CPU-s per clip-s, {c['bytes_vs_segments']} of the segment bytes")
