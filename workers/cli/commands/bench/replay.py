"""``feedwatch bench replay``: a ``bench answers --dump-windows`` file replayed through
the tracker with other rule settings, beside the recorded answers (the replaying is
:mod:`workers.bench.answers.replay`). ``--json`` prints one JSON object on stdout, last;
the table goes to stderr."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import click

from pipeline.errors import ConfigError
from workers.bench._table import emit_json, print_table
from workers.bench.answers.dump import DumpError, read_dump
from workers.bench.answers.replay import SWEPT, parse_sets, parse_sweep, replay, sweep

SHOW = 5
SWEEP_ROWS = 20
"""Sweep rows the table shows."""
"""Clips whose timelines the table shows (the ones that lost most first)."""
COLUMNS = ("agreement", "windows", "calibrating_windows", "event_recall",
           "false_alerts_per_hour", "persistence", "flips_per_event")


@click.command("replay")
@click.argument("dump", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="A tracker rule setting to replay with (repeatable): k, k_off, gate, "
              "gate_off, prior_on, prior_off, warmup, recent, drop_share, unit_share, "
              "sensitivity, floor, sure, horizon_s, max_samples.")
@click.option("--sweep", "sweeps", multiple=True, metavar="NAME=V1,V2,...",
              help="Replay every combination of these values too (repeatable; over --set): "
              "one row each, best agreement first.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object on stdout (the table goes to stderr).")
@click.pass_context
def command(ctx: click.Context, dump: Path, sets: tuple[str, ...], sweeps: tuple[str, ...],
            as_json: bool) -> None:
    """Replay the adaptive answers of a bench answers --dump-windows file with other
    tracker settings, on exactly the recorded evidence."""
    try:
        overrides = parse_sets(sets)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--set") from exc
    try:
        combos = parse_sweep(sweeps)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--sweep") from exc
    try:
        clips = read_dump(dump)
        result = replay(clips, overrides)
    except DumpError as exc:
        click.echo(f"error: {exc}; nothing replayed", err=True)
        ctx.exit(1)
    result = {"dump": str(dump), **result}
    _print_table(result)
    if combos:
        result["sweep"] = sweep(clips, overrides, combos)
        _print_sweep(result["sweep"])
    if as_json:
        emit_json(result)


def _print_table(result: dict[str, Any]) -> None:
    changed = ", ".join(f"{k}={v}" for k, v in result["set"].items()) or "nothing changed"
    rows = [[name, *(result[name][c] for c in COLUMNS)]
            for name in ("recorded", "replayed")]
    notes = [f"replayed with: {changed}; answers changed: {result['answers_changed']} of "
             f"{result['windows']} windows",
             f"the recorded rule gave back all {result['reproduced']} recorded answers"]
    with contextlib.redirect_stdout(sys.stderr):
        print_table(f"replay — {result['dump']}, {result['clips']} clips",
                    ["answers", *COLUMNS], rows, notes)
    _print_timelines(result["clips_changed"])


def _print_sweep(rows: list[dict[str, Any]]) -> None:
    names = list(rows[0]["set"])
    with contextlib.redirect_stdout(sys.stderr):
        print_table(f"sweep — {len(rows)} settings, best agreement first",
                    [*names, *SWEPT], [[*r["set"].values(), *(r[k] for k in SWEPT)]
                                       for r in rows[:SWEEP_ROWS]],
                    [f"{len(rows) - SWEEP_ROWS} more in --json sweep"]
                    if len(rows) > SWEEP_ROWS else [])


def _print_timelines(moved: list[dict[str, Any]]) -> None:
    """The clips whose answers moved most, one character a window (stderr)."""
    worst = sorted(moved, key=lambda c: (c["agreement_replayed"] or 0.0)
                   - (c["agreement_recorded"] or 0.0))
    for clip in worst[:SHOW]:
        click.echo(f"{clip['clip']} ({clip['background']}): agreement "
                   f"{clip['agreement_recorded']} -> {clip['agreement_replayed']}", err=True)
        for name in ("truth", "recorded", "replayed"):
            click.echo(f"  {name:<9}{clip[name]}", err=True)
    if len(moved) > SHOW:
        click.echo(f"... and {len(moved) - SHOW} more clips changed (all in --json "
                   "clips_changed)", err=True)


__all__ = ["command"]
