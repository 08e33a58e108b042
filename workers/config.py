"""The one typed configuration root, read once at the entrypoint.

Every setting has an environment fallback. Each section is its own settings class
with its own prefix, so the variable names read naturally
(``FEEDWATCH_API_READ_TOKENS``, ``FEEDWATCH_HOOKS_ALLOW_PRIVATE``,
``FEEDWATCH_KAFKA_BOOTSTRAP``). Unknown keys are rejected; secrets are ``SecretStr``.
Sections are owned by the part of the product they configure; the CLI overlays its
flags on top with :func:`load_settings`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from connectors.video.settings import VideoSettings
from pipeline.errors import ConfigError
from pipeline.perception import SelectionConfig

HOUR = 3600.0
DAY = 24 * HOUR
Seconds = Annotated[float, Field(gt=0)]
"""A duration in seconds, above zero."""
Count = Annotated[int, Field(ge=1)]
"""A count of at least one."""


def _section(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, extra="forbid", frozen=True)


class PerceptionSettings(BaseSettings):
    """How frames are encoded and questions answered (pipeline)."""

    model_config = _section("FEEDWATCH_PERCEPTION_")

    clip: str = "auto"  # the first real CLIP found locally, else shapes-demo (warned)
    vlm: str = ""
    device: str = "auto"
    precision: str = "fp32"  # int8: CPU vision MLPs quantised, ~1.5x frames/s (bench encode)
    sample_fps: float = 1.0
    k_prompt: int = 3
    k_uniform: int = 3
    alpha: float = 0.6
    roi_estimator: str = "weighted"  # best in `feedwatch bench selection --estimator all`
    max_lag_s: float | None = None  # live catch-up: skip (count, log) windows older than this

    def selection(self) -> SelectionConfig:
        """Temporal and spatial selection, as the engine takes them."""
        return SelectionConfig(k_prompt=self.k_prompt, k_uniform=self.k_uniform,
                               alpha=self.alpha, estimator=self.roi_estimator)


class StoreSettings(BaseSettings):
    """The SQL store (connectors.store)."""

    model_config = _section("FEEDWATCH_STORE_")

    url: str = "sqlite:///feedwatch.db"


class KafkaSettings(BaseSettings):
    """The Kafka bus (connectors.kafka)."""

    model_config = _section("FEEDWATCH_KAFKA_")

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
    # the perceive agent takes batches of up to this many records, due once the oldest has
    # waited this many seconds (since produced); their frames (any cameras) share one
    # encoder call (workers.perception.batching). The sink batches the same way.
    perceive_batch_size: Count = 32
    perceive_batch_within_s: Seconds = 0.1
    sink_batch_size: Count = 100
    sink_batch_within_s: Seconds = 0.1
    warmup: bool = True
    datadir: str = ""


class ApiSettings(BaseSettings):
    """The HTTP API and dashboard (workers.api)."""

    model_config = _section("FEEDWATCH_API_")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    read_tokens: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    write_tokens: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    sse_poll_s: float = Field(default=1.0, gt=0, le=60)
    sse_keepalive_s: float = Field(default=15.0, gt=0, le=300)
    page_max: int = Field(default=200, ge=1, le=10000)
    # Kafka mode: a camera reported connected but silent this long is shown stalled
    # (its ingest publishes a status snapshot with every segment)
    status_stale_s: Seconds = 60.0
    # camera sources registered through the API: network schemes only unless this is set
    # (a local path or /dev/video* names something on the ingest host, not a camera)
    allow_local_sources: bool = False
    # request bodies past this are answered 413 before they are read (workers.api.limits)
    max_body_bytes: int = Field(default=1 << 20, ge=1024, le=1 << 30)

    @field_validator("read_tokens", "write_tokens", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        """``a,b`` from the environment becomes ``("a", "b")``; blanks are dropped."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


class HooksSettings(BaseSettings):
    """Alert hooks (connectors.hooks, workers.alerts.engine)."""

    model_config = _section("FEEDWATCH_HOOKS_")

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

    model_config = _section("FEEDWATCH_HISTORY_")

    index: bool = True  # write every encoded frame to the frame index
    thumb_side: int = Field(default=160, ge=16, le=1024)  # JPEG thumbnail's longer side, px
    grid_max: int = Field(default=8, ge=0, le=64)  # pooled patch grid cells a side; 0 = none


class RetentionSettings(BaseSettings):
    """How long rows are kept, on each camera's stream clock (unset = forever).

    Durations like ``90s``, ``30m``, ``12h``, ``7d``: ``FEEDWATCH_RETENTION_FRAMES``,
    ``FEEDWATCH_RETENTION_ANSWERS``, ``FEEDWATCH_RETENTION_EVIDENCE``; the answer rollups
    (runs, minutes) have their own, longer horizon, ``FEEDWATCH_RETENTION_ROLLUPS``.
    """

    model_config = _section("FEEDWATCH_RETENTION_")

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

    model_config = _section("FEEDWATCH_CLIPS_")

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


class Settings(BaseSettings):
    """The root: one frozen object handed down as sub-configs."""

    model_config = _section("FEEDWATCH_")

    log_level: str = "INFO"
    heartbeat_file: str = ""
    metrics_port: int = Field(default=0, ge=0, le=65535)  # Prometheus endpoint; 0 = off
    link_key: SecretStr = SecretStr("")  # signs clip/snapshot links; unset: kept in the store
    link_key_file: str = ""  # or read from this file
    perception: PerceptionSettings = Field(default_factory=PerceptionSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    hooks: HooksSettings = Field(default_factory=HooksSettings)
    video: VideoSettings = Field(default_factory=VideoSettings)
    history: HistorySettings = Field(default_factory=HistorySettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    clips: ClipsSettings = Field(default_factory=ClipsSettings)


SECTIONS: dict[str, type[BaseSettings]] = {
    "perception": PerceptionSettings,
    "store": StoreSettings,
    "kafka": KafkaSettings,
    "api": ApiSettings,
    "hooks": HooksSettings,
    "video": VideoSettings,
    "history": HistorySettings,
    "retention": RetentionSettings,
    "clips": ClipsSettings,
}


def load_settings(**overrides: dict[str, Any]) -> Settings:
    """Settings from the environment, with per-section overrides from CLI flags.

    ``load_settings(store={"url": "sqlite:///x.db"})`` keeps every other store
    setting from the environment. ``None`` values in an override are ignored, so a
    flag left unset falls back to its environment variable.
    """
    sections: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        given = {k: v for k, v in (overrides.get(name) or {}).items() if v is not None}
        sections[name] = cls(**given)
    return Settings(**sections)


def setting_env(section: str, field: str) -> str:
    """The environment variable of one setting (``"perception", "clip"``:
    ``FEEDWATCH_PERCEPTION_CLIP``; ``""`` is the root); KeyError for no such setting."""
    cls = SECTIONS[section] if section else Settings
    if field not in cls.model_fields or (not section and field in SECTIONS):
        raise KeyError(f"no setting {section or 'root'}.{field}")
    return f"{cls.model_config.get('env_prefix', '')}{field}".upper()


def known_env_vars() -> set[str]:
    """Every environment variable the configuration reads (used by deployment checks)."""
    names = {f"FEEDWATCH_{f.upper()}" for f in Settings.model_fields if f not in SECTIONS}
    for cls in SECTIONS.values():
        prefix = str(cls.model_config.get("env_prefix", ""))
        names |= {f"{prefix}{f}".upper() for f in cls.model_fields}
    return names


def settings_from_flags(
    *, root: dict[str, Any] | None = None, **sections: dict[str, Any] | None
) -> Settings:
    """The settings: environment, with the flags on top (``None`` = flag not given).

    ``sections`` are per-section overrides (``store={"url": db}``), ``root`` the
    top-level ones (``log_level``, ``metrics_port``). A value that does not validate,
    from a flag or from the environment, is a :class:`ConfigError` naming the setting
    (``kafka.partitions``): one line on stderr and exit 2 (``workers.cli.main``)."""
    given = {k: v for k, v in (root or {}).items() if v is not None}
    try:
        settings = load_settings(**{k: v or {} for k, v in sections.items()})
        return Settings(**{**dict(settings), **given}) if given else settings
    except ValidationError as exc:
        raise settings_error(exc) from None


def settings_error(exc: ValidationError) -> ConfigError:
    """The first error of a settings validation as a one-line :class:`ConfigError`."""
    err = exc.errors()[0]
    loc = tuple(str(part) for part in err["loc"])
    section = {cls.__name__: name for name, cls in SECTIONS.items()}.get(exc.title)
    if section is None and loc and loc[0] in SECTIONS:
        section, loc = loc[0], loc[1:]
    cls = SECTIONS[section] if section else Settings
    env = f"{cls.model_config.get('env_prefix', '')}{loc[0] if loc else ''}".upper()
    field = ".".join(((section,) if section else ()) + loc) or exc.title
    message = " ".join(str(err["msg"]).split())
    return ConfigError(field, err.get("input"), f"{message} [flag or env {env}]")
