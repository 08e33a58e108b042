"""``feedwatch bench encode``: frames/s of the CLIP image encoder by batch size and device.

Frames are synthetic 640×360 scenes (the size the bundled clips use), so the timing
includes the encoder's own preprocessing (squash to the input size, normalise) as in
the product. Each (device, threads, batch size) cell encodes the same ``--frames``
frames in batches of that size after one warm-up batch; the best of ``--repeat``
passes counts. Speed-ups are against batch size 1 on the same device, same run.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.types import ImageArray
from workers.bench._table import (
    Progress,
    save_plot,
)

FRAME_SIZE = (640, 360)


@dataclass(frozen=True)
class Row:
    device: str
    precision: str
    threads: int
    batch_size: int
    frames_per_s: float
    ms_per_frame: float
    speedup_vs_b1: float


def bench_frames(n: int, size: tuple[int, int] = FRAME_SIZE, seed: int = 5) -> list[ImageArray]:
    """``n`` frames of one synthetic scene, one per second."""
    from pipeline.scenes import random_scene, render

    spec = random_scene(seed, duration=float(max(n, 1)), size=size, background="clutter")
    return [render(spec, i + 0.5)[0] for i in range(n)]


def time_batches(encoder: Any, frames: list[ImageArray], batch: int, repeat: int) -> float:
    """Best wall seconds to encode ``frames`` in chunks of ``batch`` (after a warm-up)."""
    import time

    encoder.encode_frames(frames[:batch])
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for i in range(0, len(frames), batch):
            encoder.encode_frames(frames[i : i + batch])
        best = min(best, time.perf_counter() - t0)
    return best


def run_bench(encoder: Any, frames: list[ImageArray], batch_sizes: list[int], *, device: str,
              threads: int, repeat: int = 1, progress: Progress | None = None,
              precision: str = "fp32") -> list[Row]:
    """One row per batch size; speed-up relative to the first (smallest) batch size."""
    rows: list[Row] = []
    for done, batch in enumerate(batch_sizes):
        secs = time_batches(encoder, frames, batch, repeat)
        fps = len(frames) / secs
        base = rows[0].frames_per_s if rows else fps
        rows.append(Row(device, precision, threads, batch, fps, 1000.0 * secs / len(frames),
                        fps / base))
        if progress:
            progress(f"encode on {device} {precision}, {threads} threads", done + 1,
                     len(batch_sizes))
    return rows


def device_list(value: str) -> list[str]:
    from pipeline.models.clip_encoder import resolve_device

    return list(dict.fromkeys(resolve_device(d.strip()) for d in value.split(",") if d.strip()))


def measure(clip: str, devices: list[str], batch_sizes: list[int], thread_counts: list[int],
            frames: list[ImageArray], repeat: int, progress: Progress,
            precisions: list[str]) -> list[Row]:
    """Every (device, precision, threads, batch size) cell; threads apply to CPU only."""
    from pipeline.models.clip_encoder import ClipEncoder
    from pipeline.models.runtime import get_threads, set_threads

    rows: list[Row] = []
    default_threads = get_threads()
    for device, precision in itertools.product(devices, precisions):
        if precision == "int8" and device != "cpu":
            continue
        encoder = ClipEncoder.from_spec(clip, device, batch_size=max(batch_sizes),
                                        precision=precision)
        for threads in thread_counts if device == "cpu" else [default_threads]:
            set_threads(threads)
            rows += run_bench(encoder, frames, batch_sizes, device=device, threads=threads,
                              repeat=repeat, progress=progress, precision=precision)
    set_threads(default_threads)
    return rows


def plot(rows: list[Row], path: Path, title: str, footer: str) -> Path:
    """Frames/s against batch size, one line per (device, threads)."""

    def draw(ax: Any) -> None:
        for key in dict.fromkeys((r.device, r.precision, r.threads) for r in rows):
            sel = [r for r in rows if (r.device, r.precision, r.threads) == key]
            ax.plot([r.batch_size for r in sel], [r.frames_per_s for r in sel], marker="o",
                    label=f"{key[0]} {key[1]}, {key[2]} thread{'s' if key[2] > 1 else ''}")
        ax.set_xscale("log", base=2)
        sizes = sorted({r.batch_size for r in rows})
        ax.set_xticks(sizes, [str(b) for b in sizes])
        ax.set_ylim(bottom=0)
        ax.set_xlabel("batch size (frames per encoder call)")
        ax.set_ylabel("frames / s")
        ax.legend()

    return save_plot(path, draw, title=title, footer=footer)


__all__ = ["Row", "bench_frames", "device_list", "measure", "plot", "run_bench", "time_batches"]
