"""The soak's parts without services: schedule, fault names, receiver, verdicts."""

from __future__ import annotations

import time

import httpx
import pytest

from connectors.hooks.webhook import sign
from pipeline.errors import ConfigError
from pipeline.types import Answer
from workers.soak.faults import FAULTS, parse_faults, schedule
from workers.soak.receiver import SoakReceiver
from workers.soak.report import SoakReport
from workers.soak.stack import alert_rule, expected_incidents


def test_every_fault_is_scheduled_once_per_cycle_in_order() -> None:
    plan = schedule(frozenset(FAULTS), 150.0)
    assert [name for _, name in plan] == list(FAULTS)
    assert all(0 < t < 150 for t, _ in plan)
    assert len(schedule(frozenset(FAULTS), 540.0)) == 3 * len(FAULTS)  # 180 s cycles
    assert schedule(frozenset({"hook"}), 150.0) == [(54.0, "hook")]


def test_fault_names_are_checked() -> None:
    assert parse_faults("all") == frozenset(FAULTS)
    assert parse_faults("none") == frozenset()
    assert parse_faults("broker, hook") == {"broker", "hook"}
    with pytest.raises(ConfigError, match="--faults"):
        parse_faults("broker,meteor")


def _post(url: str, key: str, secret: str, body: bytes = b"{}") -> int:
    ts = int(time.time())
    headers = {
        "Idempotency-Key": key,
        "X-Feedwatch-Timestamp": str(ts),
        "X-Feedwatch-Signature": sign(secret, ts, body),
    }
    return httpx.post(url, content=body, headers=headers, timeout=5).status_code


def test_receiver_processes_each_key_once_refuses_bad_signatures_and_goes_down() -> None:
    rx = SoakReceiver("k").start()
    try:
        assert _post(rx.url, "a", "k") == 200
        assert _post(rx.url, "a", "k") == 200
        assert _post(rx.url, "b", "wrong") == 401
        assert rx.processed == {"a": 1} and rx.hits["a"] == 2 and rx.bad_signatures == 1
        port = rx.port
        rx.stop()
        with pytest.raises(httpx.ConnectError):
            _post(f"http://127.0.0.1:{port}/hook", "c", "k")
        rx.start()
        assert rx.port == port and _post(rx.url, "c", "k") == 200
    finally:
        rx.stop()


def _answer(camera: str, end: float, score: float) -> Answer:
    return Answer("soak-red", "q", camera, end - 2, end, end, "clip", "", None, score,
                  (), (), 0, 0.0)  # fmt: skip


def test_expected_incidents_follow_the_rule_in_window_order() -> None:
    rule = alert_rule(0.5, "h")  # open after 2 hits, close after 2 misses
    scores = [0.9, 0.9, 0.1, 0.1, 0.9, 0.9, 0.9]
    answers = [_answer("c", float(i + 1), s) for i, s in enumerate(scores)]
    assert expected_incidents(rule, reversed(answers)) == {("c", 2.0), ("c", 6.0)}


def test_the_report_fails_on_any_loss_or_doubling() -> None:
    assert SoakReport(cameras=1, minutes=1).ok
    for change in ({"answers.missing": 1}, {"answers.twice": 1}, {"answers.extra": 1},
                   {"incidents.missing": 1}, {"incidents.twice": 1},
                   {"crashes": ["w1 exited 1"]},
                   {"fuzz_injected": 3, "fuzz_dead_lettered": 2}):  # fmt: skip
        report = SoakReport(cameras=1, minutes=1)
        for k, v in change.items():
            *parent, name = k.split(".")
            setattr(getattr(report, parent[0]) if parent else report, name, v)
        assert not report.ok, change
        assert report.lines()[-1] == "result: FAILED"


@pytest.mark.parametrize(
    "args",
    [
        ["--faults", "broker,meteor"],
        ["--broker-stop", "true"],
        ["--cameras", "0"],
    ],
)
def test_soak_cli_refuses_bad_flags_before_starting_anything(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from workers.cli.main import main

    code = main(["soak", "--kafka", "127.0.0.1:1", "--db", "sqlite://", *args])
    assert code == 2
    assert capsys.readouterr().err.startswith("error: --")


def test_a_tally_counts_missing_extra_and_repeated_arrivals() -> None:
    from collections import Counter

    from workers.soak.report import Tally

    t = Tally.of({"a", "b", "c"}, Counter({"a": 1, "b": 3, "z": 1}))
    assert (t.expected, t.seen, t.missing, t.extra, t.twice) == (3, 5, 1, 1, 2)
