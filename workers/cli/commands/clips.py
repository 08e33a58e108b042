"""``feedwatch clips --kafka BOOTSTRAP --db URL``: the clip worker of the scale-out.

Indexes the segments topic by camera and stream time and cuts every incident's clips
(when it opens, and when it closes) from the records, into FEEDWATCH_CLIPS_DIR (a
volume every API process mounts). It needs no perception worker alive. Stop with
Ctrl-C / SIGTERM; the index's consumer offsets are committed as it goes.
"""

from __future__ import annotations

import signal
import threading

import click

from pipeline.errors import ConfigError
from workers.cli.options import db_option, kafka_option, setting_option
from workers.config import settings_from_flags


@click.command("clips")
@kafka_option
@db_option
@setting_option("clips", "--dir", "clips_dir", field="dir", default=None,
                help="Where clips are written (shared with the API) [feedwatch-clips].")
@setting_option("", "--log-level", default=None, help="Log level [default: INFO].")
def command(bootstrap: str | None, db: str | None, clips_dir: str | None,
            log_level: str | None) -> None:
    """Cut incident clips from the Kafka segments topic."""
    settings = settings_from_flags(kafka={"bootstrap": bootstrap}, store={"url": db},
                                   clips={"dir": clips_dir}, root={"log_level": log_level})
    if not settings.kafka.bootstrap:  # before the store is opened or migrated
        raise ConfigError("--kafka", "", "a bootstrap address host:port (or "
                          "FEEDWATCH_KAFKA_BOOTSTRAP)")
    if not str(settings.clips.dir).strip():
        raise ConfigError("--dir", settings.clips.dir, "a directory for the clips")
    from workers.incident_clips.kafka import ClipsProcess
    from workers.ops import logs

    logs.setup(settings.log_level)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    process = ClipsProcess.from_settings(settings)
    click.echo(f"clips: indexing {settings.kafka.topic_prefix}{settings.kafka.segments_topic}, "
               f"writing to {settings.clips.dir}", err=True)
    process.run(stop)
