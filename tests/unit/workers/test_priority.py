"""A Kafka worker lowers its CPU priority, and the threads it starts later (the encoder's)
run at the lowered one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from workers.config import PerceptionSettings

PROBE = """
import os, sys, threading
from workers.ops.priority import yield_cpu
before = os.getpriority(os.PRIO_PROCESS, 0)
now = yield_cpu(int(sys.argv[1]))
seen = []
def probe():
    seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
t = threading.Thread(target=probe)
t.start(); t.join()
print(before, now, seen[0])
"""


@pytest.mark.parametrize("increment", [0, 3])
def test_the_worker_and_its_later_threads_yield(increment: int) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, str(increment)], capture_output=True,
                         text=True, check=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    before, now, thread = map(int, out.stdout.split())
    assert now == thread == min(19, before + increment)


def test_the_setting_is_a_niceness_increment() -> None:
    assert PerceptionSettings().nice == 10
    with pytest.raises(ValueError, match="nice"):
        PerceptionSettings(nice=20)
