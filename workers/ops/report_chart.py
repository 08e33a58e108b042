"""The heat strip of ``feedwatch report --png``: one row per question and camera, one
cell per bucket, coloured by the share of the bucket the answer was yes.

matplotlib is imported inside :func:`heat_strip` (Agg backend, no display needed), so
importing this module costs nothing.
"""

from __future__ import annotations

from pathlib import Path

from connectors.store.rollups.wire import Report, SeriesReport

LABEL_MAX = 48  # characters of a row label


def clock(seconds: float) -> str:
    """``1h02m03s``-style matched time."""
    whole = round(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


def label(series: SeriesReport) -> str:
    text = f"{series.question} — {series.camera}"
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


def shares(series: SeriesReport) -> list[float]:
    """Matched share of each bucket, 0..1."""
    return [b.matched_s / (b.end - b.start) if b.end > b.start else 0.0 for b in series.buckets]


def heat_strip(report: Report, path: Path) -> Path:
    """Draw ``report`` as a heat strip PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report.series
    columns = len(rows[0].buckets) if rows else 0
    fig, ax = plt.subplots(figsize=(12, 1.2 + 0.45 * max(1, len(rows))), dpi=120)
    if rows and columns:
        image = ax.imshow(
            [shares(s) for s in rows], aspect="auto", cmap="OrRd", vmin=0.0, vmax=1.0,
            interpolation="nearest",
        )
        fig.colorbar(image, ax=ax, pad=0.12, fraction=0.03, label="matched share of bucket")
        ax.set_yticks(range(len(rows)), [label(s) for s in rows], fontsize=8)
        step = max(1, columns // 8)
        ticks = list(range(0, columns, step))
        ax.set_xticks(ticks, [rows[0].buckets[i].local[:16].replace("T", "\n") for i in ticks],
                      fontsize=7)
        right = ax.secondary_yaxis("right")
        right.set_yticks(range(len(rows)), [clock(s.matched_s) for s in rows], fontsize=8)
    else:
        ax.text(0.5, 0.5, "no answers stored in this period", ha="center", va="center")
        ax.set_axis_off()
    ax.set_title(f"matched time per question and camera ({report.bucket} buckets, {report.tz})",
                 fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
