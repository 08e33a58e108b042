"""Where the adaptive answerer's trackers live between windows, restarts and takeovers."""

from __future__ import annotations

from typing import Protocol

from pipeline.answerers.corrections import Label
from pipeline.answerers.tracker_state import BaselineState


class StateProvider(Protocol):
    """Where trackers live between windows, restarts and worker takeovers.

    ``load`` returns the saved state (an empty one when there is none); ``save`` keeps
    the state after a window. The store-backed provider lives in ``connectors.store``;
    :class:`MemoryStates` is the in-process one.
    """

    def load(self, query_id: str, camera: str) -> BaselineState: ...

    def save(self, query_id: str, camera: str, state: BaselineState) -> None: ...


class MemoryStates:
    """States kept in a dict: the default, and the test double."""

    def __init__(self) -> None:
        self.states: dict[tuple[str, str], BaselineState] = {}

    def load(self, query_id: str, camera: str) -> BaselineState:
        return self.states.get((query_id, camera), BaselineState())

    def save(self, query_id: str, camera: str, state: BaselineState) -> None:
        self.states[(query_id, camera)] = state

    def add_label(self, query_id: str, camera: str, label: Label) -> None:
        self.save(query_id, camera, self.load(query_id, camera).with_label(label))
