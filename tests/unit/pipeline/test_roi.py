"""Spatial RoI: box size, estimators, grid edges, tiny grids, mapping and token crop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.errors import ConfigError
from pipeline.roi import (
    centred_roi,
    crop_tokens,
    estimate_roi,
    map_roi,
    roi_size,
    similarity_map,
)
from pipeline.types import RoI

ESTIMATORS = ("peak", "weighted", "topk_mean")


def _spot(h: int, w: int, r: int, c: int, base: float = 0.0) -> np.ndarray:
    sim = np.full((h, w), base, dtype=np.float32)
    sim[r, c] = 1.0
    return sim


def _contains(roi: RoI, r: int, c: int) -> bool:
    return roi.top <= r < roi.top + roi.height and roi.left <= c < roi.left + roi.width


def test_similarity_map_is_patch_dot_query() -> None:
    rng = np.random.default_rng(1)
    patches, q = rng.normal(size=(3, 4, 8)), rng.normal(size=8)
    sim = similarity_map(patches, q)
    assert sim.shape == (3, 4)
    assert sim[2, 1] == pytest.approx(float(patches[2, 1] @ q), rel=1e-5)


@pytest.mark.parametrize(
    ("h", "w", "alpha", "expected"),
    [
        (24, 24, 0.6, (19, 19)),
        (24, 12, 0.6, (19, 9)),
        (7, 7, 1.0, (7, 7)),
        (1, 1, 0.6, (1, 1)),
        (2, 3, 0.6, (2, 2)),
        (10, 10, 0.01, (1, 1)),
        (10, 10, 0.0001, (1, 1)),
        (4, 4, 0.25, (2, 2)),
    ],
)
def test_roi_size_keeps_root_alpha_per_side(
    h: int, w: int, alpha: float, expected: tuple[int, int]
) -> None:
    assert roi_size(h, w, alpha) == expected


@pytest.mark.parametrize("alpha", [0.0, -0.1, 1.01, float("nan"), float("inf")])
def test_alpha_outside_zero_one_is_a_config_error(alpha: float) -> None:
    with pytest.raises(ConfigError) as err:
        roi_size(8, 8, alpha)
    assert err.value.field == "alpha"


def test_unknown_estimator_names_the_allowed_ones() -> None:
    with pytest.raises(ConfigError) as err:
        estimate_roi(np.zeros((4, 4)), 0.6, "centroid")
    assert "peak" in str(err.value) and "topk_mean" in str(err.value)


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("spot", [(0, 0), (0, 11), (11, 0), (11, 11), (5, 6)])
def test_box_is_inside_the_grid_and_has_alpha_size(estimator: str, spot: tuple[int, int]) -> None:
    roi = estimate_roi(_spot(12, 12, *spot), 0.3, estimator)
    assert (roi.height, roi.width) == roi_size(12, 12, 0.3)
    assert 0 <= roi.top <= 12 - roi.height and 0 <= roi.left <= 12 - roi.width


@pytest.mark.parametrize("estimator", ["peak", "weighted"])
@pytest.mark.parametrize("spot", [(1, 1), (0, 11), (10, 2), (3, 9)])
def test_peak_following_estimators_contain_an_off_centre_spot(
    estimator: str, spot: tuple[int, int]
) -> None:
    sim = _spot(12, 12, *spot, base=0.2)
    sim += np.random.default_rng(3).normal(0, 0.01, sim.shape).astype(np.float32)
    assert _contains(estimate_roi(sim, 0.3, estimator), *spot)


def test_topk_mean_collapses_to_the_centre_on_a_flat_map_while_peak_follows() -> None:
    sim = _spot(24, 24, 2, 21, base=0.3)  # one strong corner patch, flat (noisy) elsewhere
    sim += np.random.default_rng(5).normal(0, 0.01, sim.shape).astype(np.float32)
    peak = estimate_roi(sim, 0.6, "peak")
    topk = estimate_roi(sim, 0.6, "topk_mean")
    assert _contains(peak, 2, 21)
    assert not _contains(topk, 2, 21)
    assert abs(topk.top - centred_roi(24, 24, 0.6).top) <= 2


def test_topk_mean_is_the_mean_position_of_the_best_cells() -> None:
    sim = np.zeros((10, 10))
    sim[7:10, 7:10] = 1.0  # 9 hot cells; alpha 0.09 keeps exactly ceil(9) of them
    roi = estimate_roi(sim, 0.09, "topk_mean")
    assert (roi.top, roi.left, roi.height, roi.width) == (7, 7, 3, 3)


def test_peak_smoothing_prefers_a_blob_over_a_single_spike() -> None:
    sim = np.zeros((12, 12))
    sim[1, 1] = 1.0  # lone spike
    sim[8:11, 8:11] = 0.8  # broad object
    assert _contains(estimate_roi(sim, 0.05, "peak", smooth=1), 9, 9)
    assert _contains(estimate_roi(sim, 0.05, "peak", smooth=0), 1, 1)


def test_peak_ties_go_to_the_cell_nearest_the_centre() -> None:
    roi = estimate_roi(np.zeros((5, 5)), 0.04, "peak")
    assert (roi.top, roi.left) == (2, 2)
    sim = np.zeros((5, 5))
    sim[0, 0] = sim[3, 3] = 1.0
    roi = estimate_roi(sim, 0.04, "peak", smooth=0)
    assert (roi.top, roi.left) == (3, 3)


def test_weighted_temperature_sharpens_toward_the_peak() -> None:
    sim = np.linspace(0, 1, 16).reshape(1, 16).repeat(4, axis=0)
    sharp = estimate_roi(sim, 0.0625, "weighted", temperature=0.05)
    soft = estimate_roi(sim, 0.0625, "weighted", temperature=50.0)
    assert sharp.left == 12  # the 1x4 box pressed against the hot right edge
    assert soft.left == 6  # nearly uniform weights: the middle


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf")])
def test_bad_temperature_is_a_config_error(bad: float) -> None:
    with pytest.raises(ConfigError):
        estimate_roi(np.zeros((3, 3)), 0.5, "weighted", temperature=bad)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_tiny_grids_work(estimator: str) -> None:
    assert estimate_roi(np.ones((1, 1)), 0.6, estimator) == RoI(0, 0, 1, 1, 1, 1)
    roi = estimate_roi(_spot(2, 3, 1, 2), 0.6, estimator)
    assert (roi.height, roi.width, roi.grid_h, roi.grid_w) == (2, 2, 2, 3)
    if estimator != "topk_mean":
        assert roi.left == 1


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_alpha_one_is_the_whole_grid(estimator: str) -> None:
    assert estimate_roi(_spot(6, 9, 0, 0), 1.0, estimator) == RoI.full(6, 9)


def test_nan_cells_do_not_break_estimation() -> None:
    sim = _spot(6, 6, 4, 4)
    sim[0, 0] = np.nan
    assert _contains(estimate_roi(sim, 0.1, "peak", smooth=0), 4, 4)


def test_centred_roi_is_symmetric() -> None:
    roi = centred_roi(24, 24, 0.6)
    assert roi.height == 19 and roi.top in (2, 3)
    assert abs(roi.top - (24 - roi.top - roi.height)) <= 1
    assert centred_roi(25, 25, 0.6) == RoI(3, 3, 19, 19, 25, 25)


def test_map_roi_scales_size_and_keeps_the_centre() -> None:
    roi = RoI(0, 12, 12, 12, 24, 24)  # top-right quarter
    mapped = map_roi(roi, 12, 6)
    assert (mapped.top, mapped.left, mapped.height, mapped.width) == (0, 3, 6, 3)
    assert map_roi(roi, 24, 24) == roi


def test_map_roi_to_a_coarser_grid_keeps_one_cell_and_stays_inside() -> None:
    roi = RoI(23, 23, 1, 1, 24, 24)
    assert map_roi(roi, 2, 3) == RoI(1, 2, 1, 1, 2, 3)
    assert map_roi(RoI(0, 0, 1, 1, 24, 24), 1, 1) == RoI(0, 0, 1, 1, 1, 1)


def test_map_roi_token_count_depends_only_on_the_grids() -> None:
    sizes = {map_roi(RoI(t, t, 19, 19, 24, 24), 24, 12).tokens for t in range(6)}
    assert len(sizes) == 1
    wide = map_roi(RoI(0, 0, 6, 8, 6, 8), 3, 5)
    assert wide == RoI.full(3, 5)


def test_crop_tokens_is_row_major_inside_the_box() -> None:
    tokens = np.arange(4 * 5 * 2).reshape(4, 5, 2)
    crop = crop_tokens(tokens, RoI(1, 2, 2, 3, 4, 5))
    assert crop.shape == (6, 2)
    expected = [tokens[r, c] for r in (1, 2) for c in (2, 3, 4)]
    np.testing.assert_array_equal(crop, np.stack(expected))


def test_crop_tokens_rejects_a_grid_mismatch() -> None:
    with pytest.raises(ValueError):
        crop_tokens(np.zeros((4, 4, 2)), RoI(0, 0, 2, 2, 4, 5))


def test_box_size_matches_the_paper_arithmetic() -> None:
    h, w = roi_size(24, 24, 0.6)
    assert h == round(math.sqrt(0.6) * 24) and w == round(math.sqrt(0.6) * 24)
