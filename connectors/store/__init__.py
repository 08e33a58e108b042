"""The SQL store: models, migrations, engines, the repository and the answer sink.

Tables: ``cameras``, ``queries``, ``answers`` (unique on query id, camera id, window
end) and ``evidence`` (one small JPEG per selected frame of an answer, RoI box drawn,
keyed by the answer's key plus the frame's index). SQLite by default, PostgreSQL
supported; the schema comes from the Alembic migrations in ``migrations/``.
"""

from connectors.store.answer_sink import AnswerSink, MemoryAnswerSink
from connectors.store.db import (
    current_revision,
    head_revision,
    make_engine,
    parse_url,
    require_existing,
    upgrade,
)
from connectors.store.repository import Store, open_store

__all__ = [
    "AnswerSink",
    "MemoryAnswerSink",
    "Store",
    "current_revision",
    "head_revision",
    "make_engine",
    "open_store",
    "parse_url",
    "require_existing",
    "upgrade",
]
