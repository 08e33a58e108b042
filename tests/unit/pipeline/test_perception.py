"""Per-window selection for many questions at once (numpy only, no torch)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from pipeline import perception, selection
from pipeline.errors import ConfigError
from pipeline.perception import SelectionConfig, select_for_queries, split_settings
from pipeline.types import EncodedFrame

D = 4
RED, BLUE, BG = np.eye(D, dtype=np.float32)[:3]


def _frame(t: float, obj: np.ndarray | None, at: tuple[int, int] = (1, 4)) -> EncodedFrame:
    patches = np.tile(BG, (6, 6, 1))
    if obj is not None:
        patches[at] = obj
    glob = BG + (0.8 * obj if obj is not None else 0)
    glob = glob / np.linalg.norm(glob)
    thumb = np.zeros((12, 12, 3), np.uint8)
    return EncodedFrame("cam", t, glob.astype(np.float32), patches, thumb, (12, 12))


def _window() -> list[EncodedFrame]:
    objs = [None, RED, None, None, BLUE, None, RED, None, None, None]
    return [_frame(float(t), o) for t, o in enumerate(objs)]


def test_each_query_gets_its_best_frames_and_a_box_on_its_object() -> None:
    cfg = SelectionConfig(k_prompt=2, k_uniform=0, alpha=0.1)
    red, blue = select_for_queries(_window(), ["r", "b"], np.stack([RED, BLUE]), cfg)
    assert red.query_id == "r" and red.indices == (1, 6) and red.times == (1.0, 6.0)
    assert 4 in blue.indices
    roi = red.rois[0]
    assert roi.top <= 1 < roi.top + roi.height and roi.left <= 4 < roi.left + roi.width
    assert red.frame_scores[0] == pytest.approx(float(red.all_scores[1]))
    assert red.all_scores.shape == (10,)
    assert red.visual_tokens == sum(r.tokens for r in red.rois) == 2 * roi.tokens


def test_all_queries_are_scored_in_one_matmul(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []
    real = selection.prompt_scores

    def spy(g: np.ndarray, q: np.ndarray) -> np.ndarray:
        calls.append((len(g), len(q)))
        return real(g, q)

    monkeypatch.setattr(perception, "prompt_scores", spy)
    select_for_queries(_window(), ["a", "b", "c"], np.stack([RED, BLUE, BG]), SelectionConfig())
    assert calls == [(10, 3)]


def test_per_query_overrides() -> None:
    cfg = SelectionConfig(k_prompt=1, k_uniform=0)
    out = select_for_queries(
        _window(),
        ["r", "b"],
        np.stack([RED, BLUE]),
        cfg,
        overrides={"b": SelectionConfig(k_prompt=3, k_uniform=2)},
    )
    assert len(out[0].indices) == 1 and len(out[1].indices) == 5


def test_empty_window_selects_nothing() -> None:
    (sel,) = select_for_queries([], ["r"], RED[None], SelectionConfig())
    assert sel.indices == () and sel.rois == () and sel.visual_tokens == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"k_prompt": -1},
        {"alpha": 0},
        {"alpha": 1.2},
        {"estimator": "mean"},
        {"temperature": 0},
        {"min_gap": -1},
        {"smooth": -1},
        {"k_uniform": 1.5},
    ],
)
def test_config_validation(bad: dict) -> None:
    with pytest.raises(ConfigError):
        SelectionConfig(**bad)


def test_with_overrides_rejects_unknown_keys() -> None:
    assert SelectionConfig().with_overrides({"alpha": 0.3}).alpha == 0.3
    with pytest.raises(ConfigError):
        SelectionConfig().with_overrides({"apha": 0.3})


def test_split_settings_separates_selection_keys() -> None:
    sel, rest = split_settings({"alpha": 0.3, "k_prompt": 5, "mode": "margin"})
    assert sel == {"alpha": 0.3, "k_prompt": 5} and rest == {"mode": "margin"}
    assert SelectionConfig().with_overrides(sel).k_prompt == 5


def test_numpy_core_does_not_import_torch() -> None:
    code = (
        "import sys, pipeline.selection, pipeline.roi, pipeline.budget, pipeline.perception, "
        "pipeline.answerers; print(sorted(m for m in ('torch', 'open_clip', 'transformers') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
