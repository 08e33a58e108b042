"""The latency waterfall of ``bench e2e``: where an answer's seconds go, per mode.

The embedded mode reads each answer's ``timings`` at its commit (the bench's timing
sink adds ``stored``). In the Kafka mode the answers topic carries the timings up to
``answer_produced``; ``stored`` is when the bench first saw the row (the moment its
latency is measured to), so the stages sum to the reported latency in both modes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pipeline.timings import dominant

Key = tuple[str, str, float]


def answer_timings(bootstrap: str, topic: str) -> dict[Key, dict[str, float]]:
    """Per (query, camera, window end), the timings of its first record in ``topic``."""
    from kafka import KafkaConsumer

    from connectors.bus import messages as msg
    from connectors.kafka.clients import kafka_client
    from pipeline.errors import MessageError
    from workers.config import KafkaSettings

    consumer = kafka_client(KafkaConsumer, KafkaSettings(bootstrap=bootstrap), topic,
                            group_id=None, auto_offset_reset="earliest",
                            consumer_timeout_ms=2000, max_partition_fetch_bytes=16 * 1024 * 1024)
    out: dict[Key, dict[str, float]] = {}
    try:
        for m in consumer:
            try:
                a = msg.decode_answer(m.key, m.value, m.headers)
            except MessageError:
                continue
            out.setdefault((a.query_id, a.camera, a.window_end), dict(a.timings))
    finally:
        consumer.close()
    return out


def with_stored(timings: Mapping[Key, Mapping[str, float]],
                seen: Mapping[Key, float]) -> list[dict[str, float]]:
    """Each stored answer's timings, ``stored`` = when its row was first seen."""
    return [{**timings[k], "stored": at} for k, at in seen.items() if k in timings]


def describe(mode: str, summary: Mapping[str, Mapping[str, Any]]) -> str:
    """One line naming the dominant stage of ``mode`` (for stderr)."""
    name = dominant(summary)
    if name is None:
        return f"{mode}: no timings"
    stage, total = summary[name], summary.get("total", {})
    parts = ", ".join(f"{n} {s['p50_ms']:.0f}" for n, s in summary.items() if n != "total")
    return (f"{mode}: dominant stage {name} (mean {stage['mean_ms']:.0f} ms of "
            f"{total.get('mean_ms', 0):.0f} ms; p50 {stage['p50_ms']:.0f} ms, p95 "
            f"{stage['p95_ms']:.0f} ms); stage p50s ms: {parts}")


def note_dominant(result: Mapping[str, Any], note: Callable[[str], None]) -> None:
    """Name each mode's dominant stage."""
    for mode in ("embedded", "kafka"):
        if mode in result:
            note(describe(mode, result[mode].get("timings", {})))
    if "mode" in result:
        note(describe(str(result["mode"]), result.get("timings", {})))
