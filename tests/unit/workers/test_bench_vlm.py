"""``feedwatch bench questions --answerer vlm --vlm tiny-llava``: VLM vision passes counted.

Counts, never timings: with the questions of one window sharing the VLM's visual
tokens, the vision tower sees each window frame at most once whatever Q is; the
reference (a fresh window per question) pays for every question's frames.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.models.tiny import save_tiny_clip
from workers.cli.commands.bench import questions

pytestmark = pytest.mark.slow


def _json(args: list[str]) -> dict[str, Any]:
    res = CliRunner().invoke(questions.command, args)
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stdout
    out: dict[str, Any] = json.loads(lines[0])
    return out


def test_vlm_questions_share_one_vision_pass_per_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.answerers.vlm import load_adapter

    monkeypatch.setenv("FEEDWATCH_MODELS_DIR", str(tmp_path / "models"))
    load_adapter.cache_clear()
    clip = save_tiny_clip(tmp_path)
    out = _json(
        [
            "--clip",
            clip,
            "--frames",
            "8",
            "--qs",
            "1,4",
            "--reference-max-q",
            "4",
            "--repeat",
            "1",
            "--device",
            "cpu",
            "--answerer",
            "vlm",
            "--vlm",
            "tiny-llava",
            "--json",
        ]
    )
    product = out["vlm_vision_passes_per_frame"]
    reference = out["reference_vlm_vision_passes_per_frame"]
    assert set(product) == {"1", "4"} and out["answerer"] == "vlm"
    assert 0 < product["1"] <= product["4"] <= 1.0
    assert reference["4"] > reference["1"] > 0  # a fresh window per question: paid per question
    assert reference["4"] > product["4"]
    assert [r["answers"] for r in out["rows"]] == [1, 4]
    assert out["vlm_calls_per_window"] == {"1": 1, "4": 4}  # the adapter's own count


def test_vlm_answerer_needs_a_spec() -> None:
    res = CliRunner().invoke(questions.command, ["--answerer", "vlm", "--vlm", "", "--json"])
    assert res.exit_code == 2 and "--vlm" in res.output


def test_bench_cascade_reports_calls_per_window_and_who_decided(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.answerers.vlm import load_adapter
    from workers.cli.commands.bench import cascade

    monkeypatch.setenv("FEEDWATCH_MODELS_DIR", str(tmp_path / "models"))
    load_adapter.cache_clear()
    res = CliRunner().invoke(
        cascade.command,
        [
            "--clip",
            save_tiny_clip(tmp_path),
            "--seeds",
            "7",
            "--seconds",
            "10",
            "--device",
            "cpu",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    calls = out["vlm_calls_per_window"]
    assert calls["vlm"] == 1.0
    assert 0.0 <= calls["cascade"] <= calls["cascade_no_reuse"] <= 1.0
    modes = out["modes"]
    windows = modes["cascade"]["windows"]
    assert windows == modes["vlm"]["windows"] == 7  # 4-s windows every second over 10 s
    assert sum(out["decided_by"].values()) == windows
    assert modes["cascade"]["vlm_calls"] <= out["decided_by"]["vlm"]
    assert out["visible_share"] == pytest.approx(0.2, abs=0.11)
