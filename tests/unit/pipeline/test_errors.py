"""Errors name what is wrong, and the ones with fields survive pickling (process pools)."""

from __future__ import annotations

import pickle

from pipeline.errors import ConfigError, DecodeError, FeedwatchError, SourceError, camera_reason


def test_a_config_error_names_field_value_and_allowed_and_pickles() -> None:
    err = ConfigError("kafka.partitions", "abc", "a whole number >= 1")
    assert str(err) == "kafka.partitions: 'abc' is not allowed; a whole number >= 1"
    assert isinstance(err, (FeedwatchError, ValueError))
    back = pickle.loads(pickle.dumps(err))
    assert (back.field, back.value, back.allowed) == (err.field, err.value, err.allowed)
    assert str(back) == str(err)


def test_a_camera_reason_leaves_out_the_camera_the_line_names_already() -> None:
    err = SourceError("camera 'porch': /v/a.m4a has no video stream")
    assert camera_reason("porch", err) == "/v/a.m4a has no video stream"
    assert camera_reason("yard", err) == str(err)  # another camera's name stays
    assert camera_reason("porch", DecodeError("porch", 3, "bad")) == "camera 'porch' segment 3: bad"
    assert camera_reason("porch", RuntimeError()) == "RuntimeError"
