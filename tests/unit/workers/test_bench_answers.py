"""``feedwatch bench answers``: the JSON shape, the scoring rule, and bad input."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pipeline.scenes.watch import watch_scene, window_truth
from workers.cli.commands.bench.answers import command

pytestmark = pytest.mark.slow


def test_window_truth_skips_edge_windows() -> None:
    scene = watch_scene(5, "noise")
    lo, hi = scene.visible
    assert hi - lo == 8.0 and 0 <= lo <= 22.0
    assert window_truth(scene, lo - 4.0, lo) is False  # ends where the object enters
    assert window_truth(scene, lo - 3.5, lo + 0.5) is None  # overlaps 0.5 s: not scored
    assert window_truth(scene, lo - 3.0, lo + 1.0) is True


def test_json_has_every_mode_and_background_and_the_corrections() -> None:
    res = CliRunner().invoke(command, ["--scenes", "2", "--seed", "3", "--backgrounds",
                                       "plain,clutter", "--corrections", "1", "--json",
                                       "--device", "cpu"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["default_mode"] == "adaptive" and set(out["modes"]) == {
        "adaptive", "threshold", "margin"}
    assert set(out["per_background"]) == {"plain", "clutter"}
    assert out["agreement"] == out["modes"]["adaptive"]["agreement"]
    assert 0 <= out["agreement"] <= 1 and out["modes"]["adaptive"]["windows"] > 30
    assert out["modes"]["adaptive"]["calibrating_windows"] == 4  # 2 warm-up windows a scene
    assert out["corrections"]["agreement_before"] == out["agreement"]
    assert out["corrections"]["agreement_after"] >= out["agreement"]


def test_bad_backgrounds_are_named() -> None:
    res = CliRunner().invoke(command, ["--backgrounds", "plain,lava", "--json"])
    assert res.exit_code == 2 and "lava" in res.output and "--backgrounds" in res.output
