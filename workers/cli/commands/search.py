"""``feedwatch search``: find moments in stored video by text."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from pipeline.errors import ConfigError
from pipeline.history.moments import Moment, check_limit
from workers.cli.options import db_option, env_option, parse_time, perception_option
from workers.config import settings_from_flags
from workers.history.search import moment_json


def _limit(ctx: click.Context, param: click.Parameter, value: int) -> int:
    """The API's bound on moments per search, checked before a model loads."""
    try:
        return check_limit(value)
    except ConfigError as exc:
        raise click.BadParameter(f"{value}: {exc.allowed}", ctx, param) from None


def _span(since: str | None, until: str | None) -> tuple[float | None, float | None]:
    """``--since`` and ``--until`` as finite seconds, ``--until`` after ``--since``."""
    t0 = None if since is None else parse_time(since, "--since")
    t1 = None if until is None else parse_time(until, "--until")
    if t0 is not None and t1 is not None and t1 <= t0:
        raise ConfigError("--until", until, f"a time after --since ({since})")
    return t0, t1


def _table(text: str, moments: list[Moment]) -> Table:
    table = Table(title=f"{len(moments)} moments for {text!r}")
    for name in ("camera", "t", "score", "from", "to", "frames", "box", "frame"):
        table.add_column(name)
    for m in moments:
        box = "" if m.box is None else " ".join(f"{x:.2f}" for x in m.box)
        table.add_row(m.camera, f"{m.t:.1f}", f"{m.score:.3f}", f"{m.start:.1f}", f"{m.end:.1f}",
                      str(m.frames), box, str(m.frame_id))
    return table


@click.command("search")
@click.argument("text")
@click.option("--camera", "cameras", multiple=True, help="Only this camera id (repeatable).")
@env_option("--since", env="FEEDWATCH_SEARCH_SINCE", default=None,
            help="Only frames at or after T (epoch s, file seconds, or ISO-8601).")
@env_option("--until", env="FEEDWATCH_SEARCH_UNTIL", default=None,
            help="Only frames before T (epoch s, file seconds, or ISO-8601).")
@env_option("--limit", env="FEEDWATCH_SEARCH_LIMIT", type=int, default=10, show_default=True,
            callback=_limit, help="At most this many moments (1 to 1000).")
@perception_option("--clip", default=None,
            help="CLIP model; must be the one the index was built with [default: the index's].")
@db_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per moment and line.")
def command(
    text: str,
    cameras: tuple[str, ...],
    since: str | None,
    until: str | None,
    limit: int,
    clip: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Search stored video for TEXT; the best moments first."""
    from connectors.store import require_existing
    from connectors.store.frames.index import FrameIndex
    from workers.history.search import Searcher

    t0, t1 = _span(since, until)
    settings = settings_from_flags(store={"url": db})
    index = FrameIndex.from_url(require_existing(settings.store.url))
    try:
        searcher = Searcher.load(index, clip, device=settings.perception.device)
        moments = searcher.search(text, cameras=cameras, since=t0, until=t1, limit=limit)
    finally:
        index.close()
    if as_json:
        for m in moments:
            click.echo(json.dumps(moment_json(m), separators=(",", ":")))
        return
    Console().print(_table(text, moments))
