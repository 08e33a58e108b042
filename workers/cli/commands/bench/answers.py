"""``feedwatch bench answers``: how well each ``clip`` mode answers a standing question,
per window (``agreement``) and per event (recall, onset delay, false alerts per hour,
persistence, flips).

Clips come from family a (:mod:`pipeline.scenes.watch`, the default), family b
(:mod:`pipeline.familyb`, reporting only) or ``--clips DIR``; the evaluation is in
:mod:`workers.bench.answers`. Family a's seeds 1000–1999 are the tuning range (the
adaptive defaults and the shipped calibration levels were chosen there); every other
seed is for reporting. ``--json`` prints one JSON object on stdout, last; the progress
bar and the table go to stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import click

from pipeline.errors import ConfigError
from pipeline.scenes import BACKGROUNDS
from workers.bench._table import emit_json, print_table, progress_bar
from workers.bench.answers.passes import Setup
from workers.bench.answers.run import Shortfall, run_bench
from workers.bench.answers.scenes import clip_dir, family_a, family_b
from workers.bench.answers.sidecar import SidecarError
from workers.cli.commands.bench._options import finite
from workers.cli.options import env_option

TUNING_SEEDS = range(1000, 2000)
SCENES, LONG_SCENES = 30, 12


def _backgrounds(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    bad = [n for n in names if n not in BACKGROUNDS]
    if bad or not names:
        raise click.BadParameter(
            f"{bad[0] if bad else value!r} is not a background; use {','.join(BACKGROUNDS)}",
            param_hint="--backgrounds",
        )
    return names


@click.command("answers")
@env_option("--clip", "clip_spec", default="shapes-demo", show_default=True,
            env="FEEDWATCH_PERCEPTION_CLIP", help="CLIP spec.")
@env_option("--scenes", type=click.IntRange(1), default=SCENES, show_default=True,
            env="FEEDWATCH_BENCH_SCENES",
            help=f"Scenes (cameras); {LONG_SCENES} with --long unless given.")
@env_option("--seed", type=int, default=7, show_default=True, env="FEEDWATCH_BENCH_SEED",
            help="Seed of the scenes; 1000-1999 is family a's tuning range.")
@env_option("--level", type=click.Choice(["easy", "hard"]), default="hard", show_default=True,
            env="FEEDWATCH_BENCH_LEVEL", help="hard: distractors share colour or shape.")
@env_option("--family", type=click.Choice(["a", "b"]), default="a", show_default=True,
            env="FEEDWATCH_BENCH_FAMILY", help="Scene family: a (tuning seeds 1000-1999) "
            "or b (an independent generator, for reporting only).")
@env_option("--long", "long", is_flag=True, env="FEEDWATCH_BENCH_LONG",
            help="5-minute scenes, one 3-minute event each, present from the first frame "
            "in a third of them.")
@env_option("--visits", "visits", is_flag=True, env="FEEDWATCH_BENCH_VISITS",
            help="2-minute scenes in which the asked thing comes and goes 2-4 times (a "
            "camera it visits again); both families.")
@env_option("--clips", "clips", type=click.Path(exists=True, file_okay=False, path_type=Path),
            default=None, metavar="DIR", env="FEEDWATCH_BENCH_CLIPS",
            help="Score every *.mp4 of DIR, each with its truth sidecar CLIP.json: "
            "{\"target\": \"...\", \"events\": [[on, off]]}.")
@env_option("--backgrounds", default=",".join(BACKGROUNDS), show_default=True,
            env="FEEDWATCH_BENCH_BACKGROUNDS",
            help="Family a's backgrounds, taken in turn by the scenes.")
@env_option("--corrections", type=click.IntRange(0), default=0, show_default=True,
            env="FEEDWATCH_BENCH_CORRECTIONS", help="Wrong answers per scene the user "
            "corrects (agreement before/after).")
@env_option("--second-look", "second_look", type=click.FloatRange(0, 64), default=None,
            callback=finite, env="FEEDWATCH_BENCH_SECOND_LOOK",
            help="The adaptive mode's second-look span in patch cells (default: the model's "
            "calibrated one; 0: off).")
@env_option("--closer-look", "closer_look", type=click.FloatRange(0, 64), default=None,
            callback=finite, env="FEEDWATCH_BENCH_CLOSER_LOOK",
            help="The adaptive mode's closer-look span in patch cells (default: the "
            "answerer's, off; 3: a turn to yes is asked of a crop).")
@env_option("--no-calibration", "no_calibration", is_flag=True,
            env="FEEDWATCH_BENCH_NO_CALIBRATION", help="Ignore the model's calibration "
            "file, as for a real CLIP that ships none.")
@env_option("--no-teach", "no_teach", is_flag=True, env="FEEDWATCH_BENCH_NO_TEACH",
            help="The cascade pass (cascade_gate) without the cascade's teaching: a yes the "
            "VLM would give is not taught to the tracker.")
@env_option("--dump-windows", "dump_windows", default=None, env="FEEDWATCH_BENCH_DUMP_WINDOWS",
            type=click.Path(dir_okay=False, writable=True, path_type=Path),
            help="Write every window's answer as JSON lines (clip, mode, start, end, truth, "
            "matched, score).")
@env_option("--device", default="auto", show_default=True, env="FEEDWATCH_PERCEPTION_DEVICE",
            help="auto|cpu|cuda.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object on stdout (the table goes to stderr).")
@click.pass_context
def command(ctx: click.Context, clip_spec: str, scenes: int, seed: int, level: str,
            family: str, long: bool, visits: bool, clips: Path | None, backgrounds: str,
            corrections: int,
            second_look: float | None, closer_look: float | None, no_calibration: bool,
            no_teach: bool, dump_windows: Path | None,
            device: str, as_json: bool) -> None:
    """Window and event agreement of the clip answerer's modes with the scenes' truth."""
    names = _backgrounds(backgrounds)
    _check_dump(dump_windows)
    if long and ctx.get_parameter_source("scenes") == click.core.ParameterSource.DEFAULT:
        scenes = LONG_SCENES
    if clips is not None:
        if (long or visits
                or ctx.get_parameter_source("family") != click.core.ParameterSource.DEFAULT):
            raise click.UsageError(
                "--clips scores the given clips: drop --family, --long and --visits")
        try:
            source = clip_dir(clips)
        except SidecarError as exc:
            raise click.BadParameter(str(exc), param_hint="--clips") from exc
    elif visits and long:
        raise click.UsageError("--visits and --long are two kinds of scene: drop one")
    elif family == "b":
        try:
            source = family_b(seed, scenes, level, long=long, visits=visits)
        except ConfigError as exc:
            raise click.UsageError(f"family b: {exc}") from exc
        click.echo("note: family b is for reporting only; choose nothing on its figures",
                   err=True)
    else:
        source = family_a(seed, scenes, level, names, long=long, visits=visits)
        if seed in TUNING_SEEDS:
            click.echo(f"note: seed {seed} is in family a's tuning range {TUNING_SEEDS.start}-"
                       f"{TUNING_SEEDS.stop - 1}; report figures from another seed", err=True)

    from pipeline.models.clip_encoder import ClipEncoder

    encoder = ClipEncoder.from_spec(clip_spec, device)
    setup = Setup(corrections=corrections, second_look=second_look, closer_look=closer_look,
                  no_calibration=no_calibration, teach=not no_teach)
    label = f"bench answers ({_what(source.family, level, long)}{', visits' if visits else ''})"
    try:
        with contextlib.ExitStack() as stack:
            dump = stack.enter_context(dump_windows.open("w")) if dump_windows else None
            progress = stack.enter_context(progress_bar())
            result = run_bench(encoder, source, setup, dump=dump,
                               progress=lambda done, n: progress(label, done, n))
    except Shortfall as exc:
        click.echo(f"error: {exc}; no figures reported", err=True)
        ctx.exit(1)
    _print_table(result)
    if as_json:
        emit_json(result)


def _check_dump(path: Path | None) -> None:
    """The dump is opened after the model loads and the clips are made: a path that
    cannot be written is refused before any of that."""
    if path is None:
        return
    folder = path.parent
    if not folder.is_dir():
        raise click.BadParameter(f"{str(path)!r}: its folder {str(folder)!r} does not exist "
                                 "(give a file in an existing folder)",
                                 param_hint="--dump-windows")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise click.BadParameter(f"{str(path)!r}: its folder {str(folder)!r} is not writable",
                                 param_hint="--dump-windows")


def _what(family: str | None, level: str, long: bool) -> str:
    if family is None:
        return "clips"
    return f"family {family}, {level}" + (", long" if long else "")


def _print_table(result: dict[str, Any]) -> None:
    """The modes' figures as a table on stderr."""
    bgs = list(result["per_background"])
    rows = []
    modes = list(result["modes"])
    for mode in modes:
        figs = result["modes"][mode]
        rows.append([
            f"{mode} (default)" if mode == result["default_mode"] else mode, figs["agreement"],
            *[figs["per_background"].get(b) for b in bgs], figs["windows"],
            figs["calibrating_windows"], figs["event_recall"], figs["onset_delay_s"]["p50"],
            figs["onset_delay_s"]["p95"], figs["false_alerts_per_hour"], figs["persistence"],
            figs["flips_per_event"]])
    first = result["modes"][modes[0]]
    notes = [f"events of ≥ 5 s: {first['events']}; hours without the target: "
             f"{first['absent_s'] / 3600:.3g}; windows inside events of ≥ 60 s: "
             f"{first['persistence_windows']}",
             f"default vs threshold mode: {_signed(result['vs_threshold'])}",
             f"hindsight (one score threshold chosen with the truth known, per clip / for "
             f"the run): {result['hindsight']['per_clip_threshold']} / "
             f"{result['hindsight']['one_threshold']}"]
    gate = result["cascade_gate"]
    taught = "" if gate["teach"] else ", not taught"
    notes.append(f"a cascade in front of the default (band {gate['band_spreads']:g} spread"
                 f"{taught}): "
                 f"the VLM asked about {gate['asked']} of the windows, {gate['recall']} of "
                 f"those that should say yes; with a VLM right on each, agreement "
                 f"{gate['bound']} (a bound: no VLM was run)")
    for cut in result["events_past_end"][:5]:
        notes.append(f"warning: {cut['clip']}: {cut['events']} event(s) end after the clip's "
                     f"{cut['decoded_s']:g} s (the latest at {cut['latest_off_s']:g} s); "
                     "counted up to the clip's end")
    if "corrections" in result:
        c = result["corrections"]
        notes.append(f"after {c['per_scene']} corrections per scene: {c['agreement_before']} "
                     f"-> {c['agreement_after']}")
    source = (f"{result['clips_dir']}" if result["family"] is None else
              f"family {result['family']}{' long' if result['long'] else ''}, "
              f"{result['level']}, seed {result['seed']}")
    calibration = ", no calibration" if result["no_calibration"] else ""
    with contextlib.redirect_stdout(sys.stderr):
        print_table(f"answers bench — {source}, {result['scenes']} scenes, "
                    f"{result['clip']}{calibration}",
                    ["mode", "agreement", *bgs, "windows", "calibrating", "event recall",
                     "onset p50 s", "onset p95 s", "false alerts/h", "persistence",
                     "flips/event"], rows, notes)
        _print_worst(result["per_clip"])


WORST = 5
"""Clips shown with their strips: the default mode's lowest agreement first."""


def _print_worst(clips: list[dict[str, Any]]) -> None:
    """The clips the default mode got least right, each with its truth and answer strips
    (one character a window), when any clip lost a window or an event."""
    lost = [c for c in clips if (c["agreement"] is not None and c["agreement"] < 1)
            or c["events_detected"] < c["events"] or c["false_alerts"]]
    if not lost:
        return
    print(f"clips with the most windows lost (default mode; {len(lost)} of {len(clips)} lost "
          "any; # yes . no ? not scored / undecided):")
    for c in sorted(lost, key=lambda c: (c["agreement"] if c["agreement"] is not None
                                         else 1.0, c["clip"]))[:WORST]:
        print(f"  {c['clip']} ({c['background']}): agreement {c['agreement']}, events found "
              f"{c['events_detected']} of {c['events']}, false alerts {c['false_alerts']}")
        print(f"    truth   {c['truth']}")
        print(f"    answers {c['answers']}")


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+}"


__all__ = ["command"]
