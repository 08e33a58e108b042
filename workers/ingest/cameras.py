"""The cameras one ingest process reads: ``ID=URI`` entries from a file or a variable.

The format is docker/cameras.env's: one ``ID=URI`` per line (or separated by blanks in
``FEEDWATCH_INGEST_CAMERAS``), ``#`` starts a comment line. Camera URLs often carry
credentials, so they come from a file or the environment, never from the command line
(where ``ps`` shows them to every user of the host).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from connectors.video.uri import check_camera
from pipeline.errors import ConfigError

CAMERAS_ENV = "FEEDWATCH_INGEST_CAMERAS"
MAX_CAMERAS = 16
"""Cameras one process reads by default: the blast radius of a crash (its supervisor
restarts it within seconds, and every camera in it misses those seconds)."""


@dataclass(frozen=True)
class CameraSource:
    """One camera of an ingest process."""

    id: str
    uri: str


def parse_cameras(text: str, where: str) -> list[CameraSource]:
    """The ``ID=URI`` entries of ``text``; a bad one is a ConfigError naming it by number."""
    out: list[CameraSource] = []
    entries = [e for line in text.splitlines() if not line.strip().startswith("#")
               for e in line.split()]
    for number, entry in enumerate(entries, start=1):
        cam, sep, uri = entry.partition("=")
        if not sep or not uri:
            raise ConfigError(f"{where} entry {number}", _masked(entry), "ID=URI")
        try:
            check_camera(cam)
        except ConfigError as exc:
            raise ConfigError(f"{where} entry {number}", cam, "a camera id (A-Z a-z 0-9 . _ -)"
                              ) from exc
        if any(c.id == cam for c in out):
            raise ConfigError(f"{where} entry {number}", cam, "each camera id once")
        out.append(CameraSource(cam, uri))
    return out


def _masked(entry: str) -> str:
    """An entry as an error may show it: never the URI (it may hold a password)."""
    return entry.partition("=")[0] + "=…" if "=" in entry else "… (no '=')"


def load_cameras(path: str | None, env: dict[str, str] | None = None,
                 max_cameras: int = MAX_CAMERAS) -> list[CameraSource]:
    """The cameras of ``path`` (a cameras file) or else of ``FEEDWATCH_INGEST_CAMERAS``;
    empty when neither is given. More than ``max_cameras`` is refused."""
    environ = os.environ if env is None else env
    if path:
        try:
            cameras = parse_cameras(Path(path).read_text(encoding="utf-8"), "--cameras-file")
        except OSError as exc:
            raise ConfigError("--cameras-file", path, f"a readable file ({exc.strerror})"
                              ) from exc
    else:
        cameras = parse_cameras(environ.get(CAMERAS_ENV, ""), CAMERAS_ENV)
    if len(cameras) > max_cameras:
        raise ConfigError("cameras", f"{len(cameras)} cameras",
                          f"at most {max_cameras} per process (--max-cameras, "
                          "FEEDWATCH_INGEST_MAX_CAMERAS); run one process per group")
    return cameras
