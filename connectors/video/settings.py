"""``VideoSettings``: the ``FEEDWATCH_VIDEO_`` section of the configuration root.

It lives here (not in ``workers``) because connectors must not import workers;
``workers.config`` registers it in its ``SECTIONS``.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.errors import ConfigError


class VideoSettings(BaseSettings):
    """Camera sources, segmenting and reconnecting (connectors.video)."""

    model_config = SettingsConfigDict(env_prefix="FEEDWATCH_VIDEO_", extra="forbid", frozen=True,
                                      allow_inf_nan=False)

    segment_seconds: float = Field(2.0, description="Segment length in seconds of stream.")
    cut_mid_gop: bool = Field(
        True, description="Cut at segment_seconds even inside a GOP (False: at keyframes, "
        "so a segment lasts as long as its GOP)."
    )
    max_segment_bytes: int = Field(4_000_000, description="Largest segment (0: no limit).")
    transcode: bool = Field(
        False, description="Re-encode to H.264 with a keyframe per segment, even when the "
        "camera's codec could be copied."
    )
    rtsp_transport: str = Field("tcp", description="RTSP over 'tcp' or 'udp'.")
    open_timeout_s: float = Field(10.0, description="Seconds to open a live source.")
    stall_timeout_s: float = Field(10.0, description="Seconds without data before reconnecting.")
    reconnect_initial_s: float = 0.5  # the first reconnect delay, doubled up to the cap
    reconnect_max_s: float = 30.0
    reconnect_jitter: float = 0.25  # each delay cut by a random share of up to this
    max_reconnects: int = -1  # -1: keep trying forever

    @model_validator(mode="after")
    def _workable(self) -> VideoSettings:
        """Refused where the settings are read (a flag, the environment), not first when a
        camera opens."""
        return check_settings(self)


def check_settings(s: VideoSettings) -> VideoSettings:
    """Reject values that cannot work, naming the field (``ConfigError``)."""
    positive = ("segment_seconds", "open_timeout_s", "stall_timeout_s", "reconnect_initial_s")
    for name in positive:
        if not getattr(s, name) > 0:
            raise ConfigError(f"video.{name}", getattr(s, name), "must be > 0")
    if s.max_segment_bytes < 0:
        raise ConfigError("video.max_segment_bytes", s.max_segment_bytes,
                          "must be >= 0 (0: no limit)")
    if s.reconnect_max_s < s.reconnect_initial_s:
        raise ConfigError("video.reconnect_max_s", s.reconnect_max_s,
                          "must be >= reconnect_initial_s")
    if not 0 <= s.reconnect_jitter <= 1:
        raise ConfigError("video.reconnect_jitter", s.reconnect_jitter, "must be within [0, 1]")
    if s.rtsp_transport not in ("tcp", "udp"):
        raise ConfigError("video.rtsp_transport", s.rtsp_transport, "allowed: 'tcp', 'udp'")
    if s.max_reconnects < -1:
        raise ConfigError("video.max_reconnects", s.max_reconnects,
                          "must be >= 0, or -1 for no limit")
    return s
