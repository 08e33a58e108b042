"""``bench e2e`` and ``bench capacity`` parts that need no broker: due windows, ceiling, flags."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

from pipeline.testing import ColourEncoder
from pipeline.types import StandingQuery
from workers.bench import capacity, e2e
from workers.cli.commands.bench import e2e as e2e_command


def test_expected_answers_are_the_due_windows_of_the_segments() -> None:
    q = StandingQuery("q", "a red circle", ("a", "b"), every=1.0, window=4.0)
    other = StandingQuery("r", "a blue square", ("b",), every=2.0, window=4.0)
    spans = {
        "a": [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)],  # ends 1..6
        "b": [(10.0, 12.0), (12.0, 14.0)],  # q: 11..14; r: 12, 14
        "c": [(0.0, 2.0)],  # no question watches it
    }
    assert e2e.expected_answers([q, other], spans) == 6 + 4 + 2


def test_a_gap_in_the_segments_counts_what_the_scheduler_would_answer() -> None:
    q = StandingQuery("q", "a red circle", ("a",), every=1.0, window=2.0)
    # 0..2, then a 10 s hole: only ceil(window/every)+1 ends survive the jump
    assert e2e.expected_answers([q], {"a": [(0.0, 2.0), (12.0, 14.0)]}) == 2 + 3


def test_compare_needs_a_broker() -> None:
    res = CliRunner().invoke(e2e_command.command, ["--compare", "--cameras", "2"])
    assert res.exit_code != 0
    assert "--kafka" in str(res.exception) + res.output


def test_encoder_ceiling_is_the_best_batch_on_the_given_frames() -> None:
    encoder = ColourEncoder()
    frames = [np.full((36, 64, 3), 90, np.uint8) for _ in range(5)]
    fps, batch = capacity.encoder_ceiling(encoder, frames, batches=(1, 4), repeats=1)
    assert fps > 0 and batch in (1, 4)
    assert encoder.frame_calls == 32 + 8  # 32 calls of 1 frame, 8 calls of 4

