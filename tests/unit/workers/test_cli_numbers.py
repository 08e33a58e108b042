"""Numeric options refuse NaN, infinities, negatives and zero counts as usage errors
naming the option (before any service is contacted), never a traceback from deep inside
(a negative socket timeout, an empty query set, a NaN interval written to the store)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from workers.cli.main import cli, main
from workers.cli.options import Finite

BAD = [
    (["bench", "alerts"], "--every", "nan"),
    (["bench", "alerts"], "--window", "0"),
    (["bench", "alerts"], "--timeout", "-1"),
    (["bench", "alerts"], "--threshold", "nan"),
    (["bench", "alerts"], "--open-after", "0"),
    (["bench", "decode"], "--seconds", "-1"),
    (["bench", "decode"], "--sample-fps", "inf"),
    (["bench", "e2e"], "--timeout", "-1"),
    (["bench", "memory"], "--allowance-mb", "-1"),
    (["bench", "search", "--frames", "200"], "--queries", "0"),
]


@pytest.mark.parametrize(("command", "flag", "value"), BAD)
def test_a_bad_number_is_a_usage_error_naming_the_option(
    command: list[str], flag: str, value: str,
) -> None:
    res = CliRunner().invoke(cli, [*command, flag, value])
    assert res.exit_code == 2, res.output
    assert f"Invalid value for '{flag}'" in res.output, res.output
    assert "Traceback" not in res.output


def test_finite_bounds_and_what_it_says() -> None:
    strict = Finite(0.0, above=True)
    assert strict.convert("2.5", None, None) == 2.5
    for bad in ("0", "nan", "-inf", "x"):
        with pytest.raises(Exception, match="above 0"):
            strict.convert(bad, None, None)
    assert Finite(-1.0, 1.0).allowed == "a finite number (at least -1, at most 1)"


def test_a_sampling_rate_past_what_frame_times_hold_is_refused_by_name() -> None:
    from pydantic import ValidationError

    from workers.config.sections import PerceptionSettings

    with pytest.raises(ValidationError, match="sample_fps"):
        PerceptionSettings(sample_fps=1e308)  # t·fps overflowed in every segment
    assert PerceptionSettings(sample_fps=1000).sample_fps == 1000


@pytest.mark.parametrize("value", ["1e20", "-1e20", "1e300", "9999-12-31T00:00Z"])
def test_a_time_past_the_stream_time_bound_is_refused_by_name(
    tmp_path, capsys: pytest.CaptureFixture[str], value: str,
) -> None:
    """It printed a traceback (OverflowError) once the listing's dates were written."""
    url = _store(tmp_path)
    assert main(["deadletters", "--db", url, "--since", value]) == 2
    err = capsys.readouterr().err
    assert "--since" in err and "±100000000000 s" in err and "Traceback" not in err


def test_a_date_that_does_not_exist_is_refused_not_rolled_over(
    tmp_path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["report", "--db", _store(tmp_path), "--since", "2026-02-30"]) == 2
    err = capsys.readouterr().err
    assert "--since" in err and "day is out of range" in err


def _store(tmp_path) -> str:
    from connectors.store import Store

    url = f"sqlite:///{tmp_path / 'fw.db'}"
    Store.from_url(url, upgrade=True).close()
    return url
