"""``feedwatch ingest URI --camera ID --to-dir DIR|--kafka HOST:PORT``: camera → segments.

A thin entry point: parses and validates the flags, then runs
:func:`workers.ingest.process.run_ingest`.
"""

from __future__ import annotations

from typing import Any

import click

from pipeline.errors import ConfigError
from workers.config import load_settings
from workers.ingest.process import build_sink, build_status, run_ingest
from workers.ops import metrics


def _env(name: str) -> str:
    return f"[env {name}]"


@click.command()
@click.argument("uri", envvar="FEEDWATCH_INGEST_URI")
@click.option(
    "--camera",
    required=True,
    envvar="FEEDWATCH_INGEST_CAMERA",
    help=f"Camera id (A-Z a-z 0-9 . _ -) {_env('FEEDWATCH_INGEST_CAMERA')}.",
)
@click.option(
    "--to-dir",
    "to_dir",
    default=None,
    envvar="FEEDWATCH_INGEST_TO_DIR",
    help="Sink: write numbered .ts files and index.jsonl into this directory "
    f"{_env('FEEDWATCH_INGEST_TO_DIR')}.",
)
@click.option(
    "--kafka",
    "kafka",
    default=None,
    envvar="FEEDWATCH_INGEST_KAFKA",
    help="Sink: publish segments to the segments topic of this Kafka (host:port) "
    f"{_env('FEEDWATCH_INGEST_KAFKA')}.",
)
@click.option(
    "--segment-seconds",
    type=float,
    default=None,
    help=f"Target segment length, default 2 {_env('FEEDWATCH_VIDEO_SEGMENT_SECONDS')}.",
)
@click.option(
    "--max-segment-bytes",
    type=int,
    default=None,
    help="Split at keyframes above this size, 0 no limit "
    f"{_env('FEEDWATCH_VIDEO_MAX_SEGMENT_BYTES')}.",
)
@click.option(
    "--transcode/--no-transcode",
    default=None,
    help=f"Re-encode, one keyframe per segment {_env('FEEDWATCH_VIDEO_TRANSCODE')}.",
)
@click.option(
    "--stall-timeout",
    type=float,
    default=None,
    help=f"Seconds without packets = stalled {_env('FEEDWATCH_VIDEO_STALL_TIMEOUT_S')}.",
)
@click.option(
    "--max-reconnects",
    type=int,
    default=None,
    help="Consecutive failed reconnects before giving up, -1 never "
    f"{_env('FEEDWATCH_VIDEO_MAX_RECONNECTS')}.",
)
@click.option(
    "--realtime",
    is_flag=True,
    default=False,
    envvar="FEEDWATCH_INGEST_REALTIME",
    help=f"Pace a file like a live feed {_env('FEEDWATCH_INGEST_REALTIME')}.",
)
@click.option(
    "--max-segments",
    type=int,
    default=None,
    envvar="FEEDWATCH_INGEST_MAX_SEGMENTS",
    help=f"Stop after this many segments {_env('FEEDWATCH_INGEST_MAX_SEGMENTS')}.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help=f"Serve Prometheus metrics on this port, 0 off {_env('FEEDWATCH_METRICS_PORT')}.",
)
@click.option("--quiet", is_flag=True, default=False, help="No per-segment lines.")
def command(
    uri: str,
    camera: str,
    segment_seconds: float | None,
    max_segment_bytes: int | None,
    transcode: bool | None,
    stall_timeout: float | None,
    max_reconnects: int | None,
    realtime: bool,
    max_segments: int | None,
    metrics_port: int | None,
    quiet: bool,
    **sink_flags: Any,
) -> None:
    """Ingest URI (file, rtsp://, http(s):// incl. HLS, udp://, srt://, /dev/video*) as
    keyframe-aligned MPEG-TS segments into a sink."""
    if max_segments is not None and max_segments < 1:
        raise ConfigError("--max-segments", max_segments, "must be >= 1")
    settings = load_settings(
        video={
            "segment_seconds": segment_seconds,
            "max_segment_bytes": max_segment_bytes,
            "transcode": transcode,
            "stall_timeout_s": stall_timeout,
            "max_reconnects": max_reconnects,
        }
    )
    if metrics_port is not None:
        settings = settings.model_copy(update={"metrics_port": metrics_port})
    metrics.serve(settings.metrics_port)
    sink = build_sink(sink_flags, settings)
    run_ingest(
        uri,
        camera,
        settings,
        sink,
        realtime=realtime,
        max_segments=max_segments,
        quiet=quiet,
        status=build_status(sink_flags, settings, camera),
    )


