"""``feedwatch queries add|list|show|remove|state|reset``: standing queries, their status
and their trackers.

A query lives in two places: the SQL store (what the API and dashboards list) and
the compacted queries topic (what running workers follow). ``add`` writes both,
``remove`` deletes from the store and writes a tombstone; workers apply either
within a moment, without a restart.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import click

from connectors.store import open_store, require_existing
from pipeline.errors import ConfigError
from pipeline.types import StandingQuery
from workers.cli.options import (
    DURATION_HELP,
    answerer_type,
    db_option,
    kafka_option,
    parse_duration,
)
from workers.config import Settings, settings_from_flags


@click.group()
def command() -> None:
    """Add, list and remove standing queries (database + queries topic)."""


def _settings(bootstrap: str | None, db_url: str | None, *, kafka: bool = True) -> Settings:
    settings = settings_from_flags(kafka={"bootstrap": bootstrap}, store={"url": db_url})
    if kafka and not settings.kafka.bootstrap:
        raise ConfigError(
            "--kafka", "", "a bootstrap address host:port (or FEEDWATCH_KAFKA_BOOTSTRAP)"
        )
    return settings


def publish(settings: Settings, query_id: str, query: StandingQuery | None) -> None:
    """Write a query (or its tombstone) to the compacted topic and wait for the ack."""
    from connectors.bus import messages as msg
    from connectors.kafka import KafkaBusProducer, ensure_topics, topics_of

    ensure_topics(settings.kafka)
    producer = KafkaBusProducer.from_config(settings.kafka, "feedwatch-queries")
    m = msg.encode_query_tombstone(query_id) if query is None else msg.encode_query(query)
    try:
        producer.send(topics_of(settings.kafka).queries, *m)
        producer.flush()
    finally:
        producer.close()


@command.command("add")
@click.argument("question")
@click.option("--camera", "cameras", multiple=True, help="Camera id (repeat); default all.")
@click.option("--every", default="1s", show_default=True, help=f"Interval, {DURATION_HELP}.")
@click.option("--window", default="4s", show_default=True, help=f"Window, {DURATION_HELP}.")
@click.option("--answerer", default="clip", show_default=True, help="Answerer type.")
@click.option("--id", "query_id", default=None, help="Query id (default: derived).")
@click.option(
    "--backfill",
    default=None,
    help="First answer over this much stored history (e.g. 30m), from the frame index, "
    "a page of frames at a time, as a job `feedwatch backfills` lists; without --kafka "
    "the query is then only stored.",
)
@kafka_option
@db_option
def add(
    question: str,
    cameras: tuple[str, ...],
    every: str,
    window: str,
    answerer: str,
    query_id: str | None,
    backfill: str | None,
    bootstrap: str | None,
    db: str | None,
) -> None:
    """Subscribe QUESTION to cameras; prints the query id."""
    from connectors.bus.models import check_cameras
    from pipeline.history.duration import parse_duration as parse_history
    from pipeline.scheduler import validate_query

    history = None if backfill is None else parse_history(backfill, "--backfill")
    settings = _settings(bootstrap, db, kafka=history is None)
    cams = tuple(cameras) or ("*",)
    check_cameras(cams)  # the camera-id rule the API and the bus apply
    e, w = parse_duration(every, "--every"), parse_duration(window, "--window")
    answerer_type(answerer)
    if query_id is None:
        from pipeline.perceiver import query_id as derive_id  # the embedded run's rule

        query_id = derive_id(question, cams, e, w, answerer)
    qid = query_id
    query = validate_query(StandingQuery(qid, " ".join(question.split()), cams, e, w, answerer))
    store = open_store(settings.store.url)
    try:
        query = versioned(store, query, backfill=history is not None)
        store.upsert_query(query)
        if history is not None:
            _backfill(store, settings, query, history)
    finally:
        store.close()
    if settings.kafka.bootstrap:
        publish(settings, qid, query)
    click.echo(qid)


def versioned(store: Any, query: StandingQuery, *, backfill: bool = False) -> StandingQuery:
    """``query`` at the version the store should hold, as ``PATCH /api/queries/{id}``
    counts them: an id already stored (or deleted) whose question, cameras, timing or
    answerer change goes one version up, so workers and failure reports treat it as
    new; the same query added again keeps its version. Settings the API gave it are
    kept while the answerer stays (this command cannot set them).

    A changed query is not backfilled under its old id: the stored answers of the old
    version hold those windows and would be kept in place of the new question's."""
    before: StandingQuery | None = next(
        (q for q in store.queries(include_deleted=True) if q.id == query.id), None)
    if before is None:
        return query
    if before.answerer == query.answerer:
        query = replace(query, settings=before.settings)
    if replace(query, version=before.version) == before:
        return before
    if backfill:
        raise click.UsageError(
            f"--backfill needs a new query: {query.id!r} is stored with another question or "
            f"settings (version {before.version}), whose answers hold that history; leave out "
            "--id (or give a new one) to backfill the changed question")
    return replace(query, version=before.version + 1)


def _backfill(store: Any, settings: Settings, query: StandingQuery, seconds: float) -> None:
    """Run the backfill here as a job in the store (``feedwatch backfills`` sees it, and
    ``backfills cancel`` stops it), a page of frames at a time."""
    from rich.console import Console
    from rich.progress import Progress

    from connectors.store.backfills.jobs import BackfillJobs
    from workers.history.backfill import Backfiller
    from workers.history.jobs import BackfillRunner

    def load() -> Backfiller:
        return Backfiller.load(store, settings.perception,
                               page_frames=settings.api.backfill_page_frames)

    runner = BackfillRunner(BackfillJobs(store.engine), store, load)
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(f"backfill {query.id}", total=None)
        runner.watch = lambda r: progress.update(task, completed=r.done, total=r.total or None)
        job = runner.run_here(query, seconds)
    if job is None:
        raise click.ClickException(f"the backfill of {query.id} vanished from the store")
    click.echo(f"backfill {job.id} of {query.id} {job.state}: {job.windows_done}/"
               f"{job.windows_total} windows, {job.answers} new answers stored", err=True)
    if job.state != "done":
        raise click.ClickException(f"backfill {job.id} {job.state}: {job.error}")


def _with_status(store: Any, queries: list[StandingQuery]) -> list[dict[str, Any]]:
    """Each query as the queries topic's message plus ``status`` and ``error`` (why it
    was set aside in its current version), as ``GET /api/queries`` shows them."""
    from connectors.bus.models import QueryFields
    from connectors.store.query_failures import QueryFailures

    failed = QueryFailures(store.engine).current(queries)
    return [{**QueryFields.of(q).model_dump(mode="json"),
             "status": "failed" if q.id in failed else "active",
             "error": failed[q.id].model_dump(mode="json") if q.id in failed else None}
            for q in queries]


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@db_option
def list_(as_json: bool, db: str | None) -> None:
    """The standing queries in the store and their status (--json: the queries topic's
    message with status and error, one a line)."""
    import json

    store = open_store(require_existing(_settings(None, db, kafka=False).store.url))
    try:
        for q in _with_status(store, store.queries()):
            click.echo(
                json.dumps(q, separators=(",", ":"))
                if as_json
                else f"{q['id']}  {q['status']}  every {q['every']:g}s window {q['window']:g}s  "
                f"{','.join(q['cameras'])}  {q['question']}"
                + (f"\n    {q['error']['stage']}: {q['error']['message']}" if q["error"] else "")
            )
    finally:
        store.close()


def _camera(camera: str | None) -> str | None:
    """``--camera`` under the camera-id rule every other camera option follows (an empty
    one would silently match no tracker)."""
    from connectors.video.uri import check_camera

    if camera is not None:
        try:
            check_camera(camera)
        except ConfigError as exc:
            raise ConfigError("--camera", camera, exc.allowed) from None
    return camera


def _stored(store: Any, query_id: str) -> StandingQuery:
    """The stored query QUERY_ID, or a usage error naming the argument."""
    query = next((q for q in store.queries() if q.id == query_id), None)
    if query is None:
        raise click.BadParameter(f"no query {query_id!r} in the store", param_hint="QUERY_ID")
    return query


@command.command("show")
@click.argument("query_id")
@db_option
def show(query_id: str, db: str | None) -> None:
    """QUERY_ID as one JSON object: its settings, status and, when failed, the error
    (stage, camera, message, at, version)."""
    import json

    store = open_store(require_existing(_settings(None, db, kafka=False).store.url))
    try:
        click.echo(json.dumps(_with_status(store, [_stored(store, query_id)])[0], indent=2))
    finally:
        store.close()


@command.command("remove")
@click.argument("query_id")
@kafka_option
@db_option
def remove(query_id: str, bootstrap: str | None, db: str | None) -> None:
    """Unsubscribe QUERY_ID: delete it from the store and tombstone it on the topic."""
    settings = _settings(bootstrap, db)
    store = open_store(settings.store.url)
    try:
        _stored(store, query_id)  # a mistyped id is an error, as in the API (404)
        # the tombstone first, as the API does: if Kafka cannot take it, the store still
        # lists the query the workers go on answering (no drift between the two)
        publish(settings, query_id, None)
        store.delete_query(query_id)
    finally:
        store.close()
    click.echo(f"removed {query_id}")


@command.command("state")
@click.argument("query_id")
@click.option("--camera", default=None, help="One camera (default: every camera).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per camera and line.")
@db_option
def state(query_id: str, camera: str | None, as_json: bool, db: str | None) -> None:
    """What QUERY_ID's trackers learned per camera, and why the newest answer is yes or no."""
    import json

    from connectors.store.tracker_states import saved_trackers
    from pipeline.answerers.clip_settings import clip_rule
    from pipeline.answerers.explain import describe

    _camera(camera)
    store = open_store(require_existing(_settings(None, db, kafka=False).store.url))
    try:
        query = _stored(store, query_id)
        rule = clip_rule(query.settings, query.answerer)
        for t in saved_trackers(store, query_id, camera):
            view = describe(t.state, rule)
            click.echo(json.dumps({"camera": t.camera, **view.to_json()}) if as_json
                       else f"{t.camera}  {view.status}  {view.why}")
    finally:
        store.close()


@command.command("reset")
@click.argument("query_id")
@click.option("--camera", default=None, help="One camera (default: every camera).")
@db_option
def reset(query_id: str, camera: str | None, db: str | None) -> None:
    """Forget QUERY_ID's learned levels (after a camera was moved): learned afresh."""
    from connectors.store.tracker_states import reset_trackers

    _camera(camera)
    store = open_store(require_existing(_settings(None, db, kafka=False).store.url))
    try:
        _stored(store, query_id)  # a mistyped id is an error, as in the API (404)
        n = reset_trackers(store, query_id, camera)
    finally:
        store.close()
    click.echo(f"reset {n} tracker(s) of {query_id}")
