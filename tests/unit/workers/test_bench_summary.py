"""``feedwatch bench summary`` on a small SQLite store: the bulk-loaded rollups equal
what the store's own maintenance writes, the summaries are timed and see every yes
second, and the sink is measured with rollups off and on."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from connectors.store import Store
from connectors.store.rollups.reads import RollupReads
from connectors.store.rollups.summary import summarize
from pipeline.errors import ConfigError
from workers.bench.summary import Shape, synthetic
from workers.cli.main import cli


def test_bench_summary_small_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    args = ["bench", "summary", "--db", url, "--cameras", "2", "--questions", "1",
            "--windows", "3000", "--sink-answers", "1000", "--repeats", "5", "--json"]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    body = json.loads(out.stdout)
    assert body["answers"] == 6000 and body["loaded_rollups"]["equal"] is True
    assert set(body["reads"]) == {"7d_hourly_one_camera", "30d_daily_all_cameras",
                                  "30d_daily_all_questions"}
    assert body["writes"]["answers"] == 1000 and body["writes"]["ratio"] > 0
    store = Store.from_url(url)
    yes_seconds = float(synthetic(Shape(2, 1, 3000), 1)[1].sum())
    got = summarize(RollupReads(store.engine), query_id="q0", camera="cam01", since="1d",
                    bucket="1d")
    assert got.matched_s == yes_seconds
    store.close()
    again = CliRunner().invoke(cli, args)
    assert isinstance(again.exception, ConfigError) and "an empty store" in str(again.exception)
