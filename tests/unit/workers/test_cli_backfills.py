"""``feedwatch queries add --backfill`` runs a job the store keeps; ``feedwatch backfills
list|show|cancel`` read and stop jobs, whichever process runs them (``--json``: one
object a line)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from connectors.store import Store
from connectors.store.backfills.jobs import BackfillJobs
from pipeline.types import StandingQuery
from tests.unit.workers.api.test_api_history import index_clip, red  # noqa: F401
from workers.cli.main import cli


def test_queries_add_backfills_as_a_job_the_backfills_command_shows(
    tmp_path: Path, red: np.ndarray  # noqa: F811
) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    store = Store.from_url(url)
    index_clip(store, red)
    runner = CliRunner()
    added = runner.invoke(cli, ["queries", "add", "a red circle", "--backfill", "30s",
                                "--db", url])
    assert added.exit_code == 0, added.output
    qid = added.stdout.strip()
    assert "done: 30/30 windows, 29 new answers stored" in added.stderr
    listed = runner.invoke(cli, ["backfills", "list", "--json", "--db", url])
    (job,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (job["query_id"], job["state"], job["windows_done"], job["answers"]) == (
        qid, "done", 30, 29)
    shown = runner.invoke(cli, ["backfills", "show", job["id"], "--db", url])
    assert shown.exit_code == 0 and f"{job['id']}  done" in shown.stdout
    late = runner.invoke(cli, ["backfills", "cancel", job["id"], "--db", url])
    assert late.exit_code == 1 and "already finished" in late.output
    queued = BackfillJobs(store.engine).create(StandingQuery(qid, "a red circle"), 60.0)
    stop = runner.invoke(cli, ["backfills", "cancel", queued.id, "--json", "--db", url])
    assert stop.exit_code == 0 and json.loads(stop.stdout)["state"] == "cancelled"
    mine = runner.invoke(cli, ["backfills", "list", "--query", "other", "--db", url])
    assert mine.exit_code == 0 and mine.stdout == ""
    missing = runner.invoke(cli, ["backfills", "show", "nope", "--db", url])
    assert missing.exit_code == 2 and "nope" in missing.output
    store.close()
