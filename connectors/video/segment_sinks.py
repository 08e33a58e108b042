"""Segment sinks: a directory of numbered .ts files plus a JSON-lines index.

The Kafka sink lives with the Kafka connector; every sink follows ``SegmentSink``
(batch in ``add``, write in ``flush``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from connectors.video.base import SegmentSink
from pipeline.errors import ConfigError
from pipeline.types import Segment

INDEX = "index.jsonl"


def segment_record(seg: Segment, file: str) -> dict[str, Any]:
    """What the index says about one segment (everything but the bytes)."""
    return {
        "file": file, "camera": seg.camera, "seq": seg.seq, "start": seg.start,
        "duration": seg.duration, "end": seg.end, "container": seg.container,
        "codec": seg.codec, "width": seg.width, "height": seg.height, "bytes": len(seg.data),
    }


class DirectorySink(SegmentSink):
    """Writes ``<camera>-<seq:06d>.ts`` files and appends one JSON line per segment to
    ``index.jsonl``; a segment's file is complete before its index line appears."""

    def __init__(self, directory: Path, index: IO[str]) -> None:
        self.directory = directory
        self._index = index
        self._pending: list[Segment] = []
        self.written = 0

    @classmethod
    def from_config(cls, directory: str | Path) -> DirectorySink:
        path = Path(directory)
        if path.exists() and not path.is_dir():
            raise ConfigError("--to-dir", str(path), "must be a directory (or not exist yet)")
        path.mkdir(parents=True, exist_ok=True)
        return cls(path, (path / INDEX).open("a", encoding="utf-8"))

    def add(self, segment: Segment) -> None:
        self._pending.append(segment)

    def flush(self) -> None:
        for seg in self._pending:
            name = f"{seg.camera}-{seg.seq:06d}.ts"
            _write_atomic(self.directory / name, seg.data)
            self._index.write(json.dumps(segment_record(seg, name)) + "\n")
            self.written += 1
        self._index.flush()
        os.fsync(self._index.fileno())
        self._pending = []

    def close(self) -> None:
        self.flush()
        self._index.close()

    def next_seq(self, camera: str) -> int:
        """Where numbering resumes for ``camera`` when ingesting into a used directory."""
        return 1 + max((r["seq"] for r in read_index(self.directory) if r["camera"] == camera),
                       default=-1)


def read_index(directory: str | Path) -> list[dict[str, Any]]:
    """The index records of a sink directory, in write order."""
    path = Path(directory) / INDEX
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
