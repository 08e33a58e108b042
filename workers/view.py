"""The live terminal view of a run: latest answer per (question, camera) + progress.

Drawn with rich on stderr, so stdout stays free for ``--json``.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.timings import WALL_STREAM, clock
from pipeline.types import Answer

SKIPPED = {"gap": "with no video (gap: an outage or stall of the camera)",
           "sparse": "shorter than the sampling interval (sparse: raise --sample-fps)",
           "lag": "behind the wall clock (lag: max_lag)"}
MARK = {True: "[bold green]yes[/]", False: "[dim]no[/]", None: "[yellow]?[/]"}
_CONSOLE: list[Console] = []


def stderr_console() -> Console:
    """The one stderr console: logs and the live table share it, so they do not tear."""
    if not _CONSOLE:
        _CONSOLE.append(Console(stderr=True))
    return _CONSOLE[0]


def setup_logging(level: str) -> None:
    """Logs to stderr through rich; our packages at ``level``, libraries at WARNING."""
    import logging

    from rich.logging import RichHandler

    handler = RichHandler(console=stderr_console(), show_path=False, show_time=False)
    logging.basicConfig(level=logging.WARNING, handlers=[handler], format="%(name)s: %(message)s")
    for name in ("connectors", "pipeline", "workers", "feedwatch"):
        logging.getLogger(name).setLevel(level.upper())


class LiveView:
    """A rich Live display; ``update`` with each answer, ``advance`` with each segment."""

    def __init__(self, console: Console | None = None, enabled: bool = True) -> None:
        self.console = console or stderr_console()
        self.enabled = enabled
        self.latest: dict[tuple[str, str], Answer] = {}
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[pos]}"),
            TimeElapsedColumn(),
            console=self.console,
        )
        self._tasks: dict[str, TaskID] = {}
        self._live = Live(
            self._render(), console=self.console, refresh_per_second=4, transient=False
        )

    def __enter__(self) -> LiveView:
        if self.enabled:
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._live.update(self._render())
            self._live.__exit__(None, None, None)

    def add_file(self, camera: str, duration: float | None) -> None:
        """A progress bar for a file source (``None``: length unknown, bar spins)."""
        self._tasks[camera] = self.progress.add_task(camera, total=duration, pos="")

    def advance(self, camera: str, position: float) -> None:
        if camera in self._tasks:
            self.progress.update(self._tasks[camera], completed=position, pos=clock(position, 1))
        self._refresh()

    def update(self, answer: Answer) -> None:
        self.latest[(answer.question, answer.camera)] = answer
        self._refresh()

    def _refresh(self) -> None:
        if self.enabled:
            self._live.update(self._render())

    def _render(self) -> Group:
        table = Table(title="feedwatch: latest answers", expand=False)
        for name in ("question", "camera", "window", "answer", "score", "frames", "tokens", "ms"):
            table.add_column(name, overflow="fold", min_width=12 if name == "question" else None)
        for a in sorted(self.latest.values(), key=lambda a: (a.question, a.camera)):
            table.add_row(
                a.question,
                a.camera,
                _window(a.window_start, a.window_end),
                _answer(a),
                "" if a.score is None else f"{a.score:.3f}",
                _frames(a.frames),
                str(a.visual_tokens),
                f"{a.latency_ms:.0f}",
            )
        return Group(table, self.progress)


def _window(start: float, end: float) -> str:
    """A file's window in seconds (``4–8s``), a live camera's in UTC clock time."""
    if end > WALL_STREAM:
        return f"{clock(start)}–{clock(end)} UTC"
    return f"{start:g}–{end:g}s"


def _frames(times: tuple[float, ...]) -> str:
    shown = [clock(t, 1) if t > WALL_STREAM else f"{t:.1f}" for t in times]
    if len(shown) <= 2:
        return " ".join(shown)
    return f"{len(shown)}: {shown[0]}…{shown[-1]}"


def _answer(a: Answer) -> str:
    """The matched mark, plus the text when it says more than yes/no."""
    extra = "" if a.text.lower() in ("yes", "no", "unknown", "") else f" {escape(a.text[:120])}"
    return MARK[a.matched] + extra


def run_summary(stats: Any, new: int, store_url: str, cameras: list[str]) -> list[str]:
    """The lines a run ends with: what it answered and stored, and (a re-run) how many
    of its answers the store had already."""
    lines = [f"{stats.answers} answers on {stats.frames} frames; {new} new rows in "
             f"{store_url}; {stats.dead_letters} dead letters"
             + (" (feedwatch deadletters lists them)" if stats.dead_letters else "")]
    skipped = stats.skipped
    if skipped:
        why = ", ".join(f"{n} {SKIPPED.get(r, r)}" for r, n in sorted(skipped.items()))
        lines.append(f"{sum(skipped.values())} window(s) due but skipped, not answered: {why}")
    sent = stats.answers - stats.unsent  # an answer dead-lettered unsent was not stored
    if sent and new < sent:
        lines.append(
            f"{sent - new} of these answers were stored already (the same camera "
            f"name ({', '.join(cameras)}), question and window, as on a re-run): the stored "
            "ones were kept; to store another video apart, give it another --camera name")
    return lines
