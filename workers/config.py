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

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from connectors.video.settings import VideoSettings


def _section(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, extra="forbid", frozen=True)


class PerceptionSettings(BaseSettings):
    """How frames are encoded and questions answered (pipeline)."""

    model_config = _section("FEEDWATCH_PERCEPTION_")

    clip: str = "shapes-demo"
    vlm: str = ""
    device: str = "auto"
    sample_fps: float = 1.0
    k_prompt: int = 3
    k_uniform: int = 3
    alpha: float = 0.6
    roi_estimator: str = "peak"


class StoreSettings(BaseSettings):
    """The SQL store (connectors.store)."""

    model_config = _section("FEEDWATCH_STORE_")

    url: str = "sqlite:///feedwatch.db"


class KafkaSettings(BaseSettings):
    """The Kafka bus (connectors.kafka)."""

    model_config = _section("FEEDWATCH_KAFKA_")

    bootstrap: str = ""
    topic_prefix: str = "feedwatch."


class ApiSettings(BaseSettings):
    """The HTTP API and dashboard (workers.api)."""

    model_config = _section("FEEDWATCH_API_")

    host: str = "127.0.0.1"
    port: int = 8080
    read_tokens: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    write_tokens: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    sse_poll_s: float = Field(default=1.0, gt=0, le=60)
    page_max: int = Field(default=200, ge=1, le=10000)

    @field_validator("read_tokens", "write_tokens", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        """``a,b`` from the environment becomes ``("a", "b")``; blanks are dropped."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


class HooksSettings(BaseSettings):
    """Alert hooks (connectors.hooks, workers.alerts)."""

    model_config = _section("FEEDWATCH_HOOKS_")

    allow_private: bool = False


class Settings(BaseSettings):
    """The root: one frozen object handed down as sub-configs."""

    model_config = _section("FEEDWATCH_")

    log_level: str = "INFO"
    heartbeat_file: str = ""
    perception: PerceptionSettings = Field(default_factory=PerceptionSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    hooks: HooksSettings = Field(default_factory=HooksSettings)
    video: VideoSettings = Field(default_factory=VideoSettings)


SECTIONS: dict[str, type[BaseSettings]] = {
    "perception": PerceptionSettings,
    "store": StoreSettings,
    "kafka": KafkaSettings,
    "api": ApiSettings,
    "hooks": HooksSettings,
    "video": VideoSettings,
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


def known_env_vars() -> set[str]:
    """Every environment variable the configuration reads (used by deployment checks)."""
    names = {f"FEEDWATCH_{f.upper()}" for f in Settings.model_fields if f not in SECTIONS}
    for cls in SECTIONS.values():
        prefix = str(cls.model_config.get("env_prefix", ""))
        names |= {f"{prefix}{f}".upper() for f in cls.model_fields}
    return names
