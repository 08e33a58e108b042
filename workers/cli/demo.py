"""``make run``: generate a demo clip and answer "a red circle" on it, no downloads.

A red circle enters, stays and leaves among distractor shapes (the synthetic scene
generator writes the clip and its ground truth into ``.demo/``); ``feedwatch run``
then answers the standing question with the ``clip`` answerer and the bundled
``shapes-demo`` CLIP, showing the live table, and stores answers in
``.demo/feedwatch.db``. Each run starts that database afresh: answers are unique per
question, camera and window, so a kept one would show the first run's answers again
(stale after the model or its levels change). Extra arguments are passed on to ``feedwatch run``
(e.g. ``python -m workers.cli.demo --json``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from workers.cli.main import main

DEMO_DIR = Path(".demo")
CLIP = DEMO_DIR / "red-circle.mp4"
VISIBLE = (6.0, 13.0)
DURATION = 20.0


def make_clip(path: Path = CLIP) -> Path:
    """Write the demo clip (and its ground-truth sidecar) unless the same one is there."""
    from pipeline.scenes import scripted_scene, write_clip

    spec = scripted_scene(
        target=("red", "circle"),
        visible=[VISIBLE],
        distractors=3,
        seed=7,
        duration=DURATION,
        size=(320, 240),
    )
    if path.is_file() and _same_scene(path, spec):
        return path
    print(
        f"writing demo clip {path} (red circle visible {VISIBLE[0]:g}-{VISIBLE[1]:g}s)",
        file=sys.stderr,
    )
    return write_clip(spec, path, fps=25, keyframe_interval_s=2.0)


def _same_scene(path: Path, spec: object) -> bool:
    """Whether the clip's sidecar records this very scene (else it is regenerated)."""
    from pipeline.scenes import load_truth

    try:
        return bool(load_truth(path).spec == spec)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def demo_args(clip: Path, extra: list[str]) -> list[str]:
    """The ``feedwatch run`` command line of the demo."""
    return [
        "run",
        str(clip),
        "--camera",
        "demo",
        "--ask",
        "a red circle",
        "--answerer",
        "clip",
        "--clip",
        "shapes-demo",
        "--every",
        "1s",
        "--window",
        "4s",
        "--db",
        f"sqlite:///{DEMO_DIR / 'feedwatch.db'}",
        *extra,
    ]


def timeline(windows: list[tuple[float, float, bool | None]]) -> tuple[str, str, float]:
    """(answers strip, truth strip, agreement) over the demo's windows.

    A window's truth is whether the red circle is on screen at any time in it.
    """
    said = "".join("█" if m else "·" for _, _, m in windows)
    truth = [start < VISIBLE[1] and end > VISIBLE[0] for start, end, _ in windows]
    agree = sum(bool(m) == t for (_, _, m), t in zip(windows, truth, strict=True))
    return said, "".join("█" if t else "·" for t in truth), agree / max(len(windows), 1)


def summary(db_url: str) -> str:
    """What the run answered, window by window, against the clip's ground truth."""
    from connectors.store.repository import Store

    store = Store.from_url(db_url)
    try:
        rows = store.answers(question="a red circle", camera="demo")
    finally:
        store.close()
    said, truth, agreement = timeline([(a.window_start, a.window_end, a.matched) for a in rows])
    return (
        f"windows (1 s apart)  answered matched: {said}\n"
        f"                     circle on screen: {truth}\n"
        f"agreement with the ground truth: {agreement:.0%} of {len(rows)} windows"
    )


def fresh_database(path: Path) -> None:
    """Remove a SQLite database and its journal files, if there."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def run_demo(extra: list[str] | None = None) -> int:
    clip = make_clip()
    fresh_database(DEMO_DIR / "feedwatch.db")
    db_url = f"sqlite:///{DEMO_DIR / 'feedwatch.db'}"
    code = main(demo_args(clip, list(extra or [])))
    if code == 0 and "--json" not in (extra or []):
        print(summary(db_url), file=sys.stderr)
        print(f"stored answers: feedwatch answers --db {db_url}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(run_demo(sys.argv[1:]))
