"""Answerers, one module each, built by ``type`` (``clip``, ``vlm``, ``cascade``).

``build_answerer("clip", {"mode": "threshold"}, encoder=enc)`` validates the
settings (unknown keys and bad values are a ConfigError naming the field) and
returns a ready answerer. Importing this package loads no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.answerers import cascade, clip, vlm
from pipeline.answerers.base import (
    Answerer,
    AnswererSettings,
    AnswerResult,
    TextEncoder,
    answerer_class,
    registered,
)

__all__ = [
    "Answerer",
    "AnswerResult",
    "AnswererSettings",
    "TYPES",
    "TextEncoder",
    "build_answerer",
    "cascade",
    "clip",
    "registered",
    "vlm",
]

TYPES: frozenset[str] = frozenset(registered())
"""Every answerer ``type`` this package registers (``clip``, ``vlm``, ``cascade``)."""


def build_answerer(
    type: str,
    settings: Mapping[str, Any],
    *,
    encoder: TextEncoder,
    vlm_spec: str = "",
) -> Answerer:
    """The answerer registered as ``type``, configured from ``settings``."""
    cls = answerer_class(type)
    config: AnswererSettings = cls.settings_of(settings or {}, type)
    return cls.build(config, encoder=encoder, vlm_spec=vlm_spec)
