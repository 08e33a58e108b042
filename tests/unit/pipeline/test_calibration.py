"""The clip answerer's threshold follows the calibration shipped with a model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.answerers import build_answerer
from pipeline.answerers.clip import ClipAnswerer
from pipeline.perception import SelectionConfig, select_for_queries
from pipeline.types import EncodedFrame, StandingQuery

D = 4
OBJ, BG = np.eye(D, dtype=np.float32)[:2]


class CalibratedEncoder:
    model_id = "fake-clip"

    def __init__(self, calibration: dict[str, float]) -> None:
        self.calibration = calibration

    def encode_text(self, texts: list[str]) -> np.ndarray:
        return np.stack([BG for _ in texts])


def _window(cos_obj: float) -> list[EncodedFrame]:
    g = cos_obj * OBJ + np.sqrt(1 - cos_obj**2) * BG
    patches = np.tile(BG, (3, 3, 1))
    thumb = np.zeros((6, 6, 3), np.uint8)
    return [
        EncodedFrame("cam", float(i), g.astype(np.float32), patches, thumb, (6, 6))
        for i in range(3)
    ]


FIXED = {"mode": "threshold"}


def _matched(settings: dict, calibration: dict[str, float], cos_obj: float) -> bool | None:
    window = _window(cos_obj)
    (sel,) = select_for_queries(window, ["q"], OBJ[None], SelectionConfig(2, 1))
    answerer = build_answerer("clip", settings, encoder=CalibratedEncoder(calibration))
    return answerer.answer(StandingQuery("q", "an object"), window, sel, OBJ).matched


def test_calibrated_threshold_replaces_the_default() -> None:
    # score 0.17: below the 0.2 default, above a model calibrated at 0.15
    assert _matched(FIXED, {}, 0.17) is False
    assert _matched(FIXED, {"clip_threshold": 0.15}, 0.17) is True


def test_explicit_threshold_wins_over_calibration() -> None:
    assert _matched({**FIXED, "threshold": 0.5}, {"clip_threshold": 0.15}, 0.17) is False


def test_calibration_file_is_read_from_a_model_folder(tmp_path: Path) -> None:
    pytest.importorskip("open_clip")
    from pipeline.models.clip_encoder import CALIBRATION_FILE, load_calibration

    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({"clip_threshold": 0.123, "measured": {}}))
    assert load_calibration(f"local-dir:{tmp_path}") == {"clip_threshold": 0.123}
    assert load_calibration("ViT-B-32") == {}


def test_best_threshold_separates_the_classes() -> None:
    pytest.importorskip("open_clip")
    from pipeline.models.calibrate import best_threshold

    fit = best_threshold([0.3, 0.35, 0.4, 0.25], [0.0, 0.1, 0.12, 0.2])
    assert 0.2 < fit["threshold"] <= 0.25
    assert (fit["tpr"], fit["fpr"]) == (1.0, 0.0)


def test_answerer_reports_its_effective_threshold() -> None:
    a = build_answerer("clip", FIXED, encoder=CalibratedEncoder({"clip_threshold": 0.11}))
    assert isinstance(a, ClipAnswerer) and a.threshold == pytest.approx(0.11)


def test_recalibrating_keeps_the_adaptive_levels_already_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("open_clip")
    from pipeline.models import calibrate

    out = tmp_path / "feedwatch_calibration.json"
    kept = {"clip_threshold": 0.5, "adaptive_floor": 0.07, "adaptive_sure": 0.2}
    out.write_text(json.dumps(kept))
    fresh = {"clip_threshold": 0.09, "measured": {"threshold": 0.09}, "recipe": {}}
    monkeypatch.setattr(calibrate, "calibrate", lambda *args: fresh)
    calibrate.main(["--clip", "m", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["clip_threshold"] == 0.09 and saved["measured"] == {"threshold": 0.09}
    assert (saved["adaptive_floor"], saved["adaptive_sure"]) == (0.07, 0.2)
