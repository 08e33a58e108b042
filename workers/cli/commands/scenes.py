"""``feedwatch scenes``: make synthetic test clips (H.264 MP4 + JSON ground truth)."""

from __future__ import annotations

import math
from pathlib import Path

import click

from pipeline.errors import ConfigError
from workers.cli.options import env_option


def _parse_size(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise ConfigError("--size", value, "WxH, e.g. 640x360") from None
    return (w, h)


CONTAINERS = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".ts")
"""OUT's suffixes: containers that carry the H.264 the scenes are written in."""


def check_out(out: Path) -> Path:
    """OUT must name a video container (its sidecar is OUT with ``.json``)."""
    if out.suffix.lower() not in CONTAINERS:
        raise click.BadParameter(
            f"{str(out)!r}: a video file name ending in {', '.join(CONTAINERS)}",
            param_hint="OUT")
    return out


def parse_script(value: str, duration: float | None = None
                 ) -> tuple[tuple[str, str], list[tuple[float, float]]]:
    """``red-circle:2-6,8-9.5`` → (("red", "circle"), [(2, 6), (8, 9.5)]); with
    ``duration``, every interval must end within the clip."""
    try:
        kind, spans = value.split(":", 1)
        color, shape = kind.split("-", 1)
        intervals = [tuple(float(x) for x in s.split("-", 1)) for s in spans.split(",")]
    except ValueError:
        raise ConfigError("--script", value, "COLOR-SHAPE:T1-T2[,T1-T2...]") from None
    if any(len(iv) != 2 or not all(math.isfinite(t) for t in iv) or iv[0] >= iv[1]
           for iv in intervals):
        raise ConfigError("--script", value, "intervals T1-T2 of finite seconds with T1 < T2")
    late = [iv for iv in intervals if duration is not None and iv[1] > duration]
    if late:
        raise ConfigError("--script", value, f"intervals within the clip: {late[0][0]:g}-"
                          f"{late[0][1]:g} ends after --duration ({duration:g} s)")
    return (color, shape), [(a, b) for a, b in intervals]


@click.group()
def command() -> None:
    """Synthetic scenes of coloured shapes (tests, benchmarks, demos)."""


@command.command("make")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@env_option(
    "--seed",
    env="FEEDWATCH_SCENES_SEED",
    type=int,
    default=0,
    show_default=True,
    help="Scene seed.",
)
@env_option(
    "--duration",
    env="FEEDWATCH_SCENES_DURATION",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds.",
)
@env_option(
    "--size",
    env="FEEDWATCH_SCENES_SIZE",
    default=None,
    help="WxH, 320x240..1280x720; random if unset.",
)
@env_option(
    "--fps",
    env="FEEDWATCH_SCENES_FPS",
    type=int,
    default=25,
    show_default=True,
    help="Frames per second.",
)
@env_option(
    "--script",
    env="FEEDWATCH_SCENES_SCRIPT",
    default=None,
    help="Target visible exactly in these intervals, e.g. red-circle:2-6,8-9 .",
)
@env_option(
    "--distractors",
    env="FEEDWATCH_SCENES_DISTRACTORS",
    type=int,
    default=2,
    show_default=True,
    help="Distractors of a scripted scene.",
)
@env_option(
    "--background",
    env="FEEDWATCH_SCENES_BACKGROUND",
    default=None,
    help="plain|gradient|noise|clutter.",
)
@env_option(
    "--level",
    env="FEEDWATCH_SCENES_LEVEL",
    type=click.Choice(["easy", "hard"]),
    default="easy",
    show_default=True,
    help="hard: distractors share the target's colour or shape.",
)
def make(
    out: Path,
    seed: int,
    duration: float,
    size: str | None,
    fps: int,
    script: str | None,
    distractors: int,
    background: str | None,
    level: str,
) -> None:
    """Write OUT (MP4, keyframe every 2 s) and its ground truth OUT.json."""
    from rich.progress import Progress

    from pipeline.scenes import random_scene, scripted_scene, sidecar_path, write_clip

    check_out(out)
    wh = _parse_size(size)
    if script:
        target, visible = parse_script(script, duration)
        spec = scripted_scene(
            target,
            visible,
            distractors,
            seed,
            duration,
            wh or (640, 360),
            background or "plain",
            fps=fps,
            level=level,
        )  # type: ignore[arg-type]
    else:
        spec = random_scene(
            seed, duration=duration, fps=fps, size=wh, background=background, level=level
        )  # type: ignore[arg-type]
    with Progress(transient=True) as bar:
        task = bar.add_task(f"encoding {out.name}", total=round(duration * fps))
        write_clip(spec, out, fps=fps, progress=lambda i, n: bar.update(task, completed=i))
    click.echo(f"{out} ({spec.width}x{spec.height}, {duration:g}s) + {sidecar_path(out)}")
