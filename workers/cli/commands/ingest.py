"""``feedwatch ingest URI --camera ID --to-dir DIR|--kafka HOST:PORT``: camera → segments;
``feedwatch ingest --cameras-file FILE --kafka HOST:PORT`` (or ``FEEDWATCH_INGEST_CAMERAS``):
several cameras in one process.

A thin entry point: parses and validates the flags, then runs
:func:`workers.ingest.process.run_ingest` (one camera) or
:class:`workers.ingest.fleet.IngestFleet` (several).
"""

from __future__ import annotations

from typing import Any

import click
from click.core import ParameterSource

from connectors.video.uri import ALLOWED
from pipeline.errors import ConfigError
from workers.cli.options import env_option, setting_option
from workers.config import settings_from_flags
from workers.ingest.cameras import CAMERAS_ENV, MAX_CAMERAS, load_cameras
from workers.ingest.process import build_sink, build_status, build_statuses, run_ingest
from workers.ops import metrics


@click.command(help=f"Ingest URI ({ALLOWED}) as keyframe-aligned MPEG-TS segments into a "
               "sink; or, without URI, every camera of --cameras-file (else of "
               f"{CAMERAS_ENV}: ID=URI entries) in one process, one reader per camera.")
@click.argument("uri", envvar="FEEDWATCH_INGEST_URI", required=False)
@env_option(
    "--camera",
    env="FEEDWATCH_INGEST_CAMERA",
    default=None,
    help="Camera id (A-Z a-z 0-9 . _ -) of URI.",
)
@env_option(
    "--cameras-file",
    env="FEEDWATCH_INGEST_CAMERAS_FILE",
    default=None,
    help="Several cameras, one ID=URI per line (# comments), read by this one process; "
    "URLs with credentials belong here or in the variable, never on the command line.",
)
@env_option(
    "--max-cameras",
    env="FEEDWATCH_INGEST_MAX_CAMERAS",
    type=click.IntRange(1),
    default=MAX_CAMERAS,
    show_default=True,
    help="Most cameras one process reads (all of them stop when it crashes).",
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
    help="Stop after this many segments (per camera).",
)
@setting_option(
    "",
    "--metrics-port",
    default=None,
    help="Serve Prometheus metrics at :PORT/metrics, 0 off (on 127.0.0.1 unless "
    "FEEDWATCH_METRICS_HOST names another address).",
)
@click.option("--quiet", is_flag=True, default=False, help="No per-segment lines.")
def command(
    uri: str | None,
    camera: str | None,
    cameras_file: str | None,
    max_cameras: int,
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
    cameras = [] if uri else load_cameras(cameras_file, max_cameras=max_cameras)
    if not uri and not cameras:
        raise ConfigError("URI", None, f"a URI with --camera, --cameras-file or {CAMERAS_ENV}")
    if uri and not camera:
        raise ConfigError("--camera", camera, "a camera id for URI")
    metrics.serve(settings.metrics_port, settings.metrics_host)
    sink_flags = _given_sinks(click.get_current_context(), sink_flags)
    sink = build_sink(sink_flags, settings)
    say = (lambda _msg: None) if quiet else (lambda msg: click.echo(msg, err=True))
    if cameras:
        _fleet(cameras, settings, sink, sink_flags, realtime, max_segments, say)
        return
    assert uri is not None and camera is not None
    done = run_ingest(
        uri,
        camera,
        settings,
        sink,
        realtime=realtime,
        max_segments=max_segments,
        say=say,
        status=build_status(sink_flags, settings, camera),
    )
    click.echo(done)


def _fleet(cameras: Any, settings: Any, sink: Any, sink_flags: dict[str, Any], realtime: bool,
           max_segments: int | None, say: Any) -> None:
    """Every camera in this process; exit 1 when a camera ended with an error."""
    import signal

    from workers.ingest.fleet import IngestFleet

    status_for, close_status = build_statuses(sink_flags, settings)
    fleet = IngestFleet(cameras, settings, sink, realtime=realtime, max_segments=max_segments,
                        say=say, status_for=status_for)
    signal.signal(signal.SIGTERM, lambda *_: fleet.stop())  # docker stop: end cleanly
    try:
        runs = fleet.run()
    finally:
        close_status()
    for run in runs:
        click.echo(run.summary())
    if any(r.failed for r in runs):
        raise SystemExit(1)


def _given_sinks(ctx: click.Context, flags: dict[str, Any]) -> dict[str, Any]:
    """The sink flags, where one given on the command line drops one that came from the
    environment (``FEEDWATCH_KAFKA_BOOTSTRAP`` is set for every command of a deployment)."""
    typed = {k for k, v in flags.items()
             if v is not None and ctx.get_parameter_source(k) == ParameterSource.COMMANDLINE}
    if not typed:
        return flags
    return {k: (v if k in typed else None) for k, v in flags.items()}
