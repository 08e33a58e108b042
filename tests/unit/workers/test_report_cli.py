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
from pipeline.errors import ConfigError
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


def test_a_range_the_bucket_cap_cuts_says_so_and_a_camera_reports_its_own_span(
        tmp_path: Path) -> None:
    """A file camera (clock from 0) beside a live one (1970 clock): everything stored is
    more than 20,000 hour buckets, so the live camera fell off the report silently."""
    url = _stored(tmp_path)  # live: 2023
    store = Store.from_url(url)
    store.insert_answers([replace(a, camera="file-cam", window_start=a.window_start - truth.T0,
                                  window_end=a.window_end - truth.T0)
                          for a in truth.stream()[:20]])
    store.close()
    runner = CliRunner()
    out = runner.invoke(cli, ["report", "--db", url, "--json", "--bucket", "1h"])
    assert out.exit_code == 1
    assert "the range was cut at 20000 1h buckets" in str(out.exception)
    body = json.loads(out.stdout.splitlines()[0])
    assert body["next_since"] is not None and {s["camera"] for s in body["series"]} == {
        "file-cam"}
    live = runner.invoke(cli, ["report", "--db", url, "--json", "--camera", "cam1"])
    assert live.exit_code == 0, live.output
    [series] = json.loads(live.stdout)["series"]
    assert series["matched_s"] == 331.0  # it said "series": [] before
    early = runner.invoke(cli, ["report", "--db", url, "--since", "1970-01-01T00:00:10",
                                "--until", "1970-01-01T00:00:12", "--tz", "Asia/Kolkata"])
    assert isinstance(early.exception, ConfigError)  # exit 2 through main()
    assert early.exception.field == "--since" and "at or after 1970-01-01T00:00:00Z" in str(
        early.exception)  # it said "--until: a time after --since" before


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
