"""``feedwatch run``: answer standing questions on videos in one process (embedded mode).

A thin entry point: the flags become a validated request
(:mod:`workers.cli.run_request`) before any model loads, then the run executes.
"""

from __future__ import annotations

from dataclasses import replace

import click

from connectors.video.uri import ALLOWED
from pipeline.errors import ConfigError
from workers.cli.options import (
    DURATION_HELP,
    answerer_type,
    db_option,
    env_option,
    setting_option,
)
from workers.cli.run_request import (
    answerer_settings,
    execute,
    hook_options,
    run_settings,
    validate,
)
from workers.view import setup_logging

HELP = f"""Answer standing questions on videos: one process, in-process bus, SQL store.

Each SOURCE ({ALLOWED}; env FEEDWATCH_SOURCES) is a camera. Answers are stored in --db
(re-running adds no duplicates) and shown live, or printed as JSON lines with --json.
"""


class QuestionType(click.ParamType):
    """A question; in the environment several are separated by ``;``."""

    name = "QUESTION"
    envvar_list_splitter = ";"


@click.command("run", help=HELP)
@click.argument("sources", nargs=-1, envvar="FEEDWATCH_SOURCES", metavar="SOURCE [SOURCE ...]")
@env_option(
    "--ask",
    "questions",
    multiple=True,
    type=QuestionType(),
    env="FEEDWATCH_ASK",
    help="A standing question (repeatable; env: ';'-separated).",
)
@env_option(
    "--camera",
    "cameras",
    multiple=True,
    env="FEEDWATCH_CAMERAS",
    help="Camera name per SOURCE, in order (default: the file or URL name).",
)
@env_option(
    "--every",
    default="1s",
    show_default=True,
    env="FEEDWATCH_EVERY",
    help=f"Evaluation interval, {DURATION_HELP}.",
)
@env_option(
    "--window",
    default="4s",
    show_default=True,
    env="FEEDWATCH_WINDOW",
    help="History each evaluation looks at (>= --every).",
)
@env_option(
    "--answerer",
    default="clip",
    show_default=True,
    env="FEEDWATCH_ANSWERER",
    help="clip (yes/no from CLIP scores), vlm (LLaVA text), cascade (CLIP gate, VLM "
    "verifies) or one an installed package adds (entry point group feedwatch.answerers).",
)
@setting_option(
    "perception",
    "--clip",
    "clip",
    default=None,
    help="CLIP spec: auto (default: the first real CLIP found locally, else shapes-demo), "
    "shapes-demo, ARCH:TAG, ARCH@CKPT, local-dir:PATH, hf-hub:ORG/REPO.",
)
@setting_option(
    "perception",
    "--vlm",
    default=None,
    help="LLaVA model directory, hub id or tiny-llava (for an answerer that uses a VLM: "
    "vlm, cascade).",
)
@db_option
@env_option(
    "--json",
    "as_json",
    is_flag=True,
    env="FEEDWATCH_JSON",
    help="One JSON object per answer per line on stdout; nothing else there.",
)
@setting_option(
    "perception",
    "--sample-fps",
    type=float,
    default=None,
    help="Frames sampled per second [1].",
)
@setting_option(
    "perception",
    "--device",
    default=None,
    help="auto, cpu or cuda[:N].",
)
@env_option(
    "--set",
    "answerer_set",
    multiple=True,
    env="FEEDWATCH_ANSWERER_SETTINGS",
    metavar="KEY=VALUE",
    help="An answerer setting, e.g. threshold=0.3, mode=margin (repeatable).",
)
@env_option(
    "--realtime",
    is_flag=True,
    env="FEEDWATCH_REALTIME",
    help="Pace files like a live camera.",
)
@hook_options
@env_option(
    "--serve",
    type=click.IntRange(0, 65535),
    default=None,
    env="FEEDWATCH_SERVE",
    help="Also serve the API and dashboard on this port (address: FEEDWATCH_API_HOST).",
)
def command(
    sources: tuple[str, ...],
    questions: tuple[str, ...],
    cameras: tuple[str, ...],
    every: str,
    window: str,
    answerer: str,
    clip: str | None,
    vlm: str | None,
    db: str | None,
    as_json: bool,
    sample_fps: float | None,
    device: str | None,
    realtime: bool,
    hooks: tuple[str, ...] = (),
    hook_secret: str | None = None,
    open_after: int = 2,
    close_after: int = 2,
    hook_allow_private: bool = False,
    verify: bool = False,
    serve: int | None = None,
    answerer_set: tuple[str, ...] = (),
) -> None:
    args = validate(sources, questions, cameras, every, window, answerer, as_json, realtime)
    args = replace(args, serve=serve, answerer_settings=answerer_settings(answerer_set, answerer))
    settings = run_settings(clip, vlm, db, sample_fps, device)
    if answerer_type(args.answerer).uses_vlm and not settings.perception.vlm:
        raise ConfigError(
            "--vlm", "", f"a LLaVA model directory, hub id or tiny-llava for --answerer {answerer}"
        )
    if verify and not answerer_type(args.answerer).uses_vlm:  # nothing would ever confirm
        raise ConfigError("--verify", True, f"--answerer vlm or cascade (a VLM confirms the "
                          f"windows that open incidents; {args.answerer} has none)")
    setup_logging(settings.log_level)
    from workers.alerts.run import RunHooks, with_allow_private

    settings = with_allow_private(settings, hook_allow_private)
    execute(args, settings, RunHooks(hooks, hook_secret, open_after, close_after, verify))
