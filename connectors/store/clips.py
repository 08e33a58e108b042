"""Incident clips: a row per (incident, phase) in ``incident_clips`` and the MP4 files.

A clip is cut when its incident opens (phase ``open``) and again when it closes
(``close``, covering the whole incident). The MP4 bytes live in a clip directory
(:class:`ClipFiles`) every process of a deployment mounts (a shared volume), named
by incident id and phase; the row holds what the API and notifications say about
it. States: ``ready`` (file written), ``expired`` (the segments were gone),
``failed`` (the error says why), ``skipped`` (an opening clip not cut because the
incident had already closed). Rows go with their incident (retention).
"""

from __future__ import annotations

import base64
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from secrets import token_bytes
from typing import Any

from sqlalchemy import Float, Index, Integer, String, Text, and_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from connectors.store.alerts_models import AlertStateRow, IncidentRow
from connectors.store.alerts_rows import insert_for
from connectors.store.db import store_errors
from connectors.store.models import ROW_ID, AnswerRow, Base, EvidenceRow
from connectors.store.secret_box import KEY_HELP, SecretBox
from pipeline.errors import ConfigError

PHASES = ("open", "close")
STATES = ("ready", "expired", "failed", "skipped")
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class IncidentClipRow(Base):
    __tablename__ = "incident_clips"
    __table_args__ = (Index("ix_incident_clips_created", "created_at"),)

    incident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    phase: Mapped[str] = mapped_column(String(8), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10))
    file: Mapped[str | None] = mapped_column(String(200), nullable=True)
    bytes: Mapped[int] = mapped_column(ROW_ID, default=0)
    start: Mapped[float | None] = mapped_column(Float, nullable=True)
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    event_at: Mapped[float] = mapped_column(Float, default=0.0)
    frames: Mapped[int] = mapped_column(Integer, default=0)
    codec: Mapped[str] = mapped_column(String(20), default="")
    source_bytes: Mapped[int] = mapped_column(ROW_ID, default=0)
    cpu_s: Mapped[float] = mapped_column(Float, default=0.0)
    skipped_from: Mapped[float | None] = mapped_column(Float, nullable=True)
    skipped_to: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True)
class ClipTask:
    """An incident that needs its clip of ``phase`` cut, with the times that bound it."""

    incident_id: str
    phase: str
    camera: str
    started_at: float
    until: float  # opened_at for ``open``, closed_at for ``close`` (stream time)
    updated_at: float  # wall clock of the incident's last change


class ClipFiles:
    """The clip directory: ``<incident id>-<phase>.mp4``, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def from_config(cls, directory: str | Path) -> ClipFiles:
        root = Path(directory)
        if root.exists() and not root.is_dir():
            raise ConfigError("clips.dir", str(root), "must be a directory (or not exist yet)")
        root.mkdir(parents=True, exist_ok=True)
        return cls(root)

    def name(self, incident_id: str, phase: str) -> str:
        if not _ID.match(incident_id) or phase not in PHASES:
            raise ConfigError("incident_id", incident_id, "letters, digits, '._-' (<= 64)")
        return f"{incident_id}-{phase}.mp4"

    def write(self, name: str, data: bytes) -> None:
        tmp = self.root / f".{name}.part"
        tmp.write_bytes(data)
        os.replace(tmp, self.root / name)

    def path(self, name: str) -> Path:
        return self.root / name

    def remove(self, names: Iterable[str]) -> int:
        gone = 0
        for name in names:
            try:
                (self.root / name).unlink()
                gone += 1
            except FileNotFoundError:
                pass
        return gone


class ClipStore:
    """The ``incident_clips`` rows: what to cut next, what was cut."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def due(self, limit: int = 20) -> list[ClipTask]:
        """Incidents without their opening clip, closed ones without their closing
        clip; oldest change first."""
        with store_errors("reading incidents to clip"), Session(self.engine) as s:
            return [*self._missing(s, "open", limit), *self._missing(s, "close", limit)]

    def _missing(self, s: Session, phase: str, limit: int) -> list[ClipTask]:
        joined = and_(IncidentClipRow.incident_id == IncidentRow.id,
                      IncidentClipRow.phase == phase)
        stmt = select(IncidentRow).outerjoin(IncidentClipRow, joined).where(
            IncidentClipRow.incident_id.is_(None))
        if phase == "close":
            stmt = stmt.where(IncidentRow.closed_at.is_not(None))
        rows = s.scalars(stmt.order_by(IncidentRow.updated_at).limit(limit)).all()
        return [ClipTask(r.id, phase, r.camera_id, r.started_at,
                         r.opened_at if phase == "open" else float(r.closed_at or r.last_hit_at),
                         r.updated_at) for r in rows]

    def exists(self, incident_id: str) -> bool:
        with store_errors("reading an incident"), Session(self.engine) as s:
            return s.get(IncidentRow, incident_id) is not None

    def closed(self, incident_id: str) -> bool:
        with store_errors("reading an incident"), Session(self.engine) as s:
            row = s.get(IncidentRow, incident_id)
            return row is not None and row.closed_at is not None

    def save(self, task: ClipTask, state: str, **values: Any) -> None:
        """Record the outcome of ``task`` (once: a second worker's result is dropped)."""
        if state not in STATES:
            raise ValueError(f"clip state {state!r} not in {STATES}")
        row = {"incident_id": task.incident_id, "phase": task.phase, "camera_id": task.camera,
               "state": state, "created_at": time.time(), **values}
        with store_errors("saving a clip"), Session(self.engine) as s, s.begin():
            stmt = insert_for(s, IncidentClipRow).values(**row)
            s.execute(stmt.on_conflict_do_nothing(index_elements=["incident_id", "phase"]))

    def clips(self, incident_id: str) -> dict[str, IncidentClipRow]:
        with store_errors("reading clips"), Session(self.engine) as s:
            rows = s.scalars(select(IncidentClipRow).where(
                IncidentClipRow.incident_id == incident_id)).all()
            s.expunge_all()
            return {r.phase: r for r in rows}

    def best(self, incident_id: str) -> IncidentClipRow | None:
        """The clip to show: the closing one when ready, else the opening one; else the
        newest row whatever its state (None: nothing cut yet)."""
        rows = self.clips(incident_id)
        for phase in ("close", "open"):
            if phase in rows and rows[phase].state == "ready":
                return rows[phase]
        return rows.get("close") or rows.get("open")

    def snapshot(self, incident_id: str) -> bytes | None:
        """The first evidence image (RoI box drawn) of the answer that opened it."""
        with store_errors("reading a snapshot"), Session(self.engine) as s:
            inc = s.get(IncidentRow, incident_id)
            if inc is None or inc.open_answer_id is None:
                return None
            answer = s.get(AnswerRow, inc.open_answer_id)
            if answer is None:
                return None
            stmt = select(EvidenceRow.jpeg).where(
                EvidenceRow.query_id == answer.query_id, EvidenceRow.camera_id == answer.camera_id,
                EvidenceRow.window_end == answer.window_end).order_by(EvidenceRow.idx).limit(1)
            jpeg = s.scalar(stmt)
            return None if jpeg is None else bytes(jpeg)


def link_key(engine: Any, configured: str = "", key_file: str = "",
             secrets: SecretBox | None = None) -> bytes:
    """The key that signs clip and snapshot links: ``configured`` (FEEDWATCH_LINK_KEY),
    else the contents of ``key_file``, else one generated once and kept in the store
    (``alert_state``, sealed with ``secrets``), so every process on the same store signs
    and checks alike. Without any of the three it is refused: a signing key is never
    kept in clear."""
    if configured:
        return configured.encode()
    if key_file:
        try:
            return Path(key_file).read_bytes().strip()
        except OSError as exc:
            raise ConfigError("link_key_file", key_file, f"a readable file ({exc})") from exc
    if secrets is None:
        raise ConfigError("link_key", "(unset)", "FEEDWATCH_LINK_KEY or FEEDWATCH_LINK_KEY_FILE"
                          f", or a secrets key to keep a generated one in the store: {KEY_HELP}")
    return _stored_key(engine, secrets)


def _stored_key(engine: Any, secrets: SecretBox) -> bytes:
    fresh = secrets.seal(base64.urlsafe_b64encode(token_bytes(32)).decode())
    with store_errors("reading the link key"), Session(engine) as s, s.begin():
        stmt = insert_for(s, AlertStateRow).values(
            kind="secret", key="link_key", data={"key": fresh}, version=1, updated_at=time.time())
        s.execute(stmt.on_conflict_do_nothing(index_elements=["kind", "key"]))
        row = s.get(AlertStateRow, ("secret", "link_key"))
        assert row is not None
        return secrets.open(str(row.data["key"]), "link_key (stored)").encode()
