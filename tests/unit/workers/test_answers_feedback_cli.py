"""``feedwatch answers`` shows ids; ``answers feedback ID --right|--wrong`` stores a verdict."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.store import Store
from connectors.store.feedback import feedback_for
from tests.unit.workers.api.scenarios import answer
from workers.cli.main import cli, main


def test_feedback_command_stores_the_verdict_and_names_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    store = Store.from_url(url)
    store.insert_answers([answer("q-1", "cam-1", 10.0), answer("q-1", "cam-1", 11.0,
                                                               matched=False, text="no")])
    runner = CliRunner()
    listed = runner.invoke(cli, ["answers", "--db", url, "--json"])
    assert listed.exit_code == 0 and len(listed.output.splitlines()) == 2
    table = runner.invoke(cli, ["answers", "--db", url])
    assert table.exit_code == 0 and "│ 2 " in table.output
    wrong = runner.invoke(cli, ["answers", "feedback", "2", "--wrong", "--db", url])
    assert wrong.exit_code == 0, wrong.output
    assert "marked wrong" in wrong.output
    (fb,) = feedback_for(store)
    assert (fb.answer_id, fb.matched, fb.correct) == (2, False, False)
    assert fb.label() is not None and fb.label().truth is True  # type: ignore[union-attr]
    assert main(["answers", "feedback", "7", "--right", "--db", url]) == 2
    assert "answer id: 7" in capsys.readouterr().err
    assert main(["answers", "feedback", "2", "--db", url]) == 2
    assert "--right or --wrong" in capsys.readouterr().err
