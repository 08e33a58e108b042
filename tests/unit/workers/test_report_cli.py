"""``feedwatch report`` (table, --json, --csv, --png), ``feedwatch db rebuild-rollups``
and the ``feedwatch_answer_matched`` gauge."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner
from PIL import Image
from prometheus_client import REGISTRY

from connectors.store import Store
from connectors.store.rollups.reads import RollupReads
from tests import answer_stream as truth
from workers.cli.main import cli
from workers.ops import metrics


def _stored(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    store = Store.from_url(url)
    truth.store_embedded(store)
    other = [replace(a, camera="cam2", matched=False) for a in truth.stream()[:50]]
    store.insert_answers(other)
    store.close()
    return url


def test_report_json_csv_table_and_png(tmp_path: Path) -> None:
    url = _stored(tmp_path)
    runner = CliRunner()
    out = runner.invoke(cli, ["report", "--db", url, "--json", "--bucket", "1m",
                              "--png", str(tmp_path / "report.png")])
    assert out.exit_code == 0, out.output
    body = json.loads(out.stdout)
    assert {(s["query_id"], s["camera"]): s["matched_s"] for s in body["series"]} == {
        ("dock", "cam1"): 331.0, ("dock", "cam2"): 0.0}
    assert body["since"] == truth.T0 and len(body["series"][0]["buckets"]) == 9
    with Image.open(tmp_path / "report.png") as png:
        assert png.format == "PNG" and png.size[0] > 1000
        assert png.convert("RGB").getcolors(1 << 20) is not None  # drawn, not blank
    rows = list(csv.DictReader(io.StringIO(
        runner.invoke(cli, ["report", "--db", url, "--csv", "--camera", "cam1"]).stdout)))
    assert [(r["camera"], float(r["matched_s"]), int(r["runs"])) for r in rows] == [
        ("cam1", 331.0, 5)]
    table = runner.invoke(cli, ["report", "--db", url, "--since", "2m", "--bucket", "1m"])
    assert table.exit_code == 0 and "is the dock door open?" in table.stdout
    assert "1m41s" in table.stdout  # from the minute of 499 s - 2 min: 360..401 and 421..481
    assert runner.invoke(cli, ["report", "--db", url, "--since", "soon"]).exit_code != 0


def test_rebuild_rollups_command_refills_them(tmp_path: Path) -> None:
    url = _stored(tmp_path)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM answer_runs"))
        conn.execute(sa.text("DELETE FROM answer_minutes"))
    done = CliRunner().invoke(cli, ["db", "rebuild-rollups", "--db", url, "--batch", "64"])
    assert done.exit_code == 0, done.output
    assert "2 question/camera pairs" in done.stderr
    store = Store.from_url(url)
    truth.check_truth(store)
    store.close()
    engine.dispose()


def test_db_prune_takes_the_rollups_horizon(tmp_path: Path) -> None:
    url = _stored(tmp_path)
    done = CliRunner().invoke(cli, ["db", "prune", "--db", url, "--rollups", "180s"])
    assert done.exit_code == 0, done.output
    assert "0 answers" in done.stderr and "0 rollups" not in done.stderr
    store = Store.from_url(url)
    runs = RollupReads(store.engine).runs(0, 1e11, truth.QUERY, truth.CAMERA, limit=100)
    assert sorted(r.start - truth.T0 for r in runs) == [306, 421, 441]
    store.close()


def test_the_gauge_shows_the_newest_answer_per_question_and_camera() -> None:
    a = truth.answer(100, True, 1)
    older, unknown = truth.answer(90, False, 1), replace(truth.answer(110, True, 1), matched=None)
    metrics.count_answers([replace(a, camera="gauge-cam"), replace(older, camera="gauge-cam"),
                           replace(unknown, camera="gauge-cam")])
    labels = {"query": "dock", "camera": "gauge-cam"}
    assert REGISTRY.get_sample_value("feedwatch_answer_matched", labels) == 1.0
    metrics.count_answers([replace(truth.answer(120, False, 1), camera="gauge-cam")])
    assert REGISTRY.get_sample_value("feedwatch_answer_matched", labels) == 0.0
