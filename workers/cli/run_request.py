"""What ``feedwatch run`` was asked, validated cheaply, and the embedded run it starts.

Everything cheap is checked first (questions, durations, answerer, URIs, camera
names) so bad input is one line and exit 2 before any model loads; :func:`execute`
then builds the store, encoder, answerers and the embedded run, and shows the live
table (stderr) or prints one JSON line per answer (stdout, nothing else).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from pipeline.errors import ConfigError, FeedwatchError, SourceError
from pipeline.query_rules import check_every, check_settings, check_window
from pipeline.questions import clean_question
from pipeline.types import StandingQuery
from workers.cli.options import answerer_type, env_option, parse_duration, setting_option
from workers.config import Settings, settings_from_flags

log = logging.getLogger("feedwatch.run")


@dataclass(frozen=True)
class RunArgs:
    """The validated command line."""

    sources: tuple[tuple[str, str], ...]  # (camera id, uri)
    questions: tuple[str, ...]
    every: float
    window: float
    answerer: str
    as_json: bool
    realtime: bool
    serve: int | None = None  # --serve PORT: the API and dashboard beside the run
    answerer_settings: tuple[tuple[str, Any], ...] = ()  # --set KEY=VALUE


def _questions(raw: Sequence[str]) -> tuple[str, ...]:
    """Each ``--ask`` by the one rule for question text (:mod:`pipeline.questions`)."""
    if not raw or any(not q.strip() for q in raw):
        raise ConfigError("--ask", next((q for q in raw if not q.strip()), ""),
                          "a non-empty question")
    questions = []
    for q in raw:
        try:
            questions.append(clean_question(q))
        except ConfigError as exc:
            raise ConfigError("--ask", exc.value, exc.allowed) from None
    return tuple(dict.fromkeys(questions))


def _answerer(value: str) -> str:
    return answerer_type(value).type


def _check_uri(uri: str) -> str:
    from connectors.video import VideoSettings, parse_uri

    try:
        parse_uri(uri, VideoSettings())
    except ConfigError as exc:
        raise ConfigError("SOURCE", exc.value, str(exc.allowed)) from None
    return uri


def _camera_name(uri: str) -> str:
    """The camera id a SOURCE gets without --camera: its file stem (host and path of a
    URL) in the id's characters, other ASCII marks as ``-``; where that drops letters
    (other scripts) or length, a short digest of the original keeps two such names
    apart (``камера.mp4`` and ``видео.mp4`` were both ``camera``)."""
    parts = urlsplit(uri)
    base = Path(parts.path).stem if parts.scheme in ("", "file") else parts.netloc + parts.path
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-._")
    if base.isascii() and 0 < len(name) <= 64:
        return name
    digest = hashlib.blake2s(base.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return f"{name[:57]}-{digest}" if name else f"camera-{digest}"


def _cameras(sources: Sequence[str], names: Sequence[str]) -> tuple[tuple[str, str], ...]:
    from connectors.video.uri import check_camera

    if names and len(names) != len(sources):
        raise ConfigError("--camera", ",".join(names), f"one name per SOURCE ({len(sources)})")
    chosen = [check_camera(n) for n in names] or [_camera_name(s) for s in sources]
    seen: dict[str, int] = {}
    out = []
    for name, uri in zip(chosen, sources, strict=True):
        seen[name] = seen.get(name, 0) + 1
        if names and seen[name] > 1:
            raise ConfigError("--camera", name, "distinct names, one per SOURCE")
        out.append((name if seen[name] == 1 else f"{name}-{seen[name]}", uri))
    return tuple(out)


def validate(
    sources: Sequence[str],
    questions: Sequence[str],
    cameras: Sequence[str],
    every: str,
    window: str,
    answerer: str,
    as_json: bool,
    realtime: bool,
) -> RunArgs:
    """Every cheap check of the command line, in the order a user fixes them."""
    if not sources:
        raise ConfigError("SOURCE", "", "at least one video file or URL")
    qs = _questions(questions)
    every_s = check_every(parse_duration(every, "--every"), "--every")
    window_s = parse_duration(window, "--window")
    if window_s < every_s:
        raise ConfigError("--window", window, f"at least --every ({every})")
    check_window(window_s, every_s, "--window")
    kind = _answerer(answerer)
    uris = [_check_uri(s) for s in sources]
    return RunArgs(_cameras(uris, cameras), qs, every_s, window_s, kind, as_json, realtime)


def answerer_settings(pairs: Sequence[str], answerer: str) -> tuple[tuple[str, Any], ...]:
    """``--set KEY=VALUE`` pairs (VALUE as JSON when it parses), checked by the rules the
    API checks a query's settings by."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError("--set", pair, "KEY=VALUE, e.g. threshold=0.3 or mode=margin")
        try:
            out[key.strip()] = json.loads(raw)
        except ValueError:
            out[key.strip()] = raw
    return tuple(check_settings(answerer_type(answerer).type, out, "--set").items())


def standing_queries(args: RunArgs, settings: dict[str, Any] | None = None) -> list[StandingQuery]:
    """One standing query per question over all cameras, with stable ids."""
    from pipeline.perceiver import query_id

    cams = tuple(c for c, _ in args.sources)
    if settings is None:
        settings = dict(args.answerer_settings)
    return [
        StandingQuery(
            query_id(q, cams, args.every, args.window, args.answerer, settings),
            q,
            cams,
            args.every,
            args.window,
            args.answerer,
            dict(settings or {}),
        )
        for q in args.questions
    ]


def run_settings(
    clip: str | None, vlm: str | None, db: str | None, fps: float | None, device: str | None
) -> Settings:
    perception = {"clip": clip, "vlm": vlm, "sample_fps": fps, "device": device}
    settings = settings_from_flags(perception=perception, store={"url": db})
    if not settings.perception.sample_fps > 0:
        raise ConfigError("--sample-fps", settings.perception.sample_fps, "a positive number")
    return settings


def _say(message: str) -> None:
    click.echo(message, err=True)


def execute(args: RunArgs, settings: Settings, hooks: Any = None) -> None:
    """Build everything and run; a camera that could not be read is an error (exit 1).

    With ``hooks`` (:class:`workers.alerts.run.RunHooks`, from ``--hook``) alerting runs
    alongside and, at the end, waits for pending deliveries (bounded)."""
    from connectors.store import parse_url
    from workers.alerts.run import start_for_run
    from workers.incident_clips.embedded import start_for_run as start_clips
    from workers.perception.embedded_run import run_embedded

    parse_url(settings.store.url, "--db")
    out = click.get_text_stream("stdout")
    queries = standing_queries(args)
    alerts = start_for_run(settings, hooks, [q.id for q in queries]) if hooks else None
    clips = start_clips(settings) if alerts is not None and settings.clips.enabled else None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            stats, errors = run_embedded(
                settings, args.sources, queries, realtime=args.realtime, serve=args.serve,
                json_out=out if args.as_json else None,
                observe=clips.observe if clips is not None else None,
            )
    except BaseException:
        if alerts is not None:  # interrupted: do not wait, pending deliveries stay stored
            alerts.finish(0.0, _say)
        if clips is not None:
            clips.finish(_say)
        raise
    if clips is not None:
        clips.cut_now()  # the clips of incidents already evaluated go out with their closing
    if alerts is not None:
        alerts.finish(settings.hooks.wait_on_exit_s, _say)
    if clips is not None:
        clips.finish(_say)
    if errors:
        camera, first = next(iter(errors.items()))
        why = str(first).splitlines()[0] if str(first) else type(first).__name__
        named = "" if repr(camera) in why else f"camera {camera!r}: "
        raise SourceError(f"{len(errors)} of {len(args.sources)} sources failed; {named}{why}")
    if stats.failed_queries:
        qid, why = next(iter(stats.failed_queries.items()))
        raise FeedwatchError(f"{len(stats.failed_queries)} of {len(queries)} questions could "
                             f"not be answered (query {qid}: {why}); `feedwatch queries show "
                             "ID` has the stage and the error")
    if stats.answers == 0 and stats.dead_letters:
        raise FeedwatchError(f"nothing was answered, and {stats.dead_letters} dead letter(s) "
                             "were recorded (the warnings above say why)")


def _windows_option(flag: str, help_: str) -> Any:
    """A count of consecutive windows (at least 1, default 2) with its env fallback."""
    env = "FEEDWATCH_RUN_" + flag.lstrip("-").replace("-", "_").upper()
    return env_option(
        flag, type=click.IntRange(min=1), default=2, show_default=True, env=env, help=help_
    )


_HOOK_OPTIONS = [
    env_option(
        "--hook",
        "hooks",
        multiple=True,
        env="FEEDWATCH_RUN_HOOKS",
        help="Alert webhook URL for matched answers (repeatable; Slack URLs get Slack bodies).",
    ),
    env_option(
        "--hook-secret",
        default=None,
        env="FEEDWATCH_HOOK_SECRET",
        help="HMAC secret for X-Feedwatch-Signature (prefer the env variable).",
    ),
    _windows_option(
        "--open-after", "Consecutive matched windows that open an incident (one notification)."
    ),
    _windows_option("--close-after", "Consecutive unmatched windows that close it."),
    env_option(
        "--verify",
        is_flag=True,
        env="FEEDWATCH_RUN_VERIFY",
        help="Open incidents only on windows the VLM confirmed (answerer vlm or cascade); "
        "notifications carry its description.",
    ),
    setting_option(
        "hooks",
        "--hook-allow-private",
        field="allow_private",
        is_flag=True,
        help="Allow hooks on private, loopback and link-local addresses.",
    ),
]


def hook_options(fn: Any) -> Any:
    """The alerting options of ``feedwatch run`` (--hook, --hook-secret, --open-after, ...)."""
    for option in reversed(_HOOK_OPTIONS):
        fn = option(fn)
    return fn
