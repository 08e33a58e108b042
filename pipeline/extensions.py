"""Extension points in one place: which answerer types exist and what each can do.

The built-in answerers register themselves (:func:`pipeline.answerers.base.register`);
an installed package adds one through the entry point group ``feedwatch.answerers``,
naming its :class:`~pipeline.answerers.base.Answerer` subclass::

    [project.entry-points."feedwatch.answerers"]
    motion = "my_package.motion:MotionAnswerer"

Everything that takes an answerer type — the API, ``feedwatch run --answerer``,
``feedwatch queries add``, the perceiver, alert conditions and ``bench questions`` —
asks here, and reads the class's capabilities (``keeps_baselines``, ``uses_vlm``)
instead of naming types. A plugin that fails to load is logged and left out; it
never stops the others.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points

from pipeline.answerers.base import Answerer, register, registered

GROUP = "feedwatch.answerers"
log = logging.getLogger(__name__)
_loaded: set[str] = set()
_scanned: dict[str, tuple[tuple[str, float], ...]] = {}  # group -> sys.path when scanned


def answerer_types() -> Mapping[str, type[Answerer]]:
    """Every answerer type: the built-in ones and those installed packages publish."""
    load_entry_points()
    return registered()


def load_entry_points() -> None:
    """Register the answerers of the ``feedwatch.answerers`` group (each once).

    The installed packages are scanned again only when a folder on ``sys.path`` changed
    (a package installed or removed): a scan reads every package's metadata, several ms,
    and every query a worker applies or publishes asks."""
    stamp = _path_stamp()
    if _scanned.get(GROUP) == stamp:
        return
    _scanned[GROUP] = stamp
    for ep in entry_points(group=GROUP):
        if ep.value not in _loaded:
            _loaded.add(ep.value)
            _register(ep)


def _path_stamp() -> tuple[tuple[str, float], ...]:
    """Each ``sys.path`` folder with its modification time (a package installed into one
    adds a ``.dist-info`` folder there); -1 for an entry that is not a folder."""
    out = []
    for entry in sys.path:
        try:
            out.append((entry, os.stat(entry or ".").st_mtime))
        except OSError:
            out.append((entry, -1.0))
    return tuple(out)


def _register(ep: EntryPoint) -> None:
    try:
        cls = ep.load()
    except Exception:  # a broken plugin is its own problem: the others still load
        log.exception("answerer entry point %s = %s could not be loaded", ep.name, ep.value)
        return
    if not (isinstance(cls, type) and issubclass(cls, Answerer) and getattr(cls, "type", None)):
        log.error("answerer entry point %s = %s is not an Answerer with a type", ep.name, ep.value)
        return
    register(cls)


def uses_vlm(type_: str) -> bool:
    """Whether answers of ``type_`` come from a VLM (False for a type not installed here)."""
    cls = answerer_types().get(type_)
    return cls is not None and cls.uses_vlm
