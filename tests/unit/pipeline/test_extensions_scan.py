"""Answerer plugins are found by scanning the installed packages' entry points; the scan
reads every package's metadata, so it runs again only when a package may have been
installed (a folder on ``sys.path`` changed), not on every query that asks."""

from __future__ import annotations

import os
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from pipeline import extensions
from pipeline.answerers import base


def test_the_packages_are_scanned_again_only_after_an_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scans: list[str] = []

    def entry_points(group: str) -> list[EntryPoint]:
        scans.append(group)
        return []

    monkeypatch.setattr(extensions, "entry_points", entry_points)
    monkeypatch.setattr(extensions, "_scanned", {})
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    monkeypatch.syspath_prepend(str(tmp_path))
    for _ in range(5):
        assert "clip" in extensions.answerer_types()
    assert scans == [extensions.GROUP]
    (tmp_path / "plugin-1.0.dist-info").mkdir()  # what installing a package does
    os.utime(tmp_path, (1.0, 1.0))  # a distinct mtime even on a coarse clock
    extensions.answerer_types()
    assert scans == [extensions.GROUP] * 2
