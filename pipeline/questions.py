"""The one rule for question text, shared by the API, the CLI and the scheduler.

A question is shown on dashboards and terminals, stored in SQL and sent through
Kafka, so it must be printable text: whitespace runs collapse to one space, and
control characters (NUL breaks PostgreSQL text, ESC rewrites terminals), lone
surrogates (not encodable as UTF-8) and bidirectional overrides (they reorder what
a reader sees) are refused with the code point named. Any script, emoji, joiners
and markup characters are fine: markup is rendered as text everywhere.
"""

from __future__ import annotations

import unicodedata

from pipeline.errors import ConfigError

QUESTION_MAX = 500
"""Characters, after whitespace is collapsed (CLIP reads ~77 tokens of it anyway)."""
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_REFUSED_CATEGORIES = ("Cc", "Cs")


def _refused(ch: str) -> bool:
    return unicodedata.category(ch) in _REFUSED_CATEGORIES or ch in BIDI_CONTROLS


def _visible(text: str) -> bool:
    return any(unicodedata.category(ch) not in ("Cf", "Zs", "Mn") for ch in text)


def clean_question(text: str) -> str:
    """``text`` with whitespace collapsed, or a ``ConfigError`` saying what is wrong."""
    cleaned = " ".join(text.split())
    bad = next((i for i, ch in enumerate(cleaned) if _refused(ch)), None)
    if bad is not None:
        code = f"U+{ord(cleaned[bad]):04X}"
        raise ConfigError(
            "question", cleaned[:40], f"no control characters ({code} at position {bad})"
        )
    if not _visible(cleaned):
        raise ConfigError("question", cleaned[:40], "a question with visible characters")
    if len(cleaned) > QUESTION_MAX:
        raise ConfigError("question", cleaned[:40] + "…", f"at most {QUESTION_MAX} characters")
    return cleaned
