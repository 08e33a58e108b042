"""The soak's checks beyond counting answers: retention, and errors in the logs.

Retention is checked the way an operator would audit it: per camera, the newest
stream time in the store against the oldest frame, answer and evidence row still
kept. A row older than its keep-time plus one pruning interval is overdue. An
expected answer that is not stored is *pruned*, not missing, only when its window
ended before the answers' cut-off and the answers topic shows it was produced.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from connectors.store.retention import ANSWERS, EVIDENCE, FRAMES, RetentionPolicy

Key = tuple[str, str, float]  # (query, camera, window end)

# a logged ERROR/CRITICAL record or an uncaught traceback; every log format in the
# stack ("time LEVEL name: ...", rich's "LEVEL name: ...", faust's "[LEVEL]") carries
# the level as a word of its own
_ERROR_LINE = re.compile(
    r"(?:^|[\s\[])(?:ERROR|CRITICAL)(?:[\]:\s]|$)|^Traceback \(most recent call last\)"
)


@dataclass
class RetentionAudit:
    """What retention left in the store at the end of a run."""

    keep_s: dict[str, float] = field(default_factory=dict)
    interval_s: float = 0.0
    oldest_age_s: dict[str, float] = field(default_factory=dict)
    overdue: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "keep_s": self.keep_s,
            "interval_s": self.interval_s,
            "oldest_age_s": self.oldest_age_s,
            "overdue": self.overdue,
        }


def _keeps(policy: RetentionPolicy) -> dict[str, float]:
    evidence = min(v for v in (policy.evidence, policy.answers, float("inf")) if v is not None)
    keeps = {"frames": policy.frames, "answers": policy.answers, "evidence": evidence}
    return {k: float(v) for k, v in keeps.items() if v is not None and v != float("inf")}


def _per_camera(conn: Any, table: Any, col: Any, fn: Any) -> dict[str, float]:
    stmt = sa.select(table.c.camera_id, fn(col)).group_by(table.c.camera_id)
    return {str(c): float(v) for c, v in conn.execute(stmt) if v is not None}


def newest_per_camera(engine: sa.Engine) -> dict[str, float]:
    """Each camera's stream clock at the end: its newest stored frame time or window end."""
    with engine.connect() as conn:
        frames = _per_camera(conn, FRAMES, FRAMES.c.t, sa.func.max)
        answers = _per_camera(conn, ANSWERS, ANSWERS.c.window_end, sa.func.max)
    return {c: max(frames.get(c, -1e18), answers.get(c, -1e18)) for c in {*frames, *answers}}


def audit_retention(engine: sa.Engine, policy: RetentionPolicy) -> RetentionAudit:
    """Oldest kept row per table (age on its camera's clock) and the rows overdue."""
    keeps = _keeps(policy)
    audit = RetentionAudit(keep_s=keeps, interval_s=policy.interval)
    newest = newest_per_camera(engine)
    tables = {"frames": (FRAMES, FRAMES.c.t), "answers": (ANSWERS, ANSWERS.c.window_end),
              "evidence": (EVIDENCE, EVIDENCE.c.window_end)}
    with engine.connect() as conn:
        for name, (table, col) in tables.items():
            oldest = _per_camera(conn, table, col, sa.func.min)
            ages = [newest[c] - t for c, t in oldest.items() if c in newest]
            audit.oldest_age_s[name] = round(max(ages), 1) if ages else 0.0
            if name not in keeps:
                continue
            overdue = 0
            for camera, now in newest.items():
                limit = now - keeps[name] - policy.interval
                stmt = sa.select(sa.func.count()).select_from(table).where(
                    table.c.camera_id == camera, col < limit
                )
                overdue += int(conn.execute(stmt).scalar() or 0)
            audit.overdue[name] = overdue
    return audit


def split_missing(
    expected: set[Key],
    stored: set[Key],
    produced: set[Key],
    newest: dict[str, float],
    keep_answers: float | None,
) -> tuple[set[Key], set[Key]]:
    """(missing, pruned) among the expected answers the store does not hold."""
    absent = expected - stored
    if keep_answers is None:
        return absent, set()
    pruned = {
        k for k in absent
        if k in produced and k[2] < newest.get(k[1], float("inf")) - keep_answers
    }
    return absent - pruned, pruned


def log_errors(logs: Iterable[Path], examples: int = 5) -> tuple[int, list[str]]:
    """ERROR/CRITICAL records and tracebacks in the processes' logs, with a few examples."""
    count, shown = 0, list[str]()
    for path in logs:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            if _ERROR_LINE.search(line):
                count += 1
                if len(shown) < examples:
                    shown.append(f"{path.stem}: {line.strip()[:300]}")
    return count, shown
