"""``feedwatch bench decode``: what sampling a camera costs, for short and long GOPs
(the measuring is :mod:`workers.bench.decode`)."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path

import click

from pipeline.errors import ConfigError
from workers.bench._table import emit_json, hardware, print_table
from workers.bench.decode import BASELINE, Row, bench_gop, frame_size, gop_list, make_bench_clip
from workers.cli.options import COUNT, SECONDS, Finite


@click.command()
@click.option("--clip", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Benchmark this file instead of generated clips.")
@click.option("--seconds", type=SECONDS, default=20.0, show_default=True,
              help="Length of each generated clip.")
@click.option("--size", default="640x360", show_default=True, help="Generated clip WxH.")
@click.option("--gops", default="1,10", show_default=True,
              help="Keyframe intervals (s) of the generated clips, comma-separated.")
@click.option("--bframes", type=click.IntRange(0, 4), default=0, show_default=True,
              help="B-frames between references in the generated clips (IP cameras: often 0).")
@click.option("--sample-fps", type=Finite(0.0, above=True), default=1.0, show_default=True)
@click.option("--repeat", type=COUNT, default=3, show_default=True, help="Best of N passes.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on one line.")
def command(clip: Path | None, seconds: float, size: str, gops: str, bframes: int,
            sample_fps: float, repeat: int, as_json: bool) -> None:
    """Decoded frames per sampled frame and bytes per segment, short vs long GOPs."""
    if repeat < 1:
        raise ConfigError("--repeat", repeat, "must be >= 1")
    wh, gop_values = frame_size(size), gop_list(gops)  # checked before any clip is made
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="fw-bench-") as tmp:
        if clip is not None:
            rows += bench_gop(clip, float("nan"), sample_fps, repeat)
        else:
            for gop in gop_values:
                click.echo(f"bench decode: GOP {gop:g} s ...", err=True)
                path = make_bench_clip(Path(tmp) / f"gop{gop:g}.mp4", seconds, wh, gop,
                                       bframes=bframes)
                rows += bench_gop(path, gop, sample_fps, repeat)
    info: dict[str, object] = {
        "clip": clip.name if clip else f"generated {size}",
        "video_seconds": seconds if clip is None else "source",
        "fps": 25 if clip is None else "source", "sample_fps": sample_fps, "repeat": repeat,
        "bframes": bframes if clip is None else "source",
        "baseline": BASELINE, "hardware": hardware(),
    }
    if as_json:
        emit_json({**info, "rows": [asdict(r) for r in rows]})
    else:
        _print(rows, info)


def _print(rows: list[Row], info: dict[str, object]) -> None:
    cols = ["GOP s", "mode", "plan", "segments", "longest s", "KB/segment", "carried",
            "decoded", "sampled", "decoded/sample", "wall s", "× decoded", "× time", "× bytes"]
    table = [[r.gop_s, r.mode, r.plan, r.segments, r.longest_segment_s, r.kb_per_segment,
              f"{r.carried_share:.0%}", r.decoded, r.sampled, r.decoded_per_sample, r.seconds,
              r.vs_baseline_decoded, r.vs_baseline_time, r.vs_keyframe_bytes] for r in rows]
    notes = [f"{info['clip']}: {info['video_seconds']} s at {info['fps']} fps, sampled at "
             f"{info['sample_fps']:g} fps; × columns: against '{BASELINE}' (decoded, time) and "
             "against keyframe segments (bytes sent) of the same GOP, same run."]
    print_table("bench decode", cols, table, notes)
