"""``feedwatch bench decode``: full decode vs keyframe-only sampling, in one run.

A generated 25 fps clip (keyframe every second by default) is segmented like a live
feed; each mode decodes every segment ``--repeat`` times and the best time counts.
Throughput is in *video* frames per second (clip frames covered per wall second), so
the modes compare directly: the ratio is how many more cameras one core can sample.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import click

from pipeline.errors import ConfigError
from pipeline.types import Frame, Segment


@dataclass(frozen=True)
class Row:
    mode: str
    frames_out: int
    seconds: float
    video_fps: float
    realtime_x: float


def make_bench_clip(path: Path, seconds: float, size: tuple[int, int], keyframe_s: float,
                    fps: int = 25) -> Path:
    """A synthetic scene (pipeline.scenes) encoded at ``fps`` with fixed keyframes."""
    from pipeline.scenes import random_scene, write_clip

    spec = random_scene(7, duration=seconds, fps=fps, size=size, background="clutter")
    return write_clip(spec, path, fps=fps, keyframe_interval_s=keyframe_s)


def load_segments(path: Path) -> list[Segment]:
    from connectors.video.segmenter import Segmenter
    from connectors.video.sources import open_source

    with open_source(str(path), "bench") as source:
        return list(Segmenter.from_config("bench").run(source))


def time_mode(segments: list[Segment], decode: Callable[[Segment], list[Frame]],
              repeat: int) -> tuple[float, int]:
    """Best wall time over ``repeat`` passes, and the frames one pass returned."""
    best, frames = float("inf"), 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        frames = sum(len(decode(s)) for s in segments)
        best = min(best, time.perf_counter() - t0)
    return best, frames


def run_bench(segments: list[Segment], video_fps: float, sample_fps: float,
              repeat: int) -> list[Row]:
    from connectors.video.decoder import decode_segment

    keep = f"{sample_fps:g} fps"
    modes: dict[str, Callable[[Segment], list[Frame]]] = {
        f"full decode, keep {keep}": lambda s: decode_segment(s, sample_fps, keyframes_only=False),
        f"keyframe-only, keep {keep}": lambda s: decode_segment(s, sample_fps, keyframes_only=True),
        "full decode, every frame → RGB": lambda s: decode_segment(s, video_fps,
                                                                   keyframes_only=False),
    }
    video_s = sum(s.duration for s in segments)
    rows = []
    for name, fn in modes.items():
        secs, n = time_mode(segments, fn, repeat)
        rows.append(Row(name, n, secs, video_s * video_fps / secs, video_s / secs))
    return rows


def _size(value: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise ConfigError("--size", value, "WxH, e.g. 640x360") from None
    return w, h


def _print_table(rows: list[Row], info: dict[str, object]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"decode: {info['clip']} ({info['video_seconds']:.0f} s, "
                        f"{info['fps']:g} fps, keyframe every {info['keyframe_interval_s']:g} s)")
    for col in ("mode", "frames out", "wall s", "video frames/s", "× realtime"):
        table.add_column(col, justify="left" if col == "mode" else "right")
    for r in rows:
        table.add_row(r.mode, str(r.frames_out), f"{r.seconds:.3f}", f"{r.video_fps:,.0f}",
                      f"{r.realtime_x:.1f}")
    console = Console()
    console.print(table)
    console.print(f"keyframe-only vs full decode (same frames out): [bold]{info['ratio']:.1f}×"
                  f"[/bold]; vs converting every frame: {info['ratio_vs_every_frame_rgb']:.1f}×; "
                  f"decode_segment picks: {info['auto_path']}")


@click.command()
@click.option("--clip", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Benchmark this file instead of a generated clip.")
@click.option("--seconds", type=float, default=12.0, show_default=True,
              help="Length of the generated clip.")
@click.option("--size", default="640x360", show_default=True, help="Generated clip WxH.")
@click.option("--keyframe-interval", type=float, default=1.0, show_default=True,
              help="Generated clip keyframe interval (s).")
@click.option("--sample-fps", type=float, default=1.0, show_default=True)
@click.option("--repeat", type=int, default=3, show_default=True, help="Best of N passes.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def command(clip: Path | None, seconds: float, size: str, keyframe_interval: float,
            sample_fps: float, repeat: int, as_json: bool) -> None:
    """Frames/s of full decode vs keyframe-only sampling, measured in one run."""
    from connectors.video.decoder import plan_for

    if repeat < 1:
        raise ConfigError("--repeat", repeat, "must be >= 1")
    with tempfile.TemporaryDirectory(prefix="fw-bench-") as tmp:
        path = clip or make_bench_clip(Path(tmp) / "bench.mp4", seconds, _size(size),
                                       keyframe_interval)
        segments = load_segments(path)
    if not segments:
        raise ConfigError("--clip", str(clip), "a video with at least one keyframe")
    fps = _clip_fps(segments)
    rows = run_bench(segments, fps, sample_fps, repeat)
    info: dict[str, object] = {
        "clip": clip.name if clip else f"generated {size}",
        "video_seconds": sum(s.duration for s in segments), "fps": fps,
        "keyframe_interval_s": keyframe_interval if clip is None else float("nan"),
        "segments": len(segments), "sample_fps": sample_fps,
        "ratio": rows[1].video_fps / rows[0].video_fps,
        "ratio_vs_every_frame_rgb": rows[1].video_fps / rows[2].video_fps,
        "auto_path": plan_for(segments[0], sample_fps),
    }
    if as_json:
        click.echo(json.dumps({**info, "rows": [asdict(r) for r in rows]}, indent=2))
    else:
        _print_table(rows, info)


def _clip_fps(segments: list[Segment]) -> float:
    from connectors.video.decoder import decode_segment

    frames = decode_segment(segments[0], 1000.0, keyframes_only=False)
    return round(len(frames) / segments[0].duration, 3) if segments[0].duration else 25.0
