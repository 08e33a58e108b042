"""A store made at the first revision on a real PostgreSQL, holding answers, evidence and
a hook secret in clear, upgraded in place: refused without the secrets key with nothing
changed, then upgraded with it; every row kept, readable, and the schema exactly what the
models describe (no missing index, constraint or type)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import connectors.store.alerts_models  # noqa: F401  (every table on Base)
import connectors.store.backfills.schema  # noqa: F401
import connectors.store.clips  # noqa: F401
import connectors.store.feedback  # noqa: F401
import connectors.store.frames.schema  # noqa: F401
import connectors.store.segment_index  # noqa: F401
import connectors.store.tracker_states  # noqa: F401
from connectors.store import Store, current_revision, head_revision, make_engine, upgrade
from connectors.store.models import Base
from connectors.store.reads import Reads
from connectors.store.secret_box import SecretBox, new_key
from pipeline.errors import ConfigError
from tests.unit.connectors.test_store_upgrade_path import ANSWER, CLEAR_HOOK, EVIDENCE

pytestmark = pytest.mark.integration


def test_a_first_revision_store_upgrades_to_head_with_every_row(
    fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FEEDWATCH_SECRETS_KEY", raising=False)
    monkeypatch.delenv("FEEDWATCH_SECRETS_KEY_FILE", raising=False)
    engine = make_engine(fresh_postgres_url)
    upgrade(engine, "0001")
    ends = [{"s": 100.0 + i, "e": 102.0 + i, "jpeg": b"\xff\xd8jpeg"} for i in range(3)]
    with engine.begin() as conn:
        conn.execute(sa.text(ANSWER.replace("'yes', 1,", "'yes', true,")), ends)
        conn.execute(sa.text(EVIDENCE), ends)
    upgrade(engine, "0002_alerts")
    with engine.begin() as conn:
        conn.execute(sa.text(CLEAR_HOOK), {"on": True})
    with pytest.raises(ConfigError, match="hook:h1"):
        upgrade(engine)
    assert current_revision(engine) == "0002_alerts"
    assert not sa.inspect(engine).has_table("frames")
    assert upgrade(engine, secret_box=SecretBox([new_key().encode()])) == head_revision()
    reads = Reads(Store(engine))
    assert [len(a.evidence) for a in reads.answers_by_ids([1, 2, 3])] == [1, 1, 1]
    assert reads.evidence_jpeg(3, 0) is not None
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(
            conn, opts={"compare_type": True}), Base.metadata) == []
    engine.dispose()
