"""The configuration's sections, one settings class each (see :mod:`workers.config`)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    SecretStr,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from connectors.kafka.security import KafkaSecurity
from pipeline.errors import ConfigError
from pipeline.perception import SelectionConfig

_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
BOOTSTRAP_ALLOWED = "host:port[,host:port...] with a port of 1-65535"


def bootstrap_ok(value: str) -> bool:
    """Whether ``value`` is comma-separated ``host:port`` pairs (port 1–65535; empty: not
    set)."""
    for part in filter(None, (p.strip() for p in value.split(","))):
        host, sep, port = part.rpartition(":")
        if not (sep and host.strip("[]") and port.isdigit() and 0 < int(port) < 65536):
            return False
    return True

HOUR = 3600.0
DAY = 24 * HOUR
Seconds = Annotated[float, Field(gt=0)]
"""A duration in seconds, above zero."""
Count = Annotated[int, Field(ge=1)]
"""A count of at least one."""


def section_config(prefix: str) -> SettingsConfigDict:
    """Unknown keys refused, frozen, and no NaN or infinity in any number (an infinite
    timeout or retention is a crash where it becomes milliseconds, never "no limit")."""
    return SettingsConfigDict(env_prefix=prefix, extra="forbid", frozen=True,
                              allow_inf_nan=False)


class PerceptionSettings(BaseSettings):
    """How frames are encoded and questions answered (pipeline)."""

    model_config = section_config("FEEDWATCH_PERCEPTION_")

    clip: str = "auto"  # the first real CLIP found locally, else shapes-demo (warned)
    vlm: str = ""
    device: str = "auto"
    precision: str = "fp32"  # int8: CPU vision MLPs quantised, ~1.5x frames/s (bench encode)
    encode_batch: Count | None = None  # frames per vision pass; None: 8 on a CPU, 64 on a GPU
    sample_fps: float = Field(default=1.0, gt=0, le=1000)  # above: t * fps overflows
    k_prompt: int = 3
    k_uniform: int = 3
    alpha: float = 0.6
    roi_estimator: str = "weighted"  # best in `feedwatch bench selection --estimator all`
    max_lag_s: float | None = None  # live catch-up: skip (count, log) windows older than this
    nice: int = Field(default=10, ge=0, le=19)
    """How much a Kafka worker lowers its CPU priority at start (``os.nice``): ingest, the
    broker and the API on the same host go first, so a live camera is never read late
    because the encoder holds every core; 0 keeps it. No effect on a host of its own."""

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not _DEVICE.fullmatch(value):
            raise ValueError("auto, cpu, cuda or cuda:N")
        return value

    def selection(self) -> SelectionConfig:
        """Temporal and spatial selection, as the engine takes them."""
        return SelectionConfig(k_prompt=self.k_prompt, k_uniform=self.k_uniform,
                               alpha=self.alpha, estimator=self.roi_estimator)


class StoreSettings(BaseSettings):
    """The SQL store (connectors.store)."""

    model_config = section_config("FEEDWATCH_STORE_")

    url: str = "sqlite:///feedwatch.db"


class KafkaSettings(BaseSettings, KafkaSecurity):
    """The Kafka bus (connectors.kafka); SASL and TLS fields from KafkaSecurity
    (``FEEDWATCH_KAFKA_SECURITY_PROTOCOL``, ``FEEDWATCH_KAFKA_SASL_USERNAME``, ...)."""

    model_config = section_config("FEEDWATCH_KAFKA_") | {"hide_input_in_errors": True}

    bootstrap: str = ""
    topic_prefix: str = "feedwatch."
    # topics (full name = topic_prefix + name); created if missing with these settings
    segments_topic: str = "segments"
    queries_topic: str = "queries"
    answers_topic: str = "answers"
    deadletter_topic: str = "deadletter"
    status_topic: str = "status"  # compacted, key camera: latest stream status (ingest → API)
    frames_topic: str = "frames"  # every encoded frame, perception → sink's frame index
    partitions: Count = 8
    replication_factor: Count = 1
    segment_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    segments_retention_s: Seconds = 6 * HOUR
    answers_retention_s: Seconds = 7 * DAY
    deadletter_retention_s: Seconds = 7 * DAY
    frames_retention_s: Seconds = 6 * HOUR
    # producers
    linger_ms: NonNegativeInt = 5
    request_timeout_s: Seconds = 30.0
    # the worker group (workers.perception.faust_app, workers.answers_consumer)
    group_id: str = "feedwatch-perceive"
    sink_group_id: str = "feedwatch-sink"
    session_timeout_s: Seconds = 10.0  # a silent worker's partitions move on after this
    heartbeat_interval_s: Seconds = 3.0  # keep well under session_timeout_s (about a third)
    commit_interval_s: Seconds = 1.0  # how often offsets of acknowledged records are committed
    max_poll_records: Count = 16  # records one poll returns at most

    @field_validator("bootstrap")
    @classmethod
    def _bootstrap(cls, value: str) -> str:
        if not bootstrap_ok(value):
            raise ValueError(BOOTSTRAP_ALLOWED)
        return value

    def with_bootstrap(self, value: str, flag: str = "--kafka") -> KafkaSettings:
        """These settings with another bootstrap address, checked as the field is."""
        if not value or not bootstrap_ok(value):
            raise ConfigError(flag, value, BOOTSTRAP_ALLOWED)
        return self.model_copy(update={"bootstrap": value})
    # the perceive agent takes batches of up to this many records, due once the oldest has
    # waited this many seconds (since produced); their frames (any cameras) share one
    # encoder call (workers.perception.batching). The sink batches the same way.
    perceive_batch_size: Count = 32
    perceive_batch_within_s: Seconds = 0.1
    sink_batch_size: Count = 100
    # the sink waits less for company: answers of one step come out together anyway, and
    # what piles up during a write is the next batch (bench e2e, 16 cameras: store p50
    # 160 -> ~100 ms)
    sink_batch_within_s: Seconds = 0.02
    warmup: bool = True
    datadir: str = ""


class ApiSettings(BaseSettings):
    """The HTTP API and dashboard (workers.api)."""

    model_config = section_config("FEEDWATCH_API_")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    read_tokens: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    write_tokens: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    sse_poll_s: float = Field(default=1.0, gt=0, le=60)
    sse_keepalive_s: float = Field(default=15.0, gt=0, le=300)
    # a stream resuming further back than this many answers skips to them (event: gap)
    sse_replay_max: int = Field(default=1000, ge=0, le=100_000)
    page_max: int = Field(default=200, ge=1, le=10000)
    # Kafka mode: a camera reported connected but silent this long is shown stalled
    # (its ingest publishes a status snapshot with every segment)
    status_stale_s: Seconds = 60.0
    # camera sources registered through the API: network schemes only unless this is set
    # (a local path or /dev/video* names something on the ingest host, not a camera)
    allow_local_sources: bool = False
    # request bodies past this are answered 413 before they are read (workers.api.limits)
    max_body_bytes: int = Field(default=1 << 20, ge=1024, le=1 << 30)
    # backfills (workers.history.jobs): windows one may answer (range / every x cameras),
    # jobs queued or running at once, frames read per page, silence before a running
    # job counts as interrupted and is resumed by another runner
    backfill_max_windows: int = Field(default=50_000, ge=1, le=10_000_000)
    backfill_max_active: int = Field(default=16, ge=1, le=1000)
    backfill_page_frames: int = Field(default=256, ge=1, le=10_000)
    backfill_stale_s: Seconds = 120.0
    # live answer streams open at once per token (429 past it; workers.api.guard)
    streams_per_token: int = Field(default=8, ge=1, le=1000)
    # invalid tokens from one client address within the window before it gets 429 (a
    # client checking auth on every operation, as schemathesis does, stays under it)
    auth_failures: int = Field(default=60, ge=1, le=100_000)
    auth_window_s: float = Field(default=60.0, gt=0, le=DAY)
    # cameras, standing queries, hooks and rules a client may add, each (409 past it)
    max_items: int = Field(default=1000, ge=1, le=1_000_000)

    @field_validator("read_tokens", "write_tokens", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        """``a,b`` from the environment becomes ``("a", "b")``; blanks are dropped."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


class HooksSettings(BaseSettings):
    """Alert hooks (connectors.hooks, workers.alerts.engine)."""

    model_config = section_config("FEEDWATCH_HOOKS_")

    allow_private: bool = False
    # delivery (connectors.hooks.delivery): one attempt, then backoff with full jitter
    timeout_s: Seconds = 5.0
    max_attempts: Count = 8
    max_age_s: Seconds = DAY
    backoff_base_s: Seconds = 1.0
    backoff_cap_s: Seconds = 300.0
    # default per-hook limits (a hook row may override them)
    cooldown_s: NonNegativeFloat = 0.0
    rate_cap: NonNegativeInt = 60
    rate_period_s: Seconds = HOUR
    # workers.alerts.engine loops
    poll_s: Seconds = 0.5
    lease_s: Seconds = 60.0
    batch_size: Count = 200
    wait_on_exit_s: NonNegativeFloat = 30.0
    # base URL of the API, for evidence links in notifications ("" = no link)
    public_url: str = ""


class HistorySettings(BaseSettings):
    """The frame index (connectors.store.frames): what is kept of every encoded frame."""

    model_config = section_config("FEEDWATCH_HISTORY_")

    index: bool = True  # write every encoded frame to the frame index
    thumb_side: int = Field(default=160, ge=16, le=1024)  # JPEG thumbnail's longer side, px
    grid_max: int = Field(default=8, ge=0, le=64)  # pooled patch grid cells a side; 0 = none


class RetentionSettings(BaseSettings):
    """How long rows are kept, on each camera's stream clock (unset = forever).

    Durations like ``90s``, ``30m``, ``12h``, ``7d``: ``FEEDWATCH_RETENTION_FRAMES``,
    ``FEEDWATCH_RETENTION_ANSWERS``, ``FEEDWATCH_RETENTION_EVIDENCE``; the answer rollups
    (runs, minutes) have their own, longer horizon, ``FEEDWATCH_RETENTION_ROLLUPS``.
    """

    model_config = section_config("FEEDWATCH_RETENTION_")

    frames: str = ""
    answers: str = ""
    evidence: str = ""
    incidents: str = ""  # closed incidents, with their clips and deliveries
    rollups: str = "400d"
    interval_s: Seconds = 10.0  # how often the writer prunes
    batch: Count = 500  # rows per delete transaction

    @field_validator("frames", "answers", "evidence", "incidents", "rollups")
    @classmethod
    def _duration(cls, value: str, info: Any) -> str:
        from pipeline.history.duration import parse_duration

        if value.strip():
            parse_duration(value, f"retention.{info.field_name}", most=float("inf"))
        return value.strip()


class ClipsSettings(BaseSettings):
    """Incident clips (workers.clips): what a clip covers, where clips are kept, links."""

    model_config = section_config("FEEDWATCH_CLIPS_")

    enabled: bool = True
    dir: str = "feedwatch-clips"  # every process of a deployment must reach it (shared volume)
    pre_roll_s: NonNegativeFloat = 5.0  # before the first matched window
    post_roll_s: NonNegativeFloat = 5.0  # after the opening (open clip) or the close
    max_s: Seconds = 60.0  # longer incidents keep their first and last max_s / 2
    wait_s: NonNegativeFloat = 30.0  # wall seconds to wait for the post-roll's segments
    poll_s: Seconds = 0.5
    ring_s: Seconds = 300.0  # embedded run: stream seconds of segments kept per camera
    ring_mb: Count = 256  # embedded run: MB of segments kept per camera (and for holds)
    link_ttl_s: Seconds = 7 * DAY  # how long signed clip and snapshot links open
