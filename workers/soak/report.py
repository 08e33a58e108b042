"""The soak's measurements: topic contents, consumer lag, peak memory, the report.

Everything here reads the real system from outside (Kafka topics and group
offsets, the SQL store, ``/proc``), as an operator's monitoring would.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from connectors.bus import messages as msg
from pipeline.types import Segment


@dataclass
class Tally:
    """Expected keys against what arrived: the answers stored, the incidents delivered."""

    expected: int = 0
    seen: int = 0  # rows or deliveries, repeats included
    missing: int = 0
    extra: int = 0
    twice: int = 0  # arrivals beyond the first per key

    @classmethod
    def of(cls, expected: set[Any], seen: Counter[Any]) -> Tally:
        return cls(
            expected=len(expected),
            seen=sum(seen.values()),
            missing=len(expected - set(seen)),
            extra=len(set(seen) - expected),
            twice=sum(n - 1 for n in seen.values()),
        )


@dataclass
class SoakReport:
    """What the soak saw; ``ok`` when nothing was lost, doubled or left undelivered."""

    cameras: int
    minutes: float
    faults: dict[str, int] = field(default_factory=dict)
    skipped_faults: list[str] = field(default_factory=list)
    segments_in: int = 0
    answers: Tally = field(default_factory=Tally)  # due windows vs stored answers
    answers_pruned: int = 0  # absent, but produced and then deleted by answer retention
    examples_missing: list[str] = field(default_factory=list)
    answer_messages_redelivered: int = 0
    dead_letters_by_error: dict[str, int] = field(default_factory=dict)
    fuzz_injected: int = 0
    fuzz_dead_lettered: int = 0
    incidents: Tally = field(default_factory=Tally)  # incident openings vs hook deliveries
    hook_requests: int = 0
    delivery_attempts: int = 0
    bad_signatures: int = 0
    worker_restarts: int = 0
    crashes: list[str] = field(default_factory=list)
    max_consumer_lag: dict[str, int] = field(default_factory=dict)
    peak_memory_mb: dict[str, float] = field(default_factory=dict)
    final_memory_mb: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0
    retention: dict[str, Any] = field(default_factory=dict)  # RetentionAudit.as_dict()
    log_errors: int = 0
    log_error_examples: list[str] = field(default_factory=list)
    hostile: dict[str, Any] = field(default_factory=dict)  # HostileClient.report()
    rss: dict[str, Any] = field(default_factory=dict)  # RssLog.judge(); runs past minute 12

    @property
    def dead_letters(self) -> int:
        return sum(self.dead_letters_by_error.values())

    @property
    def retention_overdue(self) -> int:
        return sum(self.retention.get("overdue", {}).values())

    @property
    def logs_clean(self) -> bool:
        """No ERROR in any log (under injected faults, errors are expected)."""
        return self.log_errors == 0 or bool(self.faults)

    @property
    def ok(self) -> bool:
        a, i = self.answers, self.incidents
        return (
            a.missing == 0
            and a.twice == 0
            and a.extra == 0
            and i.missing == 0
            and i.twice == 0
            and self.fuzz_dead_lettered >= self.fuzz_injected
            and not self.crashes
            and self.retention_overdue == 0
            and self.logs_clean
            and not self.hostile.get("unexpected")
            and self.rss.get("ok", True)
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "dead_letters": self.dead_letters, "ok": self.ok}

    def lines(self) -> list[str]:
        """The report for people."""
        faults = ", ".join(f"{k}×{v}" for k, v in sorted(self.faults.items())) or "none"
        mem = ", ".join(f"{k} {v:.0f}" for k, v in sorted(self.peak_memory_mb.items()))
        final = ", ".join(f"{k} {v:.0f}" for k, v in sorted(self.final_memory_mb.items()))
        lag = ", ".join(f"{k} {v}" for k, v in sorted(self.max_consumer_lag.items()))
        a, i = self.answers, self.incidents
        return [
            f"soak: {self.cameras} cameras, {self.minutes:g} min, {self.wall_seconds:.0f} s wall",
            f"faults injected: {faults}"
            + (f" (skipped: {', '.join(self.skipped_faults)})" if self.skipped_faults else ""),
            f"segments in {self.segments_in}; due windows {a.expected}; answers stored {a.seen}",
            f"missing {a.missing}; duplicated {a.twice}; extra {a.extra}; "
            f"answer messages redelivered (absorbed by the unique key) "
            f"{self.answer_messages_redelivered}",
            f"dead letters {self.dead_letters} {dict(sorted(self.dead_letters_by_error.items()))}; "
            f"fuzz records dead-lettered {self.fuzz_dead_lettered}/{self.fuzz_injected}",
            f"alert incidents expected {i.expected}, delivered {i.expected - i.missing} "
            f"(missing {i.missing}, twice {i.twice}, unexpected {i.extra}); hook requests "
            f"received {self.hook_requests}, send attempts {self.delivery_attempts}",
            f"worker restarts {self.worker_restarts}; crashes {len(self.crashes)}"
            + (f" {self.crashes}" if self.crashes else ""),
            *self._retention_lines(),
            *self._hostile_lines(),
            f"errors in the logs: {self.log_errors}"
            + "".join(f"\n  {line}" for line in self.log_error_examples),
            f"max consumer lag (records): {lag or 'n/a'}",
            f"peak memory (MiB RSS): {mem or 'n/a'}",
            f"final memory (MiB RSS, last sample): {final or 'n/a'}",
            "result: " + ("OK" if self.ok else "FAILED"),
        ]

    def _hostile_lines(self) -> list[str]:
        h, out = self.hostile, []
        if h:
            bad = [f"{k} {v['unexpected_examples']}" for k, v in h["probes"].items()
                   if v["unexpected"]]
            out.append(f"hostile probes: {h['rounds']} rounds, {h['sent']} sent, "
                       f"{h['unexpected']} unexpected" + (f" {bad}" if bad else ""))
        for name, v in sorted(self.rss.get("processes", {}).items()):
            out.append(f"RSS {name}: " + (
                f"{v['baseline_mb']:.0f} MiB at {v['baseline_s']:.0f} s → {v['end_mb']:.0f} "
                f"MiB at {v['end_s']:.0f} s ({v['change_pct']:+.1f} %)" if v.get("judged")
                else "not judged") + f", {v['instances']} instance(s)")
        return out

    def _retention_lines(self) -> list[str]:
        if not self.retention:
            return []
        keep = ", ".join(f"{k} {v:g} s" for k, v in self.retention["keep_s"].items())
        ages = ", ".join(f"{k} {v:g} s" for k, v in self.retention["oldest_age_s"].items())
        return [
            f"retention: keep {keep}; pruning every {self.retention['interval_s']:g} s; "
            f"answers pruned {self.answers_pruned}",
            f"oldest kept row (age on its camera's clock): {ages}; "
            f"overdue rows {self.retention['overdue']}",
        ]


def read_topic(bootstrap: str, topic: str, timeout_ms: int = 3000) -> list[Any]:
    """Every record of ``topic`` from the beginning (group-less; SASL/TLS from
    ``FEEDWATCH_KAFKA_*``, like the stack under test)."""
    from kafka import KafkaConsumer

    from connectors.kafka.clients import kafka_client
    from workers.config import KafkaSettings

    consumer = kafka_client(
        KafkaConsumer,
        KafkaSettings(bootstrap=bootstrap),
        topic,
        group_id=None,
        auto_offset_reset="earliest",
        consumer_timeout_ms=timeout_ms,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    try:
        return list(consumer)
    finally:
        consumer.close()


def topic_segments(records: list[Any]) -> dict[str, list[Segment]]:
    """Per camera, its decodable-as-message segments in offset order."""
    out: dict[str, list[Segment]] = {}
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        try:
            seg = msg.decode_segment(r.key, r.value, r.headers)
        except msg.MessageError:
            continue
        out.setdefault(seg.camera, []).append(seg)
    return out


def topic_answers(records: list[Any]) -> tuple[dict[tuple[str, str, float], Any], int]:
    """The first answer message per (query, camera, window end), and how many came again."""
    first: dict[tuple[str, str, float], Any] = {}
    again = 0
    for r in records:
        with contextlib.suppress(msg.MessageError):
            a = msg.decode_answer(r.key, r.value, r.headers)
            key = (a.query_id, a.camera, a.window_end)
            if key in first:
                again += 1
            else:
                first[key] = a
    return first, again


FUZZ_HEADER = "soak-fuzz"


def dead_letter_errors(records: list[Any]) -> tuple[Counter[str], Counter[str]]:
    """Counts by error type, and how often each injected fuzz record was dead-lettered."""
    by_type: Counter[str] = Counter()
    fuzz: Counter[str] = Counter()
    for r in records:
        with contextlib.suppress(msg.MessageError):
            d = msg.decode_deadletter(r.key, r.value, r.headers)
            by_type[d.error_type] += 1
            mark = dict(d.headers).get(FUZZ_HEADER)
            if mark:
                fuzz[mark.decode("utf-8", "replace")] += 1
    return by_type, fuzz


class LagProbe:
    """Consumer-group lag (end offset minus committed, summed over partitions).

    A group-named consumer that never subscribes only fetches committed offsets; it
    does not join the group, so it does not disturb the workers' assignment.
    """

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._consumers: dict[str, Any] = {}
        self.last_error = ""

    def lag(self, group: str, topic: str) -> int | None:
        try:
            return self._lag(group, topic)
        except Exception as exc:  # the broker may be the fault being injected
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.close()
            return None

    def _consumer(self, group: str) -> Any:
        from kafka import KafkaConsumer

        from connectors.kafka.clients import kafka_client
        from workers.config import KafkaSettings

        if group not in self._consumers:
            self._consumers[group] = kafka_client(
                KafkaConsumer, KafkaSettings(bootstrap=self.bootstrap), group_id=group,
                enable_auto_commit=False,
            )
        return self._consumers[group]

    def _lag(self, group: str, topic: str) -> int:
        from kafka import TopicPartition

        consumer = self._consumer(group)
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        ends = consumer.end_offsets(tps)
        return sum(max(0, ends.get(tp, 0) - (consumer.committed(tp) or 0)) for tp in tps)

    def close(self) -> None:
        for consumer in self._consumers.values():
            with contextlib.suppress(Exception):
                consumer.close()
        self._consumers = {}
