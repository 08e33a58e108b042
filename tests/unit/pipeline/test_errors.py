"""Errors name what is wrong, and the ones with fields survive pickling (process pools)."""

from __future__ import annotations

import pickle

from pipeline.errors import ConfigError, FeedwatchError


def test_a_config_error_names_field_value_and_allowed_and_pickles() -> None:
    err = ConfigError("kafka.partitions", "abc", "a whole number >= 1")
    assert str(err) == "kafka.partitions: 'abc' is not allowed; a whole number >= 1"
    assert isinstance(err, (FeedwatchError, ValueError))
    back = pickle.loads(pickle.dumps(err))
    assert (back.field, back.value, back.allowed) == (err.field, err.value, err.allowed)
    assert str(back) == str(err)
