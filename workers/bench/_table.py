"""Output helpers shared by the benchmarks: tables, one JSON object, plots, progress.

Tables and notes go to stdout (``--json`` replaces them with exactly one JSON object
there); progress bars go to stderr so piping ``--json`` stays clean. Plots are PNGs
written with matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

Progress = Callable[[str, float, float], None]
"""``progress(label, done, total)``: what a bench calls as it goes."""


def hardware() -> dict[str, Any]:
    """The machine a figure was measured on: cores, CPU model, torch threads, GPU."""
    info: dict[str, Any] = {"nproc": os.cpu_count(), "cpu": cpu_model(),
                            "python": platform.python_version()}
    try:
        from pipeline.models.runtime import describe

        info.update(describe())
    except ImportError:  # the bench commands that need no model still report the host
        pass
    return info


def cpu_model() -> str:
    """``model name`` from /proc/cpuinfo (else the platform's processor string)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def emit_json(result: dict[str, Any]) -> None:
    """The one JSON object ``--json`` prints on stdout."""
    print(json.dumps(result, default=_plain), flush=True)


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                notes: Sequence[str] = ()) -> None:
    """A rich table on stdout; the first column left-aligned, the rest right."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for i, col in enumerate(columns):
        text = all(isinstance(r[i], str) for r in rows if r[i] is not None)
        table.add_column(col, justify="left" if i == 0 or (rows and text) else "right")
    for row in rows:
        table.add_row(*(fmt(v) for v in row))
    console = Console(width=None if Console().is_terminal else 160)
    console.print(table)
    for note in notes:
        console.print(note, highlight=False)


def fmt(value: Any) -> str:
    """Numbers with sensible precision; None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


@contextlib.contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Progress]:
    """A transient rich progress bar on stderr, one task per label."""
    if not enabled:
        yield lambda label, done, total: None
        return
    from rich.console import Console
    from rich.progress import Progress as RichProgress

    tasks: dict[str, Any] = {}
    with RichProgress(console=Console(stderr=True), transient=True) as bar:

        def update(label: str, done: float, total: float) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done, total=total)

        yield update


def save_plot(path: Path, draw: Callable[[Any], None], *, title: str, footer: str = "") -> Path:
    """Draw onto one matplotlib Axes with ``draw(ax)`` and save a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.6), dpi=120)
    draw(ax)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if footer:
        fig.text(0.01, 0.01, footer, fontsize=7, color="#555555")
    fig.tight_layout(rect=(0, 0.03 if footer else 0, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def hardware_line(info: dict[str, Any]) -> str:
    """One line for tables and plot footers."""
    gpu = info.get("gpu") or "no GPU"
    return (f"{info.get('cpu', '?')}, {info.get('nproc', '?')} cores, torch "
            f"{info.get('torch', '?')} ({info.get('torch_threads', '?')} threads), {gpu}")
