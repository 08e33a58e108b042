"""``feedwatch bench encode``: frames/s of the CLIP image encoder by batch size and device
(the measuring is :mod:`workers.bench.encode`)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from workers.bench._table import emit_json, hardware, hardware_line, print_table, progress_bar
from workers.bench.encode import FRAME_SIZE, bench_frames, device_list, measure, plot
from workers.cli.commands.bench._options import int_list
from workers.cli.options import env_option, perception_option


@click.command("encode")
@perception_option("--clip", "clip_spec", default="ViT-B-32", show_default=True,
            help="CLIP spec.")
@env_option("--batch-sizes", default="1,8,32", show_default=True,
            env="FEEDWATCH_BENCH_BATCH_SIZES", help="Comma-separated batch sizes.")
@env_option("--frames", type=click.IntRange(1), default=64, show_default=True,
            env="FEEDWATCH_BENCH_FRAMES", help="Frames per measurement.")
@perception_option("--device", default="auto", show_default=True,
                   help="auto|cpu|cuda, or a comma list such as cpu,cuda.")
@env_option("--threads", default="", env="FEEDWATCH_BENCH_THREADS",
            help="CPU torch thread counts to compare, e.g. 1,2 (default: torch's).")
@perception_option("--precision", default="fp32", show_default=True,
            help="fp32, int8 (CPU) or a comma "
            "list to compare.")
@env_option("--repeat", type=click.IntRange(1), default=1, show_default=True,
            env="FEEDWATCH_BENCH_REPEAT",
            help="Best of N passes.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write frames/s by batch size as a PNG.")
def command(clip_spec: str, batch_sizes: str, frames: int, device: str, threads: str,
            precision: str, repeat: int, as_json: bool, plot_path: Path | None) -> None:
    """Frames/s of the CLIP image encoder by batch size, device and CPU threads."""
    from pipeline.models.runtime import get_threads

    sizes = int_list("--batch-sizes", batch_sizes)
    if sizes[-1] > frames:
        raise click.BadParameter(f"{sizes[-1]} is larger than --frames ({frames}): a batch "
                                 "holds at most the frames measured; raise --frames or drop "
                                 "it", param_hint="--batch-sizes")
    thread_counts = int_list("--threads", threads) if threads else [get_threads()]
    devices = device_list(device)
    precisions = _precisions(precision, devices)
    if "int8" in precisions and any(d != "cpu" for d in devices):
        click.echo("note: int8 runs on the CPU only: not measured on "
                   f"{','.join(d for d in devices if d != 'cpu')}", err=True)
    images = bench_frames(frames)
    with progress_bar() as progress:
        rows = measure(clip_spec, devices, sizes, thread_counts, images, repeat, progress,
                       precisions)
    hw = hardware()
    best = max(rows, key=lambda r: r.frames_per_s)
    result = {"clip": clip_spec, "frames": frames, "frame_size": list(FRAME_SIZE),
              "repeat": repeat, "hardware": hw, "rows": [asdict(r) for r in rows],
              "best": asdict(best)}
    if plot_path:
        result["plot"] = str(plot(rows, plot_path, f"CLIP {clip_spec} image encoder",
                                  hardware_line(hw)))
    if as_json:
        emit_json(result)
        return
    print_table(
        f"encode: {clip_spec}, {frames} frames of {FRAME_SIZE[0]}×{FRAME_SIZE[1]}",
        ["device", "precision", "threads", "batch", "frames/s", "ms/frame", "× batch 1"],
        [[r.device, r.precision, r.threads, r.batch_size, r.frames_per_s, r.ms_per_frame,
          r.speedup_vs_b1] for r in rows],
        [f"best: {best.frames_per_s:.1f} frames/s ({best.device} {best.precision}, batch "
         f"{best.batch_size}, {best.threads} threads); "
         f"{hardware_line(hw)}"],
    )


def _precisions(value: str, devices: list[str]) -> list[str]:
    """The precisions to compare, checked before a model loads; int8 runs on the CPU only,
    so at least one (device, precision) pair must run."""
    from pipeline.models.clip_encoder import PRECISIONS

    names = list(dict.fromkeys(p.strip() for p in value.split(",") if p.strip()))
    bad = [p for p in names if p not in PRECISIONS]
    if bad or not names:
        raise click.BadParameter(f"{bad[0] if bad else value!r}: one of {', '.join(PRECISIONS)} "
                                 "or a comma list of them", param_hint="--precision")
    if names == ["int8"] and "cpu" not in devices:
        raise click.BadParameter(f"int8 runs on the CPU only, and --device is "
                                 f"{','.join(devices)}: add fp32 or cpu", param_hint="--precision")
    return names
