"""The prepared GPU check (issue 30): ``bench encode`` at batch 1–256, ``bench capacity``
and ``bench e2e`` (embedded mode) at 32 and 128 cameras, one JSON for all of them.

Written for a lent CUDA machine that gets a copy of the working tree and nothing else
(no virtual environment, no Java or Kafka, about ten minutes)::

    python3 -m workers.bench.gpu_check --out "$OUT"            # cuda, full sizes
    python3 -m workers.bench.gpu_check --out DIR --device cpu --small   # a rehearsal

Standard library only, so it starts whatever the machine lacks: it lists the modules the
benches import that are missing, installs the wheels of those found in ``.whl/`` at the
repository root (``pip --no-index --no-deps --target /tmp/site``, never over a module
the machine already has), and runs each bench as ``python3 -m workers.cli bench …
--json`` with the repository and ``/tmp/site`` on ``PYTHONPATH``. Each bench has its own
timeout (its whole process group is killed) and all share one budget, so a hang costs
only its own result; a bench without a final JSON line is recorded as ``{"error": …}``.
``DIR/gpu_check.json`` is rewritten after every bench (a killed check keeps what it
had); each bench's stderr is kept in ``DIR/logs/``. Progress goes to stderr.

Precision: the benches run with ``--precision fp32``; on CUDA the encoder autocasts to
fp16 (``ClipEncoder._autocast``), so the CUDA figures are fp16 ones.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

UTC = timezone.utc  # noqa: UP017 - datetime.UTC is 3.11+; this must start on any python3
ROOT = Path(__file__).resolve().parents[2]
SITE = Path("/tmp/site")  # noqa: S108 - a scratch install target on a throwaway machine
RESULT = "gpu_check.json"
BUDGET_S = 480.0
# import name -> wheel (distribution) name, normalised: what the three benches import
MODULES = {
    "torch": "torch", "numpy": "numpy", "PIL": "pillow", "open_clip": "open_clip_torch",
    "timm": "timm", "ftfy": "ftfy", "regex": "regex", "huggingface_hub": "huggingface_hub",
    "safetensors": "safetensors", "tokenizers": "tokenizers", "transformers": "transformers",
    "av": "av", "click": "click", "rich": "rich", "pydantic": "pydantic",
    "pydantic_core": "pydantic_core", "pydantic_settings": "pydantic_settings",
    "dotenv": "python_dotenv", "sqlalchemy": "sqlalchemy", "alembic": "alembic",
    "mako": "mako", "kafka": "kafka_python", "crc32c": "crc32c",
    "cryptography": "cryptography", "re2": "google_re2", "tenacity": "tenacity",
    "prometheus_client": "prometheus_client", "httpx": "httpx", "psutil": "psutil",
    "yaml": "pyyaml", "matplotlib": "matplotlib",
}
PRECISION_NOTE = ("--precision fp32; on CUDA ClipEncoder autocasts to fp16 "
                  "(pipeline/models/clip_encoder.py), so CUDA figures are fp16")
DEVICE_PROBE = (
    "import json, platform, torch\n"
    "cuda = torch.cuda.is_available()\n"
    "print(json.dumps({'python': platform.python_version(), 'torch': torch.__version__,\n"
    "  'torch_cuda': torch.version.cuda, 'cuda_available': cuda,\n"
    "  'card': torch.cuda.get_device_name(0) if cuda else None,\n"
    "  'cards': torch.cuda.device_count() if cuda else 0}))\n"
)


@dataclass(frozen=True)
class Bench:
    """One bench run: a name in the JSON, its full command line and its own timeout."""

    name: str
    argv: list[str]
    timeout_s: float
    env: dict[str, str] = field(default_factory=dict)


def plan(device: str, small: bool, python: str = sys.executable) -> list[Bench]:
    """The four runs, sized for about eight minutes on an H100 (``small``: a CPU rehearsal)."""
    cli = [python, "-m", "workers.cli", "bench"]
    clip = "shapes-demo" if small else "ViT-B-32"
    sizes = "1,2,4,8" if small else ",".join(str(2**i) for i in range(9))
    # the embedded e2e loads its encoder on "auto": hide CUDA to keep a cpu check on cpu
    e2e_env = {"CUDA_VISIBLE_DEVICES": ""} if device == "cpu" else {}
    common = ["--clip", clip, "--json"]
    runs = [
        Bench("encode", [*cli, "encode", "--device", device, "--precision", "fp32",
                         "--batch-sizes", sizes, "--frames", "16" if small else "512",
                         "--repeat", "1" if small else "2", *common], 60 if small else 100),
        Bench("capacity", [*cli, "capacity", "--device", device, "--precision", "fp32",
                           "--max-cameras", "4" if small else "256", "--seconds",
                           "2" if small else "5", "--retries", "0", *common],
              60 if small else 150),
    ]
    for cameras in (2, 4) if small else (32, 128):
        runs.append(Bench(f"e2e_embedded_{cameras}", [
            *cli, "e2e", "--cameras", str(cameras), "--seconds", "4" if small else "15",
            "--precision", "fp32", "--timeout", "15" if small else "30", *common],
            60 if small else (90 if cameras <= 32 else 120), e2e_env))
    return runs


def last_json(text: str) -> dict[str, Any] | None:
    """The last line of ``text`` that is a JSON object (a bench's ``--json`` result)."""
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def run_bench(bench: Bench, env: dict[str, str], logs: Path, timeout_s: float) -> dict[str, Any]:
    """Run one bench in its own process group; its JSON under ``result``, else ``error``."""
    logs.mkdir(parents=True, exist_ok=True)
    out, err = logs / f"{bench.name}.stdout", logs / f"{bench.name}.stderr.log"
    started = time.monotonic()
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(bench.argv, cwd=ROOT, env={**env, **bench.env},
                                stdout=stdout, stderr=stderr, start_new_session=True)
        try:
            rc: int | None = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            rc = None
            _kill_group(proc)
    record: dict[str, Any] = {"argv": bench.argv[1:], "rc": rc,
                              "seconds": round(time.monotonic() - started, 1)}
    result = last_json(out.read_text(errors="replace"))
    if rc is None:
        record["error"] = f"timed out after {timeout_s:.0f} s"
    elif result is None:
        record["error"] = f"exit {rc} without a JSON result"
    if result is not None:
        record["result"] = result  # a shortfall exits 1 but its figures still count
    if "error" in record:
        record["stderr_tail"] = err.read_text(errors="replace")[-2000:]
    return record


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def missing_modules(env: dict[str, str], python: str = sys.executable) -> list[str]:
    """The benches' modules this interpreter cannot find, with the benches' ``PYTHONPATH``."""
    code = ("import importlib.util, json, sys\n"
            "print(json.dumps([m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]))")
    done = subprocess.run([python, "-c", code, *MODULES], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    return list(json.loads(done.stdout or "[]"))


def wheels_for(missing: list[str], folder: Path) -> list[Path]:
    """Wheels in ``folder`` for missing modules, and any whose distribution we do not map;
    never one for a module the machine has (it could shadow a build torch depends on)."""
    have = set(MODULES.values()) - {MODULES[m] for m in missing}
    return [w for w in sorted(folder.glob("*.whl")) if _dist(w) not in have]


def _dist(wheel: Path) -> str:
    return wheel.name.split("-")[0].lower().replace(".", "_")


def bench_env(site: Path | None) -> dict[str, str]:
    """The environment every bench runs in: the repository (and site) importable, offline."""
    paths = [str(ROOT), *([str(site)] if site else []), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p),
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def preflight(python: str = sys.executable) -> tuple[dict[str, str], dict[str, Any]]:
    """Check what the benches import; install ``.whl/`` wheels for what is missing."""
    env = bench_env(None)
    report: dict[str, Any] = {"missing_before": missing_modules(env, python)}
    wheels = wheels_for(report["missing_before"], ROOT / ".whl")
    if report["missing_before"] and wheels:
        note(f"installing {len(wheels)} wheels from .whl/ into {SITE}")
        done = subprocess.run(
            [python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
             "--target", str(SITE), *map(str, wheels)],
            capture_output=True, text=True, timeout=240, check=False)
        report["wheels_installed"] = [w.name for w in wheels] if done.returncode == 0 else []
        if done.returncode:
            report["pip_error"] = done.stderr[-2000:]
        env = bench_env(SITE)
        report["missing"] = missing_modules(env, python)
    else:
        report["missing"] = report["missing_before"]
    if report["missing"]:
        note(f"still missing: {', '.join(report['missing'])} (benches that need them fail)")
    return env, report


def device_info(env: dict[str, str], python: str = sys.executable) -> dict[str, Any]:
    """Card name, torch and CUDA versions, from torch in a child (errors recorded)."""
    try:
        done = subprocess.run([python, "-c", DEVICE_PROBE], env=env, capture_output=True,
                              text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        return {"error": "device probe timed out"}
    return last_json(done.stdout) or {"error": done.stderr[-2000:] or "no output"}


def run_all(benches: list[Bench], env: dict[str, str], out: Path, head: dict[str, Any],
            budget_s: float = BUDGET_S) -> dict[str, Any]:
    """Run every bench within one budget, rewriting the combined JSON after each."""
    report: dict[str, Any] = {**head, "started_utc": _now(), "budget_s": budget_s,
                              "benches": {}}
    deadline = time.monotonic() + budget_s
    for bench in benches:
        left = deadline - time.monotonic()
        if left < 5:
            report["benches"][bench.name] = {"error": "skipped: the time budget was spent"}
        else:
            timeout = min(bench.timeout_s, left)
            note(f"{bench.name}: start (timeout {timeout:.0f} s)")
            report["benches"][bench.name] = run_bench(bench, env, out / "logs", timeout)
            note(f"{bench.name}: {_outcome(report['benches'][bench.name])}")
        write(out, {**report, "ended_utc": _now()})
    report["ended_utc"] = _now()
    write(out, report)
    return report


def _outcome(record: dict[str, Any]) -> str:
    return (f"{record.get('error', 'ok')} in {record.get('seconds', 0)} s"
            + (" (JSON kept)" if "error" in record and "result" in record else ""))


def write(out: Path, report: dict[str, Any]) -> Path:
    """``out/gpu_check.json``, replaced whole (never a half-written file)."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{RESULT}.tmp"
    tmp.write_text(json.dumps(report, indent=1) + "\n")
    return tmp.replace(out / RESULT)


def note(line: str) -> None:
    print(f"[gpu_check {datetime.now(UTC):%H:%M:%S}] {line}", file=sys.stderr, flush=True)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m workers.bench.gpu_check",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=os.environ.get("OUT"),
                        help="Folder for gpu_check.json and logs/ (default: $OUT).")
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu.")
    parser.add_argument("--small", action="store_true",
                        help="Tiny sizes and shapes-demo: a rehearsal in about two minutes.")
    parser.add_argument("--budget", type=float, default=BUDGET_S,
                        help=f"Seconds for all benches together (default {BUDGET_S:g}).")
    args = parser.parse_args(argv)
    if args.out is None:
        parser.error("--out DIR or $OUT is required")
    started = _now()
    note(f"preflight (python {sys.version.split()[0]}, repository {ROOT})")
    env, pre = preflight()
    info = device_info(env)
    problem = (info.get("error") or "").strip().splitlines()[-1:]
    note(f"device: {info.get('card') or ''.join(problem) or 'no CUDA card'}; "
         f"torch {info.get('torch')}")
    head = {"check": "workers.bench.gpu_check", "device": args.device, "small": args.small,
            "card": info.get("card"), "torch": info.get("torch"), "host": info,
            "precision": PRECISION_NOTE, "preflight": pre, "check_started_utc": started}
    report = run_all(plan(args.device, args.small), env, args.out, head, args.budget)
    failed = [n for n, r in report["benches"].items() if "error" in r]
    note(f"wrote {args.out / RESULT}; failed: {', '.join(failed) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
