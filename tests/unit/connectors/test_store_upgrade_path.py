"""Stores made by older releases, upgraded in place on SQLite: the rows they hold are all
still there (evidence included: the migrations that copy ``answers`` dropped it through
its ``ON DELETE CASCADE``), an upgrade that stops half-way changes nothing and the next
one finishes it, and an upgraded store has the schema of a fresh one."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from connectors.store import Store, current_revision, head_revision, make_engine, upgrade
from connectors.store.db import alembic_config
from connectors.store.reads import Reads
from connectors.store.secret_box import SecretBox, new_key
from pipeline.errors import ConfigError

ANSWER = ("INSERT INTO answers (query_id, camera_id, question, window_start, window_end, "
          "evaluated_at, answerer, text, matched, score, frames, rois, visual_tokens, "
          "latency_ms, model_ids) VALUES ('q', 'cam1', 'a person?', :s, :e, :e, 'clip', "
          "'yes', 1, 0.3, '[]', '[]', 0, 12.0, '{\"clip\": \"ViT-B-32\"}')")
EVIDENCE = ("INSERT INTO evidence (query_id, camera_id, window_end, idx, t, jpeg, box) "
            "VALUES ('q', 'cam1', :e, 0, :e, :jpeg, '[0, 0, 1, 1]')")
CLEAR_HOOK = ("INSERT INTO hooks (id, name, type, url, secret, enabled, created_at) VALUES "
              "('h1', '', 'webhook', 'https://h/x', 's3cret', :on, 0)")
"""A hook whose secret an old release stored in clear (sealed by 0008, with the key)."""


@pytest.fixture(autouse=True)
def no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FEEDWATCH_SECRETS_KEY", raising=False)
    monkeypatch.delenv("FEEDWATCH_SECRETS_KEY_FILE", raising=False)


def old_store(path: Path, revision: str, answers: int = 3) -> sa.Engine:
    """A store at ``revision`` holding answers, each with one evidence image."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, revision)
    ends = [{"s": 100.0 + i, "e": 102.0 + i, "jpeg": b"\xff\xd8jpeg%d" % i}
            for i in range(answers)]
    with engine.begin() as conn:
        conn.execute(sa.text(ANSWER), ends)
        conn.execute(sa.text(EVIDENCE), ends)
    return engine


def count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.mark.parametrize("revision", ["0001", "0003_answer_feedback"])
def test_evidence_survives_the_migrations_that_copy_answers(tmp_path: Path,
                                                            revision: str) -> None:
    engine = old_store(tmp_path / "s.db", revision)
    assert upgrade(engine) == head_revision()
    assert (count(engine, "answers"), count(engine, "evidence")) == (3, 3)
    reads = Reads(Store(engine))
    first = reads.answers_by_ids([1])[0]
    assert len(first.evidence) == 1
    assert reads.evidence_jpeg(1, 0) is not None
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # back on


def test_the_last_revisions_downgrade_with_their_rows(tmp_path: Path) -> None:
    engine = old_store(tmp_path / "s.db", "0001")
    upgrade(engine)
    cfg = alembic_config()
    with engine.connect() as conn, conn.begin():
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010_sealed_hook_urls")
    assert current_revision(engine) == "0010_sealed_hook_urls"
    assert (count(engine, "answers"), count(engine, "evidence")) == (3, 3)
    assert upgrade(engine) == head_revision()


def test_a_refused_upgrade_changes_nothing_and_the_next_one_finishes(tmp_path: Path) -> None:
    """A store from before 0004 with a hook secret in clear, upgraded without the secrets
    key: refused at 0008. The tables 0004-0007 made were left behind (the revision still
    0003), and every later start failed on "table frames already exists"."""
    engine = old_store(tmp_path / "s.db", "0003_answer_feedback")
    with engine.begin() as conn:
        conn.execute(sa.text(CLEAR_HOOK), {"on": True})
    with pytest.raises(ConfigError, match="FEEDWATCH_SECRETS_KEY"):
        upgrade(engine)
    assert current_revision(engine) == "0003_answer_feedback"
    with engine.connect() as conn:
        assert not sa.inspect(conn).has_table("frames")
    assert upgrade(engine, secret_box=SecretBox([new_key().encode()])) == head_revision()
    assert count(engine, "evidence") == 3


def test_an_upgraded_store_has_the_schema_of_a_fresh_one(tmp_path: Path) -> None:
    upgraded = old_store(tmp_path / "old.db", "0001")
    upgrade(upgraded)
    fresh = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    upgrade(fresh)
    assert shape(upgraded) == shape(fresh)


def shape(engine: sa.Engine) -> dict[str, object]:
    with engine.connect() as conn:
        found = sa.inspect(conn)
        return {t: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(t)],
            found.get_pk_constraint(t)["constrained_columns"],
            sorted((i["name"], tuple(i["column_names"]), i["unique"])
                   for i in found.get_indexes(t)),
            sorted((u["name"], tuple(u["column_names"]))
                   for u in found.get_unique_constraints(t)),
            sorted((f["name"], tuple(f["constrained_columns"]), f["referred_table"],
                    str(f["options"])) for f in found.get_foreign_keys(t)),
        ) for t in found.get_table_names()} | {"views": sorted(found.get_view_names())}


def test_an_upgrade_past_the_rollups_with_answers_says_to_rebuild_them(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    engine = old_store(tmp_path / "s.db", "0005_answer_stages")
    with caplog.at_level(logging.WARNING, logger="connectors.store.migrating"):
        upgrade(engine)
    assert "feedwatch db rebuild-rollups" in caplog.text
    assert "0005_answer_stages" in caplog.text
    caplog.clear()
    quiet = [old_store(tmp_path / "early.db", "0001"), make_engine(f"sqlite:///{tmp_path}/new.db")]
    with caplog.at_level(logging.WARNING, logger="connectors.store.migrating"):
        upgrade(quiet[0], "0005_answer_stages")  # not past the rollups yet
        upgrade(quiet[1])  # a new store: nothing to rebuild
    assert caplog.text == ""


def test_processes_starting_together_on_a_new_store_migrate_one_after_the_other(
        tmp_path: Path) -> None:
    """Before, all but one failed on "database is locked"."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    code = ("from connectors.store import make_engine, upgrade; "
            f"print(upgrade(make_engine({url!r})))")
    started = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [p.communicate(timeout=60) + (p.returncode,) for p in started]
    assert [(out.strip(), rc) for out, _, rc in results] == [(head_revision(), 0)] * 3, results
