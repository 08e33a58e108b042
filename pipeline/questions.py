"""The one rule for question text, shared by the API, the CLI and the scheduler.

A question is shown on dashboards and terminals, stored in SQL and sent through
Kafka, so it must be printable text: whitespace runs collapse to one space, and
control characters (NUL breaks PostgreSQL text, ESC rewrites terminals), lone
surrogates (not encodable as UTF-8) and bidirectional overrides (they reorder what
a reader sees) are refused with the code point named. Any script, emoji, joiners
and markup characters are fine: markup is rendered as text everywhere.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable

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


@functools.cache
def question_pattern() -> str:
    """A regular expression (ECMA-262, Rust and Python alike) matching exactly the texts
    :func:`clean_question` accepts, length aside: what API clients are told.

    Refused characters nowhere, and at least one visible one (not whitespace, not a
    format character, not a combining mark). Lone surrogates, refused too, are left
    out: they are not Unicode scalar values, so no UTF-8 text holds one and a Unicode
    regular expression cannot name them."""
    refused = _class(lambda ch: _refused(ch) and not ch.isspace())
    hidden = _class(lambda ch: _refused(ch) or ch.isspace() or not _visible(ch))
    return f"^[^{refused}]*[^{hidden}][^{refused}]*$"


_PLANES = (  # planes 4-13 hold no characters; surrogates are no scalar values
    range(0, 0xD800),
    range(0xE000, 0x40000),
    range(0xE0000, 0xF0000),
)


def _class(member: Callable[[str], bool]) -> str:
    """The members among all assigned code points, as a character-class body."""
    spans: list[tuple[int, int]] = []
    for plane in _PLANES:
        for cp in plane:
            if member(chr(cp)):
                if spans and spans[-1][1] == cp - 1:
                    spans[-1] = (spans[-1][0], cp)
                else:
                    spans.append((cp, cp))
    return "".join(_span(a, b) for a, b in spans)


def _span(first: int, last: int) -> str:
    def one(cp: int) -> str:  # astral characters literally: \U is not ECMA-262
        return f"\\u{cp:04x}" if cp <= 0xFFFF else chr(cp)

    return one(first) if first == last else f"{one(first)}-{one(last)}"
