"""A heartbeat file a long-running process touches so container probes see it alive."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)


class Heartbeat:
    """Touches ``path`` at most once per ``every`` seconds; a no-op without a path."""

    def __init__(self, path: str | os.PathLike[str] | None, every: float = 5.0) -> None:
        self.path = Path(path) if path else None
        self.every = every
        self._last = 0.0

    @classmethod
    def from_env(cls) -> Heartbeat:
        return cls(os.environ.get("FEEDWATCH_HEARTBEAT_FILE") or None)

    def beat(self) -> None:
        now = time.monotonic()
        if self.path is None or now - self._last < self.every:
            return
        self._last = now
        try:
            self.path.touch()
        except OSError as exc:  # a probe problem must never stop the work it watches
            log.warning("heartbeat %s not touched: %s", self.path, exc)
