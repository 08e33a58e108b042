"""The published question pattern accepts exactly what the question rule accepts (in
UTF-8 text, which holds no lone surrogates)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import ConfigError
from pipeline.questions import clean_question, question_pattern

PATTERN = re.compile(question_pattern())
TRICKY = "a \t\n\x1c\x00\x7f\x85\u00a0\u0301\u200b\u202e\u2066\ufeff\U0001f600\U000e0001"


def accepted(text: str) -> bool:
    try:
        clean_question(text)
    except ConfigError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(TRICKY), max_size=6) | st.text(max_size=12))
def test_pattern_matches_exactly_the_accepted_questions(text: str) -> None:
    assert bool(PATTERN.search(text)) == accepted(text), repr(text)
