"""The prepared GPU check (``workers.bench.gpu_check``) with fake benches: one JSON for
all, a failed or hung bench recorded as an error without losing the others, the hung
one's whole process group killed, and wheels never installed over a module present."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from workers.bench import gpu_check
from workers.bench.gpu_check import Bench


def fake(name: str, code: str, timeout_s: float = 20.0) -> Bench:
    return Bench(name, [sys.executable, "-c", code], timeout_s)


def test_one_json_keeps_every_result_when_one_bench_fails_and_one_hangs(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    hang = ("import subprocess, sys, time\n"
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
            "time.sleep(60)\n")
    benches = [
        fake("ok", "print('progress'); print('{\"fps\": 12.5}')"),
        fake("broken", "import sys; sys.stderr.write('no CUDA here'); sys.exit(2)"),
        fake("hangs", hang, timeout_s=1.5),
        fake("shortfall", "import sys; print('{\"shortfall\": 3}'); sys.exit(1)"),
    ]
    started = time.monotonic()
    gpu_check.run_all(benches, dict(os.environ), tmp_path, {"card": "Fake GPU", "torch": "9"})
    assert time.monotonic() - started < 10

    report = json.loads((tmp_path / gpu_check.RESULT).read_text())
    assert report["card"] == "Fake GPU" and report["torch"] == "9"
    assert report["started_utc"] <= report["ended_utc"]
    runs = report["benches"]
    assert runs["ok"]["result"] == {"fps": 12.5} and "error" not in runs["ok"]
    assert runs["broken"]["error"] == "exit 2 without a JSON result"
    assert "no CUDA here" in runs["broken"]["stderr_tail"]
    assert runs["hangs"]["error"].startswith("timed out")
    assert runs["shortfall"]["result"] == {"shortfall": 3} and runs["shortfall"]["rc"] == 1
    assert not running(int(pidfile.read_text()))  # the hung bench's child went with it


def running(pid: int) -> bool:
    """Alive and not a zombie (one may wait a moment for its new parent to reap it)."""
    for _ in range(20):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        if state == "Z":
            return False
        time.sleep(0.1)
    return True


def test_a_spent_budget_skips_the_rest_and_says_so(tmp_path: Path) -> None:
    report = gpu_check.run_all([fake("late", "print('{}')")], dict(os.environ), tmp_path, {},
                               budget_s=0)
    assert report["benches"]["late"] == {"error": "skipped: the time budget was spent"}


def test_wheels_go_only_to_missing_or_unmapped_modules(tmp_path: Path) -> None:
    for name in ("av-14.0-cp311-cp311-linux_x86_64.whl", "numpy-2.0-cp311-cp311-linux.whl",
                 "SQLAlchemy-2.1-py3-none-any.whl", "greenlet-3.0-cp311-linux.whl"):
        (tmp_path / name).write_bytes(b"")
    chosen = [w.name.split("-")[0] for w in gpu_check.wheels_for(["av", "sqlalchemy"], tmp_path)]
    assert chosen == ["SQLAlchemy", "av", "greenlet"]  # never numpy: the machine has it


def test_the_full_plan_fits_the_budget_and_stays_off_kafka() -> None:
    runs = {b.name: b for b in gpu_check.plan("cuda", small=False)}
    assert list(runs) == ["encode", "capacity", "e2e_embedded_32", "e2e_embedded_128"]
    assert "1,2,4,8,16,32,64,128,256" in runs["encode"].argv
    assert sum(b.timeout_s for b in runs.values()) <= gpu_check.BUDGET_S
    assert not any("--kafka" in b.argv or "--compare" in b.argv for b in runs.values())
    cpu = gpu_check.plan("cpu", small=True)
    assert all(b.env == {"CUDA_VISIBLE_DEVICES": ""} for b in cpu if b.name.startswith("e2e"))
