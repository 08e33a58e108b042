"""Migration 0008 on SQLite: plaintext secrets are sealed, or the upgrade is refused
(nothing changed) when there is no key; the downgrade opens them again."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.store import current_revision, head_revision, make_engine, upgrade
from connectors.store.secret_box import PREFIX, SecretBox, new_key
from connectors.store.secret_rows import plaintext
from pipeline.errors import ConfigError

BEFORE = "0007_incident_clips"


def legacy_store(path: Path) -> sa.Engine:
    """A store at 0007 holding what older versions wrote: secrets in clear."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, BEFORE)
    with engine.begin() as conn:
        hook = ("INSERT INTO hooks (id, name, type, url, secret, enabled, created_at) "
                "VALUES (:id, '', 'webhook', 'http://x/', :secret, 1, 0)")
        conn.execute(sa.text(hook), [{"id": "h1", "secret": "hmac-one"},
                                     {"id": "h2", "secret": None}])
        conn.execute(sa.text("INSERT INTO alert_state (kind, key, data, version, updated_at) "
                             "VALUES ('secret', 'link_key', :data, 1, 0)"),
                     {"data": '{"key": "link-key-in-clear"}'})
    return engine


def raw(engine: sa.Engine) -> tuple[str | None, str]:
    with engine.connect() as conn:
        hook = conn.execute(sa.text("SELECT secret FROM hooks WHERE id = 'h1'")).scalar()
        data = conn.execute(sa.text("SELECT data FROM alert_state WHERE key = 'link_key'")).scalar()
    return hook, str(data)


def test_upgrade_without_a_key_refuses_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FEEDWATCH_SECRETS_KEY", raising=False)
    monkeypatch.delenv("FEEDWATCH_SECRETS_KEY_FILE", raising=False)
    engine = legacy_store(tmp_path / "s.db")
    with pytest.raises(ConfigError, match="FEEDWATCH_SECRETS_KEY") as err:
        upgrade(engine)
    assert "hook:h1" in str(err.value) and "state:link_key" in str(err.value)
    assert current_revision(engine) == BEFORE
    assert raw(engine) == ("hmac-one", '{"key": "link-key-in-clear"}')
    assert "query_failures" not in sa.inspect(engine).get_table_names()


def test_upgrade_with_the_key_from_the_environment_seals_every_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key()
    monkeypatch.setenv("FEEDWATCH_SECRETS_KEY", key)
    engine = legacy_store(tmp_path / "s.db")
    assert upgrade(engine) == head_revision()
    hook, data = raw(engine)
    assert hook is not None and hook.startswith(PREFIX) and "hmac-one" not in hook
    assert PREFIX in data and "link-key-in-clear" not in data
    with engine.connect() as conn:
        assert plaintext(conn) == []
    box = SecretBox([key.encode()])
    assert box.open(hook) == "hmac-one"


def test_downgrade_opens_them_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FEEDWATCH_SECRETS_KEY", raising=False)
    box = SecretBox([new_key().encode()])
    engine = legacy_store(tmp_path / "s.db")
    upgrade(engine, secret_box=box)
    from alembic import command

    from connectors.store.db import alembic_config

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes.update(connection=conn, secret_box=box)
        command.downgrade(cfg, BEFORE)
    assert raw(engine)[0] == "hmac-one"
    assert "query_failures" not in sa.inspect(engine).get_table_names()


def test_a_store_without_secrets_needs_no_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FEEDWATCH_SECRETS_KEY", raising=False)
    monkeypatch.delenv("FEEDWATCH_SECRETS_KEY_FILE", raising=False)
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert upgrade(engine) == head_revision()
    assert "query_failures" in sa.inspect(engine).get_table_names()
