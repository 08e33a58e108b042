"""``feedwatch answers``: list stored answers (a table or JSON lines); ``answers feedback``
says whether one was right."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import click
from click.core import ParameterSource
from rich.console import Console
from rich.table import Table

from connectors.bus.models import answer_json
from pipeline.types import Answer
from workers.cli.options import db_option, parse_time
from workers.config import settings_from_flags

LIMIT_MAX = 1_000_000
"""Answers one listing prints."""
ID_MAX = 2**63 - 1
"""The largest id a SQL BIGINT column holds."""


def _at_most(most: int) -> Callable[[click.Context, click.Parameter, int | None], int | None]:
    """A callback refusing a whole number above ``most`` (the option's type keeps its least),
    before it reaches SQL, whose integers stop at 64 bits."""

    def check(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
        if value is not None and value > most:
            raise click.BadParameter(f"{value} is above {most}, the most allowed", ctx, param)
        return value

    return check


def _table(rows: list[tuple[int, Answer]], title: str) -> Table:
    table = Table(title=title)
    names = ("id", "question", "camera", "window", "matched", "score", "answer", "frames", "tokens")
    for name in names:
        table.add_column(name, overflow="fold")
    for answer_id, a in rows:
        table.add_row(
            str(answer_id),
            a.question,
            a.camera,
            f"{a.window_start:.1f}–{a.window_end:.1f}",
            {True: "yes", False: "no", None: "?"}[a.matched],
            "" if a.score is None else f"{a.score:.3f}",
            a.text[:80],
            " ".join(f"{t:.1f}" for t in a.frames),
            str(a.visual_tokens),
        )
    return table


@click.group("answers", invoke_without_command=True)
@db_option
@click.option(
    "--question",
    default=None,
    envvar="FEEDWATCH_ANSWERS_QUESTION",
    show_envvar=True,
    help="Only questions containing this text (case-insensitive).",
)
@click.option(
    "--camera",
    default=None,
    envvar="FEEDWATCH_ANSWERS_CAMERA",
    show_envvar=True,
    help="Only this camera id.",
)
@click.option(
    "--since",
    default=None,
    envvar="FEEDWATCH_ANSWERS_SINCE",
    show_envvar=True,
    help="Only windows ending at or after T (epoch s, file seconds, or ISO-8601).",
)
@click.option(
    "--matched",
    is_flag=True,
    envvar="FEEDWATCH_ANSWERS_MATCHED",
    show_envvar=True,
    help="Only answers that matched.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    callback=_at_most(LIMIT_MAX),
    envvar="FEEDWATCH_ANSWERS_LIMIT",
    show_envvar=True,
    help=f"At most this many answers (1 to {LIMIT_MAX:,}).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    envvar="FEEDWATCH_JSON",
    show_envvar=True,
    help="One JSON object per answer per line on stdout.",
)
@click.pass_context
def command(
    ctx: click.Context,
    db: str | None,
    question: str | None,
    camera: str | None,
    since: str | None,
    matched: bool,
    limit: int | None,
    as_json: bool,
) -> None:
    """List stored answers, oldest window first (``answers feedback``: correct one).

    Answers are read and printed a page at a time, so a listing of all history starts at
    once and holds one page (a table per page of more than one)."""
    from connectors.store import Store, require_existing
    from connectors.store.answer_listing import PAGE, Listing, stored_answers

    if ctx.invoked_subcommand is not None:
        return
    t0 = None if since is None else parse_time(since, "--since")
    url = require_existing(settings_from_flags(store={"url": db}).store.url)
    store = Store.from_url(url, upgrade=True)
    listing = Listing(question, camera, t0, True if matched else None, limit)
    try:
        if as_json:
            for _, a in stored_answers(store, listing):
                click.echo(json.dumps(answer_json(a), separators=(",", ":")))
        else:
            _print_tables(stored_answers(store, listing), PAGE)
    finally:
        store.close()


def _print_tables(rows: Iterator[tuple[int, Answer]], page: int) -> None:
    """One table of every answer when they fit a page, else a table per page."""
    console, held, shown = Console(), [], 0
    for row in rows:
        held.append(row)
        if len(held) == page:
            console.print(_table(held, f"answers {shown + 1}–{shown + len(held)}"))
            shown, held = shown + len(held), []
    if held or not shown:
        title = (f"{len(held)} answers" if not shown
                 else f"answers {shown + 1}–{shown + len(held)}")
        console.print(_table(held, title))
    if shown:
        console.print(f"{shown + len(held)} answers")


def _given_db(ctx: click.Context, db: str | None) -> str | None:
    """The ``--db`` of ``answers feedback``, or the one given to ``answers`` before it
    (``answers --db URL feedback 1``); two different ones are refused."""
    typed = ParameterSource.COMMANDLINE
    group = ctx.parent
    outer = group.params.get("db") if group and group.get_parameter_source("db") is typed else None
    if ctx.get_parameter_source("db") is not typed or outer is None:
        return db if outer is None else outer
    if db != outer:
        raise click.UsageError(f"--db given twice, {outer!r} and {db!r}: give one store")
    return db


@command.command("feedback")
@db_option
@click.argument("answer_id", type=click.IntRange(0), callback=_at_most(ID_MAX))
@click.option("--right/--wrong", "correct", default=None,
              help="The answer was right (--right) or wrong (--wrong).")
@click.pass_context
def feedback(ctx: click.Context, db: str | None, answer_id: int, correct: bool | None) -> None:
    """Say whether answer ANSWER_ID (the id column of ``feedwatch answers``) was right.

    The verdict is stored; that question's clip decisions on that camera follow it."""
    from connectors.store import Store, require_existing
    from connectors.store.feedback import add_feedback

    if correct is None:
        raise click.UsageError("say --right or --wrong")
    url = require_existing(settings_from_flags(store={"url": _given_db(ctx, db)}).store.url)
    store = Store.from_url(url, upgrade=True)
    try:
        fb = add_feedback(store, answer_id, correct)
    finally:
        store.close()
    verdict = "right" if fb.correct else "wrong"
    said = {True: "yes", False: "no", None: "?"}[fb.matched]
    click.echo(f"answer {answer_id} ({fb.query_id} on {fb.camera}, said {said}) marked {verdict}")
