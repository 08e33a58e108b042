"""``feedwatch bench memory``: does a long ``feedwatch run`` hold bounded memory?

One synthetic clip (``--seconds`` long, 640×360 by default) is answered by a real
``feedwatch run`` child process with ``--questions`` standing questions; the bench
reads its ``--json`` answer lines and the child's resident memory (``/proc``) at
every line, keyed by stream time. It reports the RSS after the first minute of
stream, at the end of the stream, and the child's peak; the run is *bounded* when
the end is at most ``--allowance-mb`` above the first-minute figure (exit 1 if not).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from pipeline.errors import ConfigError
from workers.cli.options import env_option
from workers.ops.rss import peak_rss_mb, rss_mb

CLI = [sys.executable, "-c", "from workers.cli.main import entrypoint; entrypoint()"]


def make_clip(path: Path, seconds: float, size: tuple[int, int]) -> Path:
    """A seeded synthetic scene, 10 fps, keyframe every second."""
    from pipeline.scenes import random_scene, write_clip

    spec = random_scene(7, duration=seconds, fps=10, size=size, background="clutter")
    return Path(write_clip(spec, path, fps=10, keyframe_interval_s=1.0))


def run_command(clip: Path, db: str, questions: int, clip_spec: str) -> list[str]:
    from pipeline.scenes import captions

    asks = [a for c in captions()[:questions] for a in ("--ask", f"is there {c}?")]
    return [*CLI, "run", str(clip), *asks, "--every", "1s", "--window", "4s", "--json",
            "--db", db, "--clip", clip_spec]


def watch(cmd: list[str], first_minute: float = 60.0) -> dict[str, Any]:
    """Run ``cmd``; RSS by stream time from its answer lines."""
    samples: list[tuple[float, float]] = []
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    origin, peak, answers = None, None, 0
    assert proc.stdout is not None
    for line in proc.stdout:
        end = json.loads(line)["window_end"]
        origin = end if origin is None else origin
        answers += 1
        rss = rss_mb(proc.pid)
        peak = peak_rss_mb(proc.pid) or peak
        if rss is not None:
            samples.append((end - origin, rss))
    code = proc.wait()
    after = next((r for t, r in samples if t >= first_minute), None)
    return {
        "exit_code": code, "answers": answers,
        "stream_seconds": round(samples[-1][0], 1) if samples else 0.0,
        "rss_after_first_minute_mb": after,
        "rss_end_mb": samples[-1][1] if samples else None, "peak_rss_mb": peak,
        "rss_by_stream_minute_mb": _per_minute(samples),
    }


def _per_minute(samples: list[tuple[float, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for t, rss in samples:
        out.setdefault(str(int(t // 60)), rss)
    return out


@click.command("memory")
@click.option("--seconds", type=click.FloatRange(120), default=900.0, show_default=True,
              help="Clip length in seconds.")
@click.option("--questions", type=click.IntRange(1, 21), default=5, show_default=True,
              help="Standing questions (every 1 s over a 4 s window).")
@click.option("--size", default="640x360", show_default=True, help="Clip size WxH.")
@env_option("--clip", "clip_spec", default="shapes-demo", show_default=True,
            env="FEEDWATCH_PERCEPTION_CLIP", help="CLIP spec.")
@click.option("--allowance-mb", type=float, default=50.0, show_default=True,
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
