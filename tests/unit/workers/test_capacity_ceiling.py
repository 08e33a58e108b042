"""``bench capacity`` measures the encoder's ceiling around every trial, so a load that
changes during the search changes a trial and its ceiling alike."""

from __future__ import annotations

from workers.bench import capacity
from workers.bench._embedded import TrialResult


def trial_at(rate: float) -> TrialResult:
    n = 8
    return TrialResult(n, 10.0, 10.0, rate * 10, rate, rate >= n, rate >= n, 80, 80, 1.0)


def test_each_trial_is_compared_with_the_ceiling_measured_on_either_side_of_it() -> None:
    # the machine is idle, then another job takes half of it, then it is idle again
    ceilings = iter([40.0, 40.0, 20.0, 40.0])
    rates = iter([10.0, 5.0, 10.0])  # the same path, at the same share of the encoder
    ceiling = capacity.InterleavedCeiling(lambda: next(ceilings))
    run = ceiling.wrap(lambda n: trial_at(next(rates)))
    trials = [run(8) for _ in range(3)]
    assert ceiling.around == [(40.0, 40.0), (40.0, 20.0), (20.0, 40.0)]
    shares = [t.rate / ceiling.at(i) for i, t in enumerate(trials)]
    assert shares == [0.25, 5.0 / 30.0, 10.0 / 30.0]
    spread = ceiling.spread()
    assert spread["min"] == 20.0 and spread["max"] == 40.0 and spread["median"] == 40.0
    assert spread["spread"] == 0.5


def test_capacity_is_divided_by_the_ceiling_around_the_trial_that_found_it() -> None:
    ceilings = iter([30.0, 30.0, 10.0, 12.0])
    ceiling = capacity.InterleavedCeiling(lambda: next(ceilings))
    found = [trial_at(9.0), trial_at(3.0), trial_at(8.5)]  # passes, falls behind, passes
    run = ceiling.wrap(lambda n: found.pop(0))
    trials = [run(8) for _ in range(3)]
    assert capacity.deciding(trials, 8) == 2
    out = capacity._result(8, trials, ceiling, 8, {}, "keyframes")
    assert out["encoder_ceiling_fps"] == 11.0 and out["capacity_vs_ceiling"] == round(8 / 11, 3)
    assert [t["ceiling_fps"] for t in out["trials"]] == [30.0, 20.0, 11.0]
    # the saturated trials (N >= the cameras found): their median share of the ceiling
    assert out["saturated_share_of_ceiling"] == 0.3  # median of 9/30, 3/20, 8.5/11
    assert capacity.deciding(trials, 9) is None
