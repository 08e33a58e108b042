"""``feedwatch bench memory``: does a long ``feedwatch run`` hold bounded memory?
(the child run and its readings are :mod:`workers.bench.memory`)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click

from pipeline.errors import ConfigError
from workers.bench.memory import make_clip, run_command, watch
from workers.cli.commands.bench._options import finite
from workers.cli.options import Finite, perception_option


@click.command("memory")
@click.option("--seconds", type=click.FloatRange(120), default=900.0, show_default=True,
              callback=finite, help="Clip length in seconds.")
@click.option("--questions", type=click.IntRange(1, 21), default=5, show_default=True,
              help="Standing questions (every 1 s over a 4 s window).")
@click.option("--size", default="640x360", show_default=True, help="Clip size WxH.")
@perception_option("--clip", "clip_spec", default="shapes-demo", show_default=True,
            help="CLIP spec.")
@click.option("--allowance-mb", type=Finite(0.0), default=50.0, show_default=True,
              help="Growth allowed from the first minute to the end.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def command(seconds: float, questions: int, size: str, clip_spec: str, allowance_mb: float,
            as_json: bool) -> None:
    """RSS of a long ``feedwatch run``: after the first stream minute vs at the end."""
    try:
        w, h = (int(x) for x in size.lower().split("x"))
    except ValueError:
        raise ConfigError("--size", size, "WxH, e.g. 640x360") from None
    with tempfile.TemporaryDirectory(prefix="fw-mem-") as tmp:
        click.echo(f"making a {seconds:g} s {w}x{h} clip…", err=True)
        clip = make_clip(Path(tmp) / "long.mp4", seconds, (w, h))
        click.echo("running feedwatch run…", err=True)
        result = watch(run_command(clip, f"sqlite:///{tmp}/mem.db", questions, clip_spec))
    after, end = result["rss_after_first_minute_mb"], result["rss_end_mb"]
    growth = None if after is None or end is None else round(end - after, 1)
    result.update(seconds=seconds, questions=questions, size=size, clip=clip_spec,
                  growth_mb=growth, allowance_mb=allowance_mb,
                  bounded=growth is not None and growth <= allowance_mb)
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"{result['answers']} answers over {result['stream_seconds']} stream-s; RSS "
                   f"after 1 min {after} MB, at end {end} MB (growth {growth} MB, allowed "
                   f"{allowance_mb:g}); peak {result['peak_rss_mb']} MB")
    if result["exit_code"] != 0 or not result["bounded"]:
        sys.exit(1)
