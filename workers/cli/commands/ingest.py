"""``feedwatch ingest URI --camera ID --to-dir DIR|--kafka HOST:PORT``: camera → segments.

A thin entry point: parses and validates the flags, then runs
:func:`workers.ingest.process.run_ingest`.
"""

from __future__ import annotations

from typing import Any

import click
from click.core import ParameterSource

from connectors.video.uri import ALLOWED
from pipeline.errors import ConfigError
from workers.cli.options import env_option, setting_option
from workers.config import settings_from_flags
from workers.ingest.process import build_sink, build_status, run_ingest
from workers.ops import metrics


@click.command(help=f"Ingest URI ({ALLOWED}) as keyframe-aligned MPEG-TS segments into a "
               "sink.")
@click.argument("uri", envvar="FEEDWATCH_INGEST_URI")
@env_option(
    "--camera",
    env="FEEDWATCH_INGEST_CAMERA",
    required=True,
    help="Camera id (A-Z a-z 0-9 . _ -).",
)
@env_option(
    "--to-dir",
    "to_dir",
    env="FEEDWATCH_INGEST_TO_DIR",
    default=None,
    help="Sink: write numbered .ts files and index.jsonl into this directory.",
)
@setting_option(
    "kafka",
    "--kafka",
    "kafka",
    field="bootstrap",
    default=None,
    help="Sink: publish segments to the segments topic of this Kafka (host:port); "
    "--to-dir on the command line wins over the variable.",
)
@setting_option(
    "video",
    "--segment-seconds",
    default=None,
    help="Target segment length [default: 2].",
)
@setting_option(
    "video",
    "--max-segment-bytes",
    default=None,
    help="Split at keyframes above this size, 0 no limit.",
)
@setting_option(
    "video",
    "--transcode/--no-transcode",
    default=None,
    help="Re-encode, one keyframe per segment.",
)
@setting_option(
    "video",
    "--stall-timeout",
    field="stall_timeout_s",
    default=None,
    help="Seconds without packets = stalled.",
)
@setting_option(
    "video",
    "--max-reconnects",
    default=None,
    help="Consecutive failed reconnects before giving up, -1 never.",
)
@env_option(
    "--realtime",
    env="FEEDWATCH_INGEST_REALTIME",
    is_flag=True,
    default=False,
    help="Pace a file like a live feed.",
)
@env_option(
    "--max-segments",
    env="FEEDWATCH_INGEST_MAX_SEGMENTS",
    type=int,
    default=None,
    help="Stop after this many segments.",
)
@setting_option(
    "",
    "--metrics-port",
    default=None,
    help="Serve Prometheus metrics on this port, 0 off.",
)
@click.option("--quiet", is_flag=True, default=False, help="No per-segment lines.")
def command(
    uri: str,
    camera: str,
    segment_seconds: str | None,
    max_segment_bytes: str | None,
    transcode: bool | None,
    stall_timeout: str | None,
    max_reconnects: str | None,
    realtime: bool,
    max_segments: int | None,
    metrics_port: str | None,
    quiet: bool,
    **sink_flags: Any,
) -> None:
    settings = settings_from_flags(
        video={
            "segment_seconds": segment_seconds,
            "max_segment_bytes": max_segment_bytes,
            "transcode": transcode,
            "stall_timeout_s": stall_timeout,
            "max_reconnects": max_reconnects,
        },
        root={"metrics_port": metrics_port},
    )
    if max_segments is not None and max_segments < 1:
        raise ConfigError("--max-segments", max_segments, "must be >= 1")
    metrics.serve(settings.metrics_port)
    sink_flags = _given_sinks(click.get_current_context(), sink_flags)
    sink = build_sink(sink_flags, settings)
    done = run_ingest(
        uri,
        camera,
        settings,
        sink,
        realtime=realtime,
        max_segments=max_segments,
        say=(lambda _msg: None) if quiet else (lambda msg: click.echo(msg, err=True)),
        status=build_status(sink_flags, settings, camera),
    )
    click.echo(done)


def _given_sinks(ctx: click.Context, flags: dict[str, Any]) -> dict[str, Any]:
    """The sink flags, where one given on the command line drops one that came from the
    environment (``FEEDWATCH_KAFKA_BOOTSTRAP`` is set for every command of a deployment)."""
    typed = {k for k, v in flags.items()
             if v is not None and ctx.get_parameter_source(k) == ParameterSource.COMMANDLINE}
    if not typed:
        return flags
    return {k: (v if k in typed else None) for k, v in flags.items()}
