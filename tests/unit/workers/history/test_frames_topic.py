"""Frames over the bus: the perception side publishes, the sink side indexes and prunes.

Run over the in-process bus, whose records are byte-identical to Kafka's.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from connectors.bus.deadletter import DeadLetters
from connectors.bus.memory import MemoryBus
from connectors.store import Store
from connectors.store.frames.index import FrameIndex
from connectors.store.retention import Pruner, RetentionPolicy
from pipeline.history.records import IndexPolicy
from pipeline.types import EncodedFrame
from workers.history.kafka import FrameBatchHandler, FramePublisher
from workers.history.writer import FrameWriter

TOPIC = "feedwatch.frames"


def encoded(camera: str, t: float) -> EncodedFrame:
    rng = np.random.default_rng(int(t))
    g = rng.normal(size=16).astype(np.float32)
    return EncodedFrame(camera, t, g / np.linalg.norm(g), rng.normal(size=(4, 4, 16)).astype(
        np.float32), np.full((60, 80, 3), 100, np.uint8), (240, 320))


def test_published_frames_are_indexed_once_and_pruned(tmp_path: Path) -> None:
    bus = MemoryBus()
    publish = FramePublisher(bus.producer(), TOPIC, "tiny", IndexPolicy(grid_max=2))
    publish({"dock": [encoded("dock", float(t)) for t in range(40)],
             "gate": [encoded("gate", 5.0)]})
    publish({"dock": [encoded("dock", 3.0)]})  # the same frame again (redelivery)
    bus.producer().send(TOPIC, b"dock", b"not json", [])
    store = Store.from_url(f"sqlite:///{tmp_path / 's.db'}")
    pruner = Pruner(store.engine, RetentionPolicy(frames=20, interval=0.001))
    handler = FrameBatchHandler(
        FrameWriter(FrameIndex(store.engine), "", IndexPolicy(), pruner),
        DeadLetters(bus.producer(), "feedwatch.deadletter"),
    )
    consumer = bus.consumer([TOPIC], "sink")
    assert handler(consumer.poll(max_records=1000)) == 42
    index = FrameIndex(store.engine)
    assert index.span("dock") == (19.0, 39.0)  # 40 s of dock, 20 s kept on its clock
    assert index.span("gate") == (5.0, 5.0)
    row = index.frames("dock", 30.0, 30.0)[0]
    assert row.model_id == "tiny" and row.grid.shape == (2, 2, 16) and row.frame_size == (240, 320)
    dead = bus.consumer(["feedwatch.deadletter"], "check").poll(max_records=10)
    assert len(dead) == 1 and dict(dead[0].headers)["error.stage"] == b"frames"
    store.close()


def test_a_frame_the_store_cannot_hold_does_not_stop_the_index(tmp_path: Path) -> None:
    """Before: a frames record whose frame size is past the store's integer stayed in the
    index's queue, so every later flush failed on it ("write postponed") and no frame of
    any camera was indexed again until the sink restarted."""
    bus = MemoryBus()
    publish = FramePublisher(bus.producer(), TOPIC, "tiny", IndexPolicy(grid_max=2))
    wild = replace(encoded("wild", 1.0), frame_size=(2**70, 320))
    publish({"dock": [encoded("dock", 1.0)], "wild": [wild]})
    store = Store.from_url(f"sqlite:///{tmp_path / 's.db'}")
    handler = FrameBatchHandler(FrameWriter(FrameIndex(store.engine), "", IndexPolicy()),
                                DeadLetters(bus.producer(), "feedwatch.deadletter"))
    consumer = bus.consumer([TOPIC], "sink")
    handler(consumer.poll(max_records=1000))
    publish({"dock": [encoded("dock", 2.0)]})
    handler(consumer.poll(max_records=1000))
    index = FrameIndex(store.engine)
    assert index.span("dock") == (1.0, 2.0) and index.span("wild") is None
    dead = bus.consumer(["feedwatch.deadletter"], "check").poll(max_records=10)
    assert [dict(d.headers)["error.camera"] for d in dead] == [b"wild"]
    store.close()
