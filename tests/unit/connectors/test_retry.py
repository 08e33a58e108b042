"""The one retry policy: capped exponential backoff with jitter, logged, bounded or stoppable."""

from __future__ import annotations

import logging
import random
import threading
import time

import pytest

from connectors.retry import RetryPolicy
from pipeline.errors import BackpressureError, StoreError


class Flaky:
    """Fails ``failures`` times with ``error``, then returns ``"done"``."""

    def __init__(self, failures: int, error: BaseException) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "done"


def test_delays_grow_exponentially_to_the_cap_with_bounded_jitter() -> None:
    policy = RetryPolicy(initial=0.5, maximum=4.0, jitter=0.25)
    delays = policy.delays(random.Random(7))
    got = [delays.next() for _ in range(7)]
    for n, d in enumerate(got):
        base = min(4.0, 0.5 * 2**n)
        assert 0.75 * base <= d <= base
    assert len({round(d, 6) for d in got[4:]}) > 1, "jitter must spread delays at the cap"
    delays.reset()
    assert delays.next() <= 0.5


def test_call_retries_until_success_and_logs_each_retry(caplog: pytest.LogCaptureFixture) -> None:
    flaky = Flaky(3, StoreError("database is locked"))
    with caplog.at_level(logging.WARNING, logger="connectors.retry"):
        assert RetryPolicy(0.001, 0.004).call(flaky, "storing answers") == "done"
    assert flaky.calls == 4
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert all("storing answers failed" in line and "database is locked" in line for line in lines)


def test_bounded_policy_raises_the_last_error() -> None:
    flaky = Flaky(10, StoreError("down"))
    with pytest.raises(StoreError, match="down"):
        RetryPolicy(0.001, 0.002, attempts=3).call(flaky, "x")
    assert flaky.calls == 3


def test_only_the_named_errors_are_retried() -> None:
    flaky = Flaky(1, KeyError("bug"))
    with pytest.raises(KeyError):
        RetryPolicy(0.001, 0.002).call(flaky, "x", on=StoreError)
    assert flaky.calls == 1


def test_a_set_stop_event_ends_an_unbounded_retry_promptly() -> None:
    stop = threading.Event()
    flaky = Flaky(10**9, StoreError("down"))
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    with pytest.raises(StoreError):
        RetryPolicy(initial=5.0, maximum=60.0).call(flaky, "x", stop=stop)
    assert time.monotonic() - started < 2.0, "the stop event must interrupt the sleep"


def test_retry_after_from_a_backpressure_error_is_obeyed_up_to_the_cap() -> None:
    policy = RetryPolicy(initial=0.001, maximum=0.3)
    sleeps: list[float] = []
    retrying = policy.retrying("x", on=BackpressureError, sleep=sleeps.append)
    retrying(Flaky(2, BackpressureError(0.2)))
    assert sleeps == [0.2, 0.2]
    sleeps.clear()
    policy.retrying("x", on=BackpressureError, sleep=sleeps.append)(
        Flaky(1, BackpressureError(99.0))
    )
    assert sleeps == [0.3]


@pytest.mark.parametrize(
    "kwargs", [{"initial": 0}, {"initial": 2, "maximum": 1}, {"jitter": 1.5}, {"attempts": -1}]
)
def test_bad_policy_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="retry policy"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
