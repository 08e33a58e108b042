"""``feedwatch bench questions`` results: rows, the summary fields, the table and the plot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers.bench._table import hardware_line, print_table, save_plot

# encode s, evaluate s, passes, answers, VLM vision passes per frame, VLM answers generated
Run = tuple[float, float, float, int, float, int]


@dataclass(frozen=True)
class Row:
    """One Q in one mode; times in seconds for one window."""

    mode: str
    q: int
    encode_s: float
    evaluate_s: float
    total_s: float
    ratio: float
    passes_per_frame: float
    answers: int
    extrapolated: bool = False
    vlm_passes_per_frame: float | None = None
    vlm_calls: int | None = None


def rows(mode: str, qs: list[int], runs: list[Run], vlm: bool = False) -> list[Row]:
    if not runs:
        return []
    base = runs[0][0] + runs[0][1]
    return [Row(mode, q, e, v, e + v, (e + v) / base, p, n,
                vlm_passes_per_frame=round(vp, 4) if vlm else None,
                vlm_calls=vc if vlm else None)
            for q, (e, v, p, n, vp, vc) in zip(qs, runs, strict=True)]


def extrapolate(rows: list[Row], qs: list[int]) -> list[Row]:
    """Rows for the Q beyond the measured ones, linear in Q from the measured ends."""
    if not rows:
        return []
    lo, hi = rows[0], rows[-1]
    span = max(hi.q - lo.q, 1)
    out = list(rows)
    for q in (q for q in qs if q > hi.q):
        def line(a: float, b: float, q: int = q) -> float:
            return b + (b - a) * (q - hi.q) / span if hi.q > lo.q else a * q / lo.q
        enc, ev = line(lo.encode_s, hi.encode_s), line(lo.evaluate_s, hi.evaluate_s)
        passes = hi.passes_per_frame / hi.q * q
        vlm = None if hi.vlm_passes_per_frame is None else hi.vlm_passes_per_frame / hi.q * q
        out.append(Row("reference", q, enc, ev, enc + ev, (enc + ev) / lo.total_s, passes,
                       q, extrapolated=True, vlm_passes_per_frame=vlm))
    return out


def summary(product: list[Row], reference: list[Row], key_q: int) -> dict[str, Any]:
    """The fields other tools rely on, for Q = ``key_q`` (100 by default)."""
    p = next(r for r in product if r.q == key_q)
    r = next((r for r in reference if r.q == key_q), None)
    at100 = next((x for x in product if x.q == 100), None)
    return {
        "key_q": key_q,
        "ratio_q100": round(at100.ratio, 4) if at100 else None,
        f"ratio_q{key_q}": round(p.ratio, 4),
        "passes_per_frame": p.passes_per_frame,
        "reference_passes_per_frame": r.passes_per_frame if r else None,
        "reference_extrapolated": r.extrapolated if r else None,
        f"reference_ratio_q{key_q}": round(r.ratio, 4) if r else None,
        f"speedup_vs_reference_q{key_q}": round(r.total_s / p.total_s, 2) if r else None,
        "passes_per_frame_all_q": sorted({x.passes_per_frame for x in product}),
        **_vlm_summary(product, reference),
    }


def _vlm_summary(product: list[Row], reference: list[Row]) -> dict[str, Any]:
    """VLM vision-tower frames per window frame, keyed by Q (only when a VLM answered)."""
    if not product or product[0].vlm_passes_per_frame is None:
        return {}
    return {
        "vlm_vision_passes_per_frame": {str(r.q): r.vlm_passes_per_frame for r in product},
        "vlm_calls_per_window": {str(r.q): r.vlm_calls for r in product},
        "reference_vlm_vision_passes_per_frame": {
            str(r.q): r.vlm_passes_per_frame for r in reference if not r.extrapolated},
    }


def plot(product: list[Row], reference: list[Row], path: Path, title: str, footer: str,
         frames: int) -> Path:
    """Seconds per window against Q (log-log); extrapolated reference points dashed."""

    def draw(ax: Any) -> None:
        ax.plot([r.q for r in product], [r.total_s for r in product], "o-",
                label="feedwatch: encode once + one evaluation")
        ax.plot([r.q for r in product], [r.evaluate_s for r in product], "s:",
                label="   of which evaluate (select, RoI, answer, evidence)")
        measured = [r for r in reference if not r.extrapolated]
        ax.plot([r.q for r in measured], [r.total_s for r in measured], "^-", color="C3",
                label="reference: 2 encodes per frame per question")
        rest = measured[-1:] + [r for r in reference if r.extrapolated]
        if len(rest) > 1:
            ax.plot([r.q for r in rest], [r.total_s for r in rest], "^--", color="C3",
                    alpha=0.5, label="reference, extrapolated")
        for r in product:
            ax.annotate(f"{r.ratio:.2f}×", (r.q, r.total_s), textcoords="offset points",
                        xytext=(0, 7), ha="center", fontsize=8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("standing questions on the camera (Q)")
        ax.set_xticks([r.q for r in product], [str(r.q) for r in product])
        ax.set_ylabel(f"seconds per {frames}-frame window")
        ax.legend(fontsize=8)

    return save_plot(path, draw, title=title, footer=footer)


def print_result(result: dict[str, Any], product: list[Row], reference: list[Row]) -> None:
    ref = {r.q: r for r in reference}
    rows = [[r.q, r.encode_s, r.evaluate_s, r.total_s, f"{r.ratio:.2f}×", r.passes_per_frame,
             ref[r.q].total_s if r.q in ref else None,
             (f"{ref[r.q].ratio:.1f}×" + (" (extrap.)" if ref[r.q].extrapolated else ""))
             if r.q in ref else None,
             ref[r.q].passes_per_frame if r.q in ref else None] for r in product]
    k = result["key_q"]
    print_table(
        f"questions: one {result['frames']}-frame window, CLIP {result['clip']}",
        ["Q", "encode s", "evaluate s", "total s", "× Q=1", "passes/frame",
         "reference s", "ref × Q=1", "ref passes/frame"], rows,
        [f"Q={k}: {result[f'ratio_q{k}']:.2f}× one question; vision passes per frame "
         f"{result['passes_per_frame']} vs {result['reference_passes_per_frame']} in the "
         f"reference; text embeddings once per question: "
         f"{result['text_ms_per_question']:.1f} ms each (not per window)",
         hardware_line(result["hardware"])],
    )
