"""``feedwatch bench encode|questions|tokens|capacity`` on a tiny random CLIP.

Smoke tests of the JSON contract and of the invariants that are counts, never of
timings: one vision pass per frame for every Q, two per question in the reference.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from workers.bench import capacity, questions
from workers.bench._embedded import TrialResult, camera_feeds, make_clips, run_trial
from workers.cli.commands.bench import encode, tokens
from workers.cli.commands.bench import questions as questions_command

pytestmark = pytest.mark.slow

TINY: dict[str, Any] = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": [32, 32], "patch_size": 8, "width": 16, "layers": 1,
                   "head_width": 8},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 16, "heads": 2,
                 "layers": 1},
}


@pytest.fixture(scope="module")
def tiny_spec(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny random CLIP saved as an open_clip folder: ``local-dir:PATH``."""
    import torch
    from open_clip.model import CLIP

    root = tmp_path_factory.mktemp("benchclip")
    (root / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY}))
    torch.manual_seed(0)
    torch.save(CLIP(**TINY).state_dict(), root / "open_clip_pytorch_model.bin")
    return f"local-dir:{root}"


@pytest.fixture(scope="module")
def encoder(tiny_spec: str) -> Any:
    from pipeline.models.clip_encoder import ClipEncoder

    return ClipEncoder.from_spec(tiny_spec, "cpu")


def _json(args: list[str], cmd: Any) -> dict[str, Any]:
    res = CliRunner().invoke(cmd, args)
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stdout  # --json prints one object and nothing else
    out: dict[str, Any] = json.loads(lines[0])
    return out


def test_encode_reports_frames_per_second_by_batch_size(tiny_spec: str, tmp_path: Path) -> None:
    png = tmp_path / "enc.png"
    out = _json(["--clip", tiny_spec, "--frames", "4", "--batch-sizes", "2,1",
                 "--device", "cpu", "--precision", "fp32,int8", "--json", "--plot", str(png)],
                encode.command)
    cells = [(r["precision"], r["batch_size"]) for r in out["rows"]]
    assert cells == [("fp32", 1), ("fp32", 2), ("int8", 1), ("int8", 2)]
    assert all(r["frames_per_s"] > 0 and r["device"] == "cpu" for r in out["rows"])
    assert out["rows"][0]["speedup_vs_b1"] == 1.0
    assert out["hardware"]["nproc"] >= 1 and png.stat().st_size > 0


def test_questions_encode_once_for_any_q_and_reference_twice_per_question(
    tiny_spec: str, tmp_path: Path
) -> None:
    png = tmp_path / "q.png"
    out = _json(["--clip", tiny_spec, "--frames", "6", "--qs", "1,2,100",
                 "--reference-max-q", "2", "--device", "cpu", "--json", "--plot", str(png)],
                questions_command.command)
    assert out["key_q"] == 100 and out["ratio_q100"] > 0
    assert [r["passes_per_frame"] for r in out["rows"]] == [1.0, 1.0, 1.0]
    assert [r["answers"] for r in out["rows"]] == [1, 2, 100]
    assert out["passes_per_frame"] == 1.0
    ref = {r["q"]: r for r in out["reference_rows"]}
    assert (ref[1]["passes_per_frame"], ref[2]["passes_per_frame"]) == (2.0, 4.0)
    assert not ref[2]["extrapolated"] and ref[100]["extrapolated"]
    assert out["reference_passes_per_frame"] == 200.0
    assert png.stat().st_size > 0


def test_product_run_answers_every_question_with_evidence(encoder: Any) -> None:
    frames = questions.window_frames(5)
    engine = questions.make_engine(encoder)
    queries = questions.standing_queries(questions.question_texts(3), 5.0)
    answers = engine.evaluate(questions._due(frames, queries),
                              questions.encode_frames(encoder, frames))
    assert {a.query_id for a in answers} == {q.id for q in queries}
    assert all(a.evidence and a.visual_tokens > 0 for a in answers)


def test_question_texts_are_distinct() -> None:
    texts = questions.question_texts(1000)
    assert len(set(texts)) == 1000


def test_tokens_show_the_three_settings_with_their_arithmetic() -> None:
    out = _json(["--json"], tokens.command)
    assert (out["default"], out["uniform"], out["slowfast"]) == (1026, 1728, 3680)
    assert out["arithmetic"]["default"].endswith("= 6 × 171 = 1026")
    assert out["arithmetic"]["slowfast"].endswith("= 2880 + 800 = 3680")


def _fake(limit: int) -> Any:
    def trial(n: int) -> TrialResult:
        ok = n <= limit
        return TrialResult(n, 1.0, 1.0, float(n if ok else n / 2), n if ok else n / 2, ok, ok,
                           n, n, 1.0)

    return trial


@pytest.mark.parametrize(("limit", "max_n", "start", "expected"),
                         [(13, 64, 1, 13), (100, 40, 1, 40), (0, 8, 1, 0), (3, 64, 8, 3),
                          (1, 64, 1, 1)])
def test_capacity_search_finds_the_largest_passing_n(limit: int, max_n: int, start: int,
                                                     expected: int) -> None:
    found, trials = capacity.search(_fake(limit), max_n, start)
    assert found == expected
    assert len(trials) <= 2 * max_n.bit_length() + 2


def test_embedded_trial_runs_the_product_path(encoder: Any, tmp_path: Path) -> None:
    clips = make_clips(2.0, 2, tmp_path)
    feeds = camera_feeds(clips, 3)
    assert len({s.camera for segs in feeds.values() for s in segs}) == 3
    r = run_trial(encoder, feeds)
    assert r.completed and r.cameras == 3 and r.camera_seconds == pytest.approx(6.0)
    # each frame encoded once; a window whose answer its zero-shot support can change
    # adds one closer-look crop (here all six are calibrating, decided by the support)
    assert r.frames == 6 and r.vision_passes_per_frame is not None
    assert 1.0 <= r.vision_passes_per_frame <= 2.0
    assert r.answers == 6  # one question per camera, due every second
    paced = run_trial(encoder, camera_feeds(clips, 1), paced=True)
    assert paced.latency_p50_ms is not None and paced.latency_p50_ms >= 0
    assert paced.wall_s >= 1.5  # segments were released on the stream clock


def test_e2e_without_kafka_measures_the_embedded_run(tiny_spec: str) -> None:
    from workers.cli.commands.bench import e2e

    out = _json(["--clip", tiny_spec, "--cameras", "2", "--seconds", "4", "--json"], e2e.command)
    assert out["mode"] == "embedded" and out["cameras"] == 2
    assert out["answers"] == 8 and out["camera_seconds"] == 8.0
    assert 0 <= out["latency_p50_ms"] <= out["latency_p95_ms"]
    assert out["wall_seconds"] >= 3.0  # segments were published on the live clock
