"""Per-frame memo: work done on a buffered frame once, reused while the frame is buffered.

A frame stays in ~window/every windows of its camera, and every question due on those
windows looks at it again: its RoI for a question and its evidence JPEG for a box are the
same each time. Entries are keyed by the frame object itself (its id, guarded by a weak
reference, so a recycled id or a re-encoded frame with the same camera and time is worked
out anew) and a key of the caller's; the memo is capped, oldest first, and drops entries
of frames the buffers have let go.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from pipeline.types import EncodedFrame

V = TypeVar("V")


class FrameMemo(Generic[V]):
    """``value(frame, key)`` computed once per live (frame, key), up to ``cap`` kept."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._entries: OrderedDict[tuple[int, Hashable], tuple[weakref.ref[EncodedFrame], V]] = (
            OrderedDict()
        )

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, frame: EncodedFrame, key: Hashable, make: Callable[[], V]) -> V:
        """The memo of (``frame``, ``key``), made by ``make()`` when there is none."""
        k = (id(frame), key)
        hit = self._entries.get(k)
        if hit is not None and hit[0]() is frame:
            return hit[1]
        value = make()
        self._entries.pop(k, None)  # a recycled id: the new entry goes to the end
        self._entries[k] = (weakref.ref(frame), value)
        while self._entries and (  # capped, and nothing kept for frames the buffers dropped
            len(self._entries) > self.cap or next(iter(self._entries.values()))[0]() is None
        ):
            self._entries.popitem(last=False)
        return value
