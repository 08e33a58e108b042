"""Incident clips and snapshots: behind the token, and through signed links without it.

``GET /api/incidents/{id}/clip`` (read scope) serves the incident's clip (the closing
one once cut, else the opening one); ``GET /api/incidents/{id}/clips`` says what was
cut, with signed links. ``/links/incidents/{id}/clip.mp4`` and ``.../snapshot.jpg``
open WITHOUT a token when ``exp`` and ``sig`` sign their path (see
:mod:`connectors.hooks.links`): 403 once expired or when anything was changed. They
live outside ``/api``, where every route needs a token. Files are served with range requests, so a
browser's ``<video>`` can seek.
"""

from __future__ import annotations

import logging
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from connectors.hooks.links import LinkSigner, clip_path, snapshot_path
from connectors.store import Store
from connectors.store.clips import ClipFiles, ClipStore, IncidentClipRow, link_key
from pipeline.errors import ConfigError
from workers.api.auth import read_access
from workers.api.schemas import ErrorBody
from workers.config import Settings, secret_box

router = APIRouter(tags=["alerts"])
IncidentId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
log = logging.getLogger(__name__)
MISSING: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such incident, or no clip cut (yet)"}}
REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody, "description": "Expired, or not signed for this path"}}
MP4 = {200: {"content": {"video/mp4": {}}, "description": "The clip (H.264/HEVC, remuxed)"}}
JPEG = {200: {"content": {"image/jpeg": {}}, "description": "The snapshot, RoI box drawn"}}


class ClipAccess:
    """What the clip routes read: the clip rows, the clip directory and the signer (its
    key read from the settings or the store on first use, not when the app is built)."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.clips = ClipStore(store.engine)
        self.files = ClipFiles(FsPath(settings.clips.dir))
        self._settings, self._engine = settings, store.engine
        self._signer: LinkSigner | None = None
        if settings.link_key_file and not settings.link_key.get_secret_value():
            link_key(store.engine, key_file=settings.link_key_file)  # a named file must read

    @property
    def signer(self) -> LinkSigner:
        if self._signer is None:
            s = self._settings
            key = link_key(self._engine, s.link_key.get_secret_value(), s.link_key_file,
                           secret_box(s))
            self._signer = LinkSigner(key, s.hooks.public_url, s.clips.link_ttl_s)
        return self._signer

    def signer_or_none(self) -> LinkSigner | None:
        """The signer, or None when no link key is configured (and none can be kept in
        the store: no secrets key): no link is issued or accepted then."""
        try:
            return self.signer
        except ConfigError as exc:
            log.warning("signed links are off: %s", exc)
            return None


def _access(request: Request) -> ClipAccess:
    access: ClipAccess | None = getattr(request.app.state, "clips", None)
    if access is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="clips are not served here")
    return access


def _row_out(row: IncidentClipRow) -> dict[str, Any]:
    fields = ("phase", "state", "bytes", "start", "duration", "event_at", "frames", "codec",
              "source_bytes", "cpu_s", "skipped_from", "skipped_to", "error", "created_at")
    return {name: getattr(row, name) for name in fields}


async def _clip_file(access: ClipAccess, incident_id: str) -> FileResponse:
    row = await run_in_threadpool(access.clips.best, incident_id)
    if row is None or row.state != "ready" or not row.file:
        why = "no clip cut yet" if row is None else f"clip {row.state}"
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"incident {incident_id}: {why}")
    path = access.files.path(row.file)
    if not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"incident {incident_id}: "
                            "clip file missing")
    return FileResponse(path, media_type="video/mp4", filename=row.file,
                        content_disposition_type="inline")


async def _snapshot(access: ClipAccess, incident_id: str) -> Response:
    jpeg = await run_in_threadpool(access.clips.snapshot, incident_id)
    if jpeg is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            detail=f"incident {incident_id}: no snapshot")
    return Response(jpeg, media_type="image/jpeg")


def _signed(access: ClipAccess, path: str, exp: str | None, sig: str | None) -> None:
    signer = access.signer_or_none()
    if signer is None or not signer.valid(path, exp, sig):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="link expired or not valid")


@router.get("/api/incidents/{incident_id}/clip", dependencies=[read_access],
            response_class=FileResponse, responses={**MP4, **MISSING},
            summary="The incident's clip (MP4)")
async def get_clip(incident_id: IncidentId,
                   access: ClipAccess = Depends(_access)) -> FileResponse:
    return await _clip_file(access, incident_id)


@router.get("/api/incidents/{incident_id}/clips", dependencies=[read_access],
            responses=MISSING, summary="The incident's clips and signed links")
async def list_clips(incident_id: IncidentId,
                     access: ClipAccess = Depends(_access)) -> dict[str, Any]:
    if not await run_in_threadpool(access.clips.exists, incident_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no incident {incident_id}")
    rows = await run_in_threadpool(access.clips.clips, incident_id)
    signer = await run_in_threadpool(access.signer_or_none)
    return {"incident_id": incident_id,
            "clips": [_row_out(rows[p]) for p in ("open", "close") if p in rows],
            "clip_url": signer.url(clip_path(incident_id)) if signer else None,
            "snapshot_url": signer.url(snapshot_path(incident_id)) if signer else None}


@router.get("/links/incidents/{incident_id}/clip.mp4", response_class=FileResponse,
            responses={**MP4, **REFUSED, **MISSING}, summary="Signed link: the clip")
async def linked_clip(incident_id: IncidentId, exp: str | None = Query(None, max_length=20),
                      sig: str | None = Query(None, max_length=100),
                      access: ClipAccess = Depends(_access)) -> FileResponse:
    _signed(access, clip_path(incident_id), exp, sig)
    return await _clip_file(access, incident_id)


@router.get("/links/incidents/{incident_id}/snapshot.jpg", response_class=Response,
            responses={**JPEG, **REFUSED, **MISSING}, summary="Signed link: the snapshot")
async def linked_snapshot(incident_id: IncidentId, exp: str | None = Query(None, max_length=20),
                          sig: str | None = Query(None, max_length=100),
                          access: ClipAccess = Depends(_access)) -> Response:
    _signed(access, snapshot_path(incident_id), exp, sig)
    return await _snapshot(access, incident_id)
