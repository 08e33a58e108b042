"""Process health of the scale-out: Prometheus metrics and heartbeat files."""

from __future__ import annotations

import os
import socket
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from prometheus_client import REGISTRY

from connectors.bus import messages as msg
from connectors.bus.base import Record
from connectors.bus.deadletter import DeadLetters
from connectors.store import AnswerSink, Store
from connectors.video.testing import make_clip
from pipeline.errors import ConfigError
from pipeline.types import Segment
from tests.unit.fakes import RecordingProducer
from tests.unit.workers.test_perceive_worker import (
    TOPICS,
    Q,
    _answer,
    factory,
    record,
    segment,
)
from workers.answers_consumer import AnswersConsumer
from workers.cli.main import cli
from workers.ops import metrics
from workers.ops.heartbeat import Heartbeat
from workers.perception.handler import BatchHandler
from workers.perception.ownership import PerceiveCore


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _handler(heartbeat: Heartbeat | None = None) -> tuple[BatchHandler, RecordingProducer]:
    core = PerceiveCore(factory([]))
    core.on_query("q1", Q)
    dl = RecordingProducer()
    beat = heartbeat or Heartbeat(None)
    handler = BatchHandler(core, RecordingProducer(), TOPICS, DeadLetters(dl, "dl"), heartbeat=beat)
    return handler, dl


def test_a_processed_segment_counts_segments_frames_answers_and_latency() -> None:
    camera = "metrics-cam"
    before = {
        "seg": value("feedwatch_segments_total", camera=camera),
        "frames": value("feedwatch_frames_encoded_total", camera=camera),
        "answers": value("feedwatch_answers_total", answerer="clip", matched="false"),
        "lat": value("feedwatch_answer_latency_seconds_count", answerer="clip"),
    }
    handler, _ = _handler()
    assert handler([record(segment(camera, 0), 0)]) == 1
    assert value("feedwatch_segments_total", camera=camera) == before["seg"] + 1
    assert value("feedwatch_frames_encoded_total", camera=camera) == before["frames"] + 2
    assert (
        value("feedwatch_answers_total", answerer="clip", matched="false") == before["answers"] + 1
    )
    assert value("feedwatch_answer_latency_seconds_count", answerer="clip") == before["lat"] + 1


def test_the_workers_encoder_and_decoder_are_timed() -> None:
    from pipeline.perceiver import AnswererCache, build_perceiver
    from pipeline.perception import SelectionConfig
    from pipeline.scheduler import Scheduler
    from pipeline.testing import ColourEncoder
    from tests.unit.workers.test_perceive_worker import fake_decode

    encoder = metrics.TimedEncoder(ColourEncoder())
    perceiver = build_perceiver(
        encoder,
        AnswererCache(encoder),
        SelectionConfig(),
        Scheduler([Q]),
        metrics.timed_decode(fake_decode),
        2.0,
    )
    encoded = value("feedwatch_encode_latency_seconds_count")
    decoded = value("feedwatch_segment_decode_seconds_count")
    answers = perceiver.on_segment(segment("timed-cam", 0))
    assert answers and answers[0].model_ids  # the wrapped encoder still answers
    assert value("feedwatch_encode_latency_seconds_count") == encoded + 1
    assert value("feedwatch_segment_decode_seconds_count") == decoded + 1


def test_a_bad_segment_counts_a_dead_letter_not_a_segment() -> None:
    camera = "metrics-bad"
    dead = value("feedwatch_dead_letters_total", stage="perceive")
    handler, dl = _handler()
    corrupt = Segment(camera, 0, 0.0, 1.0, b"\x00garbage")
    assert handler([record(corrupt, 0)]) == 0
    assert len(dl.sent) == 1
    assert value("feedwatch_dead_letters_total", stage="perceive") == dead + 1
    assert value("feedwatch_segments_total", camera=camera) == 0.0


def test_the_sink_counts_new_rows_only(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'fw.db'}")
    store.upsert_query(Q)
    handler = AnswersConsumer(AnswerSink(store), DeadLetters(RecordingProducer(), "dl"))
    recs = [
        Record("t.answers", 0, i, *msg.encode_answer(_answer(float(i + 1))), 0.0) for i in range(2)
    ]
    stored = value("feedwatch_answers_stored_total")
    handler(recs)
    handler(recs)  # redelivered: no new rows
    assert value("feedwatch_answers_stored_total") == stored + 2
    store.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_metrics_port_serves_the_prometheus_text() -> None:
    assert metrics.serve(0) is False
    port = _free_port()
    assert metrics.serve(port, "127.0.0.1") is True
    metrics.SEGMENTS.labels(camera="served-cam").inc()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:  # noqa: S310
        text = resp.read().decode()
    assert 'feedwatch_segments_total{camera="served-cam"} 1.0' in text
    with pytest.raises(ConfigError, match="--metrics-port"):
        metrics.serve(port, "127.0.0.1")  # taken: a clear error, not a traceback


def test_worker_and_ingest_offer_a_metrics_port_with_env_fallback() -> None:
    for command in ("worker", "ingest"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and "--metrics-port" in result.output
        assert "FEEDWATCH_METRICS_PORT" in result.output


def _healthcheck(path: Path) -> int:
    return (
        CliRunner()
        .invoke(cli, ["healthcheck", "--heartbeat", str(path), "--max-age", "30"])
        .exit_code
    )


def test_the_perception_handler_beats_and_healthcheck_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    beat = tmp_path / "worker.heartbeat"
    monkeypatch.setenv("FEEDWATCH_HEARTBEAT_FILE", str(beat))
    assert _healthcheck(beat) == 1  # never beaten
    handler, _ = _handler(Heartbeat.from_env())
    handler([record(segment("beat-cam", 0), 0)])
    assert beat.exists() and _healthcheck(beat) == 0
    old = time.time() - 120
    os.utime(beat, (old, old))
    assert _healthcheck(beat) == 1  # stale: the worker stopped beating


def test_the_sink_handler_beats(tmp_path: Path) -> None:
    beat = tmp_path / "sink.heartbeat"
    store = Store.from_url(f"sqlite:///{tmp_path / 'fw.db'}")
    handler = AnswersConsumer(
        AnswerSink(store), DeadLetters(RecordingProducer(), "dl"), heartbeat=Heartbeat(beat)
    )
    handler([])
    assert beat.exists()
    store.close()


def test_ingest_beats_per_segment_and_counts_segments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = make_clip(tmp_path / "c.mp4", seconds=2.0, fps=10, keyframe_interval_s=1.0)
    beat = tmp_path / "ingest.heartbeat"
    monkeypatch.setenv("FEEDWATCH_HEARTBEAT_FILE", str(beat))
    before = value("feedwatch_segments_total", camera="ingest-beat")
    args = ["ingest", str(clip), "--camera", "ingest-beat", "--to-dir", str(tmp_path / "out")]
    result = CliRunner().invoke(cli, [*args, "--quiet"])
    assert result.exit_code == 0, result.output
    assert value("feedwatch_segments_total", camera="ingest-beat") > before
    assert beat.exists() and _healthcheck(beat) == 0


@pytest.mark.parametrize("flag", ["--max-age", "--timeout"])
@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf"])
def test_healthcheck_limits_are_positive_durations(flag: str, value: str, tmp_path: Path) -> None:
    """Not a traceback from the socket layer: a usage error naming the option."""
    res = CliRunner().invoke(cli, ["healthcheck", "--url", "http://127.0.0.1:9/health",
                                   flag, value])
    assert res.exit_code == 2 and flag in res.output and "positive duration" in res.output
