"""Migration 0010 on SQLite: Slack hook URLs stored in clear are sealed, or the upgrade is
refused (nothing changed) when there is no key; webhook URLs stay as they are; the
downgrade opens them again; 0008 never touched URLs."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from connectors.store import current_revision, head_revision, make_engine, upgrade
from connectors.store.db import alembic_config
from connectors.store.secret_box import PREFIX, SecretBox, new_key
from connectors.store.secret_rows import plaintext
from pipeline.errors import ConfigError

BEFORE = "0009_backfill_jobs"
SLACK = "https://hooks.slack.com/services/T0/B0/TOKENinTHEpath"
WEB = "https://hooks.example/plain"


@pytest.fixture(autouse=True)
def no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FEEDWATCH_SECRETS_KEY", raising=False)
    monkeypatch.delenv("FEEDWATCH_SECRETS_KEY_FILE", raising=False)


def legacy_store(path: Path, revision: str = BEFORE) -> sa.Engine:
    """A store at ``revision`` holding what older versions wrote: Slack URLs in clear."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, revision)
    with engine.begin() as conn:
        hook = ("INSERT INTO hooks (id, name, type, url, secret, enabled, created_at) "
                "VALUES (:id, '', :type, :url, NULL, 1, 0)")
        conn.execute(sa.text(hook), [{"id": "s1", "type": "slack", "url": SLACK},
                                     {"id": "w1", "type": "webhook", "url": WEB}])
    return engine


def urls(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {i: u for i, u in conn.execute(sa.text("SELECT id, url FROM hooks"))}


def test_upgrade_without_a_key_refuses_and_changes_nothing(tmp_path: Path) -> None:
    engine = legacy_store(tmp_path / "s.db")
    with pytest.raises(ConfigError, match="FEEDWATCH_SECRETS_KEY") as err:
        upgrade(engine)
    assert "hook-url:s1" in str(err.value) and "w1" not in str(err.value)
    assert SLACK not in str(err.value)
    assert current_revision(engine) == BEFORE
    assert urls(engine) == {"s1": SLACK, "w1": WEB}


def test_upgrade_with_a_key_seals_slack_urls_only(tmp_path: Path) -> None:
    key = SecretBox([new_key().encode()])
    engine = legacy_store(tmp_path / "s.db")
    assert upgrade(engine, secret_box=key) == head_revision()
    stored = urls(engine)
    assert stored["w1"] == WEB
    assert stored["s1"].startswith(PREFIX) and "TOKENinTHEpath" not in stored["s1"]
    assert key.open(stored["s1"]) == SLACK
    with engine.connect() as conn:
        assert plaintext(conn) == []


def test_migration_0008_leaves_urls_to_0010(tmp_path: Path) -> None:
    """A store from before 0008 with a Slack URL and nothing else secret passes 0008 with
    no key, and is stopped at 0010 (one transaction: nothing is changed)."""
    engine = legacy_store(tmp_path / "s.db", "0007_incident_clips")
    assert upgrade(engine, "0009_backfill_jobs") == "0009_backfill_jobs"
    with pytest.raises(ConfigError, match="hook-url:s1"):
        upgrade(engine)
    assert urls(engine)["s1"] == SLACK


def test_downgrade_opens_them_again(tmp_path: Path) -> None:
    key = SecretBox([new_key().encode()])
    engine = legacy_store(tmp_path / "s.db")
    upgrade(engine, secret_box=key)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes.update(connection=conn, secret_box=key)
        command.downgrade(cfg, BEFORE)
    assert urls(engine) == {"s1": SLACK, "w1": WEB}
