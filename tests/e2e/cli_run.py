"""`feedwatch` run in a child process, as the end-to-end hook tests run it."""

from __future__ import annotations

import os
import subprocess
import sys

from connectors.store.secret_box import new_key

HOOK_ENV = {
    "FEEDWATCH_LOG_LEVEL": "WARNING",
    "FEEDWATCH_HOOKS_WAIT_ON_EXIT_S": "30",
    "FEEDWATCH_HOOKS_BACKOFF_BASE_S": "0.2",
    "FEEDWATCH_SECRETS_KEY": new_key(),  # --hook-secret is stored sealed
}


def run_feedwatch(args: list[str]) -> subprocess.CompletedProcess[str]:
    """`feedwatch ARGS` in a child process: warnings only, deliveries awaited up to 30 s at
    exit, quick delivery retries; its output captured, bounded at 10 minutes."""
    code = "import sys; from workers.cli.main import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **HOOK_ENV},
        check=False,
    )
