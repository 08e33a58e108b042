"""``feedwatch queries state|reset``: the trackers' why on the command line, and a reset."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from connectors.store import Store
from connectors.store.feedback import StoreStates, load_state
from pipeline.types import StandingQuery
from tests.unit.connectors.clip_answers import answer, clip
from workers.cli.main import cli


def test_state_explains_and_reset_forgets(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    store = Store.from_url(url)
    store.upsert_query(StandingQuery("q", "a red circle"))
    worker = clip(StoreStates(store))
    for t in range(6):
        answer(worker, float(t), -0.2)
    runner = CliRunner()
    out = runner.invoke(cli, ["queries", "state", "q", "--json", "--db", url])
    assert out.exit_code == 0, out.output
    (row,) = [json.loads(line) for line in out.output.splitlines()]
    assert row["camera"] == "cam" and row["status"] == "absent" and row["absent_windows"] == 6
    assert row["why"].startswith("no: -0.200 is")
    reset = runner.invoke(cli, ["queries", "reset", "q", "--camera", "cam", "--db", url])
    assert reset.exit_code == 0 and "reset 1" in reset.output
    assert load_state(store, "q", "cam").samples == ()
    missing = runner.invoke(cli, ["queries", "state", "nope", "--db", url])
    assert missing.exit_code == 2 and "nope" in missing.output
    typo = runner.invoke(cli, ["queries", "reset", "nope", "--db", url])
    assert typo.exit_code == 2 and "no query 'nope'" in typo.output  # as the API's 404
