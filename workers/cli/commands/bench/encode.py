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
    thread_counts = int_list("--threads", threads) if threads else [get_threads()]
    images = bench_frames(frames)
    with progress_bar() as progress:
        rows = measure(clip_spec, device_list(device), sizes, thread_counts, images, repeat,
                       progress, [p.strip() for p in precision.split(",") if p.strip()])
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
