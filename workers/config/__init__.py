"""The one typed configuration root, read once at the entrypoint.

Every setting has an environment fallback. Each section is its own settings class
with its own prefix, so the variable names read naturally
(``FEEDWATCH_API_READ_TOKENS``, ``FEEDWATCH_HOOKS_ALLOW_PRIVATE``,
``FEEDWATCH_KAFKA_BOOTSTRAP``). Unknown keys are rejected; secrets are ``SecretStr``.
Sections are owned by the part of the product they configure; the CLI overlays its
flags on top with :func:`load_settings`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings

from connectors.video.settings import VideoSettings
from pipeline.errors import ConfigError
from workers.config.sections import (
    DAY,
    HOUR,
    ApiSettings,
    ClipsSettings,
    Count,
    HistorySettings,
    HooksSettings,
    KafkaSettings,
    PerceptionSettings,
    RetentionSettings,
    Seconds,
    StoreSettings,
    section_config,
)

__all__ = [
    "DAY", "HOUR", "SECTIONS", "ApiSettings", "ClipsSettings", "Count", "HistorySettings",
    "HooksSettings", "KafkaSettings", "PerceptionSettings", "RetentionSettings", "Seconds",
    "Settings", "StoreSettings", "VideoSettings", "known_env_vars", "load_settings", "secret_box",
    "setting_env", "settings_error", "settings_from_flags",
]


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    """The root: one frozen object handed down as sub-configs."""

    model_config = section_config("FEEDWATCH_")

    log_level: str = "INFO"  # DEBUG, INFO, WARNING, ERROR or CRITICAL (any case)
    heartbeat_file: str = ""
    metrics_port: int = Field(default=0, ge=0, le=65535)  # Prometheus endpoint; 0 = off
    # the address it listens on: this host only unless told (compose: 0.0.0.0, its network)
    metrics_host: str = Field(default="127.0.0.1", min_length=1, max_length=255)
    link_key: SecretStr = SecretStr("")  # signs clip/snapshot links; unset: kept in the store
    link_key_file: str = ""  # or read from this file
    # seals hook secrets and the stored link key (Fernet keys, comma-separated: the
    # first seals, all open); unset: no hook secret can be stored (docs/operations.md)
    secrets_key: SecretStr = SecretStr("")
    secrets_key_file: str = ""  # or one key a line in this file
    perception: PerceptionSettings = Field(default_factory=PerceptionSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    hooks: HooksSettings = Field(default_factory=HooksSettings)
    video: VideoSettings = Field(default_factory=VideoSettings)
    history: HistorySettings = Field(default_factory=HistorySettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    clips: ClipsSettings = Field(default_factory=ClipsSettings)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"one of {', '.join(LOG_LEVELS)}")
        return level


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


def secret_box(settings: Settings) -> Any:
    """The :class:`~connectors.store.secret_box.SecretBox` of ``secrets_key`` /
    ``secrets_key_file`` (None when neither is set)."""
    from connectors.store.secret_box import SecretBox

    return SecretBox.from_config(settings.secrets_key.get_secret_value(), settings.secrets_key_file)


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
    value = err.get("input")
    message = " ".join(str(err["msg"]).split()).removeprefix("Value error, ")
    cause = (err.get("ctx") or {}).get("error")
    section = {cls.__name__: name for name, cls in SECTIONS.items()}.get(exc.title)
    if not loc and isinstance(cause, ConfigError):  # a check across fields names its field
        named = cause.field.removeprefix(f"{section}.") if section else cause.field
        loc, value, message = (named,), cause.value, cause.allowed
    elif isinstance(cause, ConfigError):  # a field's own check: its rule, said once
        message = cause.allowed
    if section is None and loc and loc[0] in SECTIONS:
        section, loc = loc[0], loc[1:]
    cls = SECTIONS[section] if section else Settings
    env = f"{cls.model_config.get('env_prefix', '')}{loc[0] if loc else ''}".upper()
    field = ".".join(((section,) if section else ()) + loc) or exc.title
    return ConfigError(field, value, f"{message} [flag or env {env}]")
