"""The segments contract carries ``lead`` for mid-GOP segments and stays readable without it."""

from __future__ import annotations

import pytest

from connectors.bus import messages as msg
from pipeline.errors import MessageError
from pipeline.types import Segment


def test_lead_round_trips_and_old_messages_read_as_keyframe_aligned() -> None:
    seg = Segment("cam", 3, 12.0, 2.0, b"ts", lead=4.0)
    m = msg.encode_segment(seg)
    assert dict(m.headers)["lead"] == b"4.0"
    assert msg.decode_segment(m.key, m.value, m.headers) == seg
    old = [(k, v) for k, v in m.headers if k != "lead"]  # as a producer before the field
    assert msg.decode_segment(m.key, m.value, old).lead == 0.0


def test_a_negative_lead_is_refused() -> None:
    m = msg.encode_segment(Segment("cam", 3, 12.0, 2.0, b"ts", lead=4.0))
    bad = [(k, b"-1.0" if k == "lead" else v) for k, v in m.headers]
    with pytest.raises(MessageError, match="lead"):
        msg.decode_segment(m.key, m.value, bad)
