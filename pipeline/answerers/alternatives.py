"""A question against its one-word alternatives on the same frame (zero-shot support).

CLIP answers "which of these texts fits the image?" far better than "how well does this
text fit?": a cosine's absolute level depends on the model, the scene and the light.
So each question gets a null set made from itself: every content word replaced, in
turn, by each word of a fixed list of common visual words ("a red circle" → "a blue
circle", "a red square", "a red car", ...). On a frame, the question's cosine is then
measured against its strongest competitor: in spreads of the alternatives' cosines above
the best alternative (``support``; 0: as good as the best other description, negative:
some one-word change of the question describes the frame better), and that spread
(``unit``) is the model's own scale of cosine differences for this question. (``top``
averages the best few instead: more forgiving of near-synonyms in the word list, less
sharp against a look-alike. The adaptive tracker asks the whole frame against the ten
closest, and its closer look a crop against the strongest one.)
Both need no history: a state present from the first frame is seen at once.

The alternatives of a question are encoded once (bounded cache).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.types import FloatArray

WORDS = (
    "red orange yellow green blue purple pink brown black white gray cyan magenta "
    "circle square triangle rectangle star line box ball car truck bus bicycle person "
    "man woman child dog cat bird door window table chair bag bottle cup phone light "
    "fire smoke water tree road sign wall floor"
).split()
"""Common visual words the alternatives are made of (colours, shapes, everyday things)."""
STOP = frozenset(
    "a an the is are was there of in on at any some to by with and or it this that "
    "does do has have be being any".split()
)
MAX_ALTERNATIVES = 256
TOP = 1
FALLBACK = ("a photo", "an empty scene", "a background", "nothing in particular")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'-]*")


def alternatives(question: str, limit: int = MAX_ALTERNATIVES) -> list[str]:
    """The question with each content word replaced by each other common word, in
    order of the question's words (the first ``limit``; generic prompts when it has no
    content word)."""
    out: list[str] = []
    for match in _TOKEN.finditer(question):
        word = match.group(0)
        if word.lower() in STOP:
            continue
        for other in WORDS:
            if other != word.lower():
                out.append(question[: match.start()] + other + question[match.end():])
    return out[:limit] or list(FALLBACK)


@dataclass
class Alternatives:
    """Support and unit of questions on frames, the alternatives encoded once each."""

    encoder: Any
    max_cached: int = 512
    _embs: OrderedDict[str, FloatArray] = field(default_factory=OrderedDict)

    def support(self, question: str, frame_emb: FloatArray, score: float,
                top: int = TOP) -> tuple[float, float]:
        """(support, unit) of ``score`` (the question's cosine with ``frame_emb``) against
        the mean of the ``top`` best alternatives."""
        cos = self._of(question) @ np.asarray(frame_emb, dtype=np.float32)
        unit = float(np.std(cos))
        if unit <= 0.0 or not np.isfinite(unit):
            return 0.0, 0.0
        closest = float(np.mean(np.sort(cos)[-top:]))
        return (score - closest) / unit, unit

    def prepare(self, question: str) -> None:
        """Encode the question's alternatives now (cached)."""
        self._of(question)

    def _of(self, question: str) -> FloatArray:
        embs = self._embs.get(question)
        if embs is None:
            embs = np.asarray(self.encoder.encode_text(alternatives(question)), dtype=np.float32)
            self._embs[question] = embs
            while len(self._embs) > self.max_cached:
                self._embs.popitem(last=False)
        self._embs.move_to_end(question)
        return embs


def best_frame(frame_scores: Sequence[float]) -> int:
    """Index of the selected frame with the highest score."""
    return int(np.argmax(np.asarray(frame_scores, dtype=np.float64)))
