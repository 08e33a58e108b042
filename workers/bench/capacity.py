"""``feedwatch bench capacity``: how many 1-fps cameras this machine keeps up with.

The encoder's ceiling is measured on the trials' own frames (the model alone, best
frames/s): once before the search at batch sizes 1–32, then at the best of them after
every trial, so each trial has the ceiling measured on either side of it and a load that
changes during the search changes both alike. ``capacity_vs_ceiling`` = cameras × 1 fps ÷
the ceiling around the trial that found them says how much of the encoder's limit the
whole path reaches; every trial reports its own ``share_of_ceiling`` (camera-s per
wall-s ÷ the ceiling around it), and ``ceiling`` the spread of all measurements. The
trials at or above the cameras found run the path saturated, so their median share,
``saturated_share_of_ceiling``, is the path's efficiency with the load divided out as
far as the ceilings around them tracked it (the search's ``cameras`` is not: one trial
slowed by a burst of other work ends the doubling).

Each trial feeds N synthetic cameras (pre-made segments, so decoding is measured)
through the real embedded path with one standing question per camera evaluated
every second (see :mod:`workers.bench._embedded`), all segments available at once,
and measures camera-seconds processed per wall-second. N cameras are sustained in
real time when that rate is ≥ N, i.e. ``--seconds`` of video from every camera is
processed within ``--seconds`` of wall time (a trial is stopped at that deadline).
The search doubles N from ``--start`` until a trial fails (or ``--max-cameras``),
then bisects between the last pass and the first failure.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pipeline.types import Segment
from workers.bench._embedded import TrialResult, camera_feeds, make_clips, run_trial
from workers.bench._table import Progress, hardware, save_plot

TARGET = 15
Trial = Callable[[int], TrialResult]


def search(trial: Trial, max_n: int, start: int = 1) -> tuple[int, list[TrialResult]]:
    """Largest N whose trial keeps up (0 if none): doubling, then bisection."""
    results: list[TrialResult] = []
    lo, hi, n = 0, max_n + 1, min(start, max_n)
    while n <= max_n:
        results.append(trial(n))
        if not results[-1].keeps_up:
            hi = n
            break
        lo = n
        n = max_n if n < max_n < 2 * n else 2 * n
    if results and not results[-1].keeps_up and lo == 0 and n > 1:
        lo, hi = _below(trial, n, results)
    while hi - lo > 1 and lo < max_n:
        mid = (lo + hi) // 2
        results.append(trial(mid))
        lo, hi = (mid, hi) if results[-1].keeps_up else (lo, mid)
    return lo, results


def _below(trial: Trial, failed: int, results: list[TrialResult]) -> tuple[int, int]:
    """``--start`` was already too many: try 1 so the bisection has a floor."""
    results.append(trial(1))
    return (1, failed) if results[-1].keeps_up else (0, 1)


def make_trial(encoder: Any, clips: list[list[Segment]], seconds: float,
               progress: Progress, retries: int = 1) -> Trial:
    """A trial runner with a deadline of ``seconds`` (+10%) of wall time.

    A trial that falls behind is run again up to ``retries`` times and the best run
    counts: other load on the machine only ever slows a trial down.
    """
    count = [0]

    def once(n: int) -> TrialResult:
        count[0] += 1
        label = f"trial {count[0]}: {n} cameras"
        total = n * len(clips[0])
        done = [0]

        def tick(_: Any) -> None:
            done[0] += 1
            progress(label, done[0], total)

        return run_trial(encoder, camera_feeds(clips, n), deadline_s=seconds * 1.1 + 0.5,
                         on_segment=tick)

    def trial(n: int) -> TrialResult:
        best = once(n)
        for _ in range(retries):
            if best.keeps_up:
                break
            best = max(best, once(n), key=lambda r: r.rate)
        return best

    return trial


CEILING_BATCHES = (1, 4, 8, 16, 32)


def sampled_frames(clips: list[list[Segment]], sample_fps: float = 1.0) -> list[Any]:
    """Every frame the trials encode (the clips' frames on the sampling grid), as RGB."""
    from connectors.video.decoder import decode_segment

    return [f.rgb for clip in clips for seg in clip for f in decode_segment(seg, sample_fps)]


def encoder_ceiling(encoder: Any, frames: list[Any], batches: tuple[int, ...] = CEILING_BATCHES,
                    repeats: int = 2) -> tuple[float, int]:
    """The encoder's best frames/s on ``frames`` (and the batch size that reached it):
    the model alone, no decode, thumbnails, selection or SQL; best of ``repeats``."""
    import time

    best, best_batch = 0.0, batches[0]
    for batch in batches:
        chunk = (frames * (1 + batch // max(1, len(frames))))[:batch]
        calls = max(2, 32 // batch)
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(calls):
                encoder.encode_frames(chunk)
            fps = batch * calls / (time.perf_counter() - t0)
            if fps > best:
                best, best_batch = fps, batch
    return best, best_batch


class InterleavedCeiling:
    """The encoder's ceiling measured before the first trial and after every trial."""

    def __init__(self, measure: Callable[[], float]) -> None:
        self.measure = measure
        self.values = [measure()]
        self.around: list[tuple[float, float]] = []  # per trial: (before, after)

    def wrap(self, trial: Trial) -> Trial:
        """``trial``, with a ceiling measured after it (the one before is the last)."""

        def run(n: int) -> TrialResult:
            before = self.values[-1]
            result = trial(n)
            self.values.append(self.measure())
            self.around.append((before, self.values[-1]))
            return result

        return run

    def at(self, i: int) -> float:
        """The ceiling around trial ``i``: the mean of the measurements on either side."""
        return sum(self.around[i]) / 2

    def spread(self) -> dict[str, Any]:
        med = statistics.median(self.values)
        return {"fps": [round(v, 2) for v in self.values], "min": round(min(self.values), 2),
                "median": round(med, 2), "max": round(max(self.values), 2),
                "spread": round((max(self.values) - min(self.values)) / med, 3) if med else None}


def deciding(trials: list[TrialResult], cameras: int) -> int | None:
    """The index of the last trial that kept up with ``cameras`` (None: none did)."""
    hits = [i for i, t in enumerate(trials) if t.cameras == cameras and t.keeps_up]
    return hits[-1] if hits else None


def plot(results: list[TrialResult], cameras: int, path: Path, title: str,
         footer: str) -> Path:
    """Processed camera-seconds per wall-second against N, with the real-time line."""

    def draw(ax: Any) -> None:
        ns = sorted({r.cameras for r in results})
        top = max(ns + [cameras + 1])
        ax.plot([0, top], [0, top], "--", color="grey", label="real time (rate = N)")
        for ok, colour, name in ((True, "C2", "keeps up"), (False, "C3", "falls behind")):
            sel = sorted((r for r in results if r.keeps_up == ok), key=lambda r: r.cameras)
            ax.plot([r.cameras for r in sel], [r.rate for r in sel], "o", color=colour,
                    label=name, markersize=7)
        ax.axvline(cameras, color="C2", alpha=0.4)
        ax.annotate(f"{cameras} cameras", (cameras, 0.5), rotation=90, va="bottom",
                    ha="right", color="C2")
        ax.set_xlabel("cameras at 1 fps (N)")
        ax.set_ylabel("camera-seconds processed per wall-second")
        ax.legend(loc="best")

    return save_plot(path, draw, title=title, footer=footer)


def measure(encoder: Any, setup: dict[str, Any], progress: Progress) -> tuple[dict[str, Any],
                                                                             list[TrialResult]]:
    """The ceiling, then the search; ``setup``: clip, precision, seconds, max_cameras,
    start, retries (echoed in the result)."""
    from connectors.video.decoder import plan_for

    seconds, max_cameras = setup["seconds"], setup["max_cameras"]
    with tempfile.TemporaryDirectory(prefix="fw-cap-") as tmp:
        progress("making synthetic camera clips", 0, 1)
        clips = make_clips(seconds, min(4, max_cameras), Path(tmp))
        progress("making synthetic camera clips", 1, 1)
        encoder.encode_frames([_frame(clips[0][0])] * 4)  # warm-up
        progress("encoder ceiling on the trials' frames", 0, 1)
        frames = sampled_frames(clips)
        _, batch = encoder_ceiling(encoder, frames)
        ceiling = InterleavedCeiling(lambda: encoder_ceiling(encoder, frames, (batch,))[0])
        progress("encoder ceiling on the trials' frames", 1, 1)
        trial = make_trial(encoder, clips, seconds, progress, setup["retries"])
        cameras, trials = search(ceiling.wrap(trial), max_cameras, setup["start"])
    return _result(cameras, trials, ceiling, batch, setup, plan_for(clips[0][0], 1.0)), trials


def _result(cameras: int, trials: list[TrialResult], ceiling: InterleavedCeiling, batch: int,
            setup: dict[str, Any], decode_path: str) -> dict[str, Any]:
    i = deciding(trials, cameras)
    fps = ceiling.at(i) if i is not None else statistics.median(ceiling.values)
    shares = [t.rate / ceiling.at(k) for k, t in enumerate(trials)
              if t.cameras >= max(cameras, 1) and ceiling.at(k)]
    return {
        "cameras": cameras, "target": TARGET, "meets_target": cameras >= TARGET,
        "encoder_ceiling_fps": round(fps, 2), "encoder_ceiling_batch": batch,
        "capacity_vs_ceiling": round(cameras * 1.0 / fps, 3) if fps else None,
        "ceiling": ceiling.spread(),
        "saturated_share_of_ceiling": round(statistics.median(shares), 3) if shares else None,
        **setup, "sample_fps": 1.0, "decode_path": decode_path,
        "questions_per_camera": 1, "hardware": hardware(),
        "trials": [{**asdict(t), "ceiling_fps": round(ceiling.at(k), 2),
                    "share_of_ceiling": round(t.rate / ceiling.at(k), 3)
                    if ceiling.at(k) else None} for k, t in enumerate(trials)],
    }


def _frame(segment: Any) -> Any:
    from connectors.video.decoder import decode_segment

    return decode_segment(segment, 1.0)[0].rgb


__all__ = ["make_trial", "measure", "search"]
