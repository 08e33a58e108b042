"""``feedwatch bench answers``: the JSON shape, the scoring rule, clips from a directory
(scored end to end, its metrics checked against the dumped windows), and bad input."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.familyb import family_b_scene
from pipeline.familyb import write_clip as write_b
from pipeline.scenes import scripted_scene
from pipeline.scenes import write_clip as write_a
from pipeline.scenes.watch import watch_scene
from workers.bench.answers.metrics import Answered, EventCounts, best_threshold_right, window_truth
from workers.bench.answers.scenes import family_a, long_watch_scene, visits_scene
from workers.cli.commands.bench.answers import command

pytestmark = pytest.mark.slow

EVENT_KEYS = {"event_recall", "onset_delay_s", "false_alerts_per_hour", "persistence",
              "flips_per_event"}
CLIP_S = 12.0


def last_json(stdout: str) -> dict[str, Any]:
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, stdout  # the table and notes go to stderr
    out: dict[str, Any] = json.loads(lines[0])
    return out


def test_window_truth_skips_edge_windows() -> None:
    scene = watch_scene(5, "noise")
    lo, hi = scene.visible
    events = [scene.visible]
    assert hi - lo == 8.0 and 0 <= lo <= 22.0
    assert window_truth(lo - 4.0, lo, events) is False  # ends where the object enters
    assert window_truth(lo - 3.5, lo + 0.5, events) is None  # overlaps 0.5 s: not scored
    assert window_truth(lo - 3.0, lo + 1.0, events) is True


def test_long_family_a_scenes_hold_one_3_minute_event() -> None:
    first = long_watch_scene(11, "plain", "hard", from_start=True)
    later = long_watch_scene(12, "plain", "hard", from_start=False)
    assert first.visible == (0.0, 180.0) and first.spec.duration == 300.0
    assert 0 < later.visible[0] <= 120.0 and later.visible[1] - later.visible[0] == 180.0


def test_visits_scenes_bring_the_asked_thing_back_two_to_four_times() -> None:
    for seed in range(40):
        spec, target, events = visits_scene(seed, "plain", "hard")
        assert 2 <= len(events) <= 4 and spec.duration == 120.0 and events[0][0] <= 12.0
        assert all(6.0 <= off - on <= 30.0 and off <= 118.0 for on, off in events)
        assert all(8.0 <= b[0] - a[1] <= 30.0 for a, b in zip(events, events[1:], strict=False))
        assert any(o.color == target[0] and o.shape == target[1] for o in spec.objects)
    assert visits_scene(3, "noise", "easy")[2] == visits_scene(3, "noise", "easy")[2]  # seeded
    described = family_a(1000, 2, "easy", ["plain"], visits=True).describe
    assert described["duration_s"] == 120.0 and described["visits"] == "2-4"
    with pytest.raises(ValueError, match="choose one"):
        family_a(1000, 2, "easy", ["plain"], long=True, visits=True)


@pytest.mark.parametrize("family", ["a", "b"])
def test_visits_and_long_are_two_kinds_of_scene(family: str) -> None:
    res = CliRunner().invoke(command, ["--visits", "--long", "--family", family, "--json"])
    assert res.exit_code == 2 and "--visits" in res.output and "--long" in res.output


def test_json_has_every_mode_and_background_and_the_corrections() -> None:
    res = CliRunner().invoke(command, ["--scenes", "2", "--seed", "3", "--backgrounds",
                                       "plain,clutter", "--corrections", "1", "--json",
                                       "--device", "cpu"])
    assert res.exit_code == 0, res.output
    out = last_json(res.stdout)
    assert out["default_mode"] == "adaptive" and set(out["modes"]) == {
        "adaptive", "threshold", "margin"}
    assert out["family"] == "a" and out["long"] is False and out["no_calibration"] is False
    assert set(out["per_background"]) == {"plain", "clutter"}
    assert out["agreement"] == out["modes"]["adaptive"]["agreement"]
    assert 0 <= out["agreement"] <= 1 and out["modes"]["adaptive"]["windows"] > 30
    assert 0 <= out["modes"]["adaptive"]["calibrating_windows"] < 30  # the rule's warm-up
    assert EVENT_KEYS <= set(out) and EVENT_KEYS <= set(out["modes"]["margin"])
    assert out["modes"]["adaptive"]["events"] == 2  # one 8-s event a scene
    assert out["persistence"] is None  # no event of 60 s
    assert out["corrections"]["agreement_before"] == out["agreement"]
    assert out["corrections"]["agreement_after"] >= out["agreement"]
    assert "agreement" in res.stderr and "event recall" in res.stderr
    gate = out["cascade_gate"]  # the cascade pass: a bound, reported beside the modes
    assert (gate["band_spreads"], gate["teach"]) == (1.0, True)
    assert 0 < gate["asked"] <= 1 and gate["recall"] >= 0 and gate["bound"] >= 0
    assert "adaptive+cascade" not in out["modes"] and "cascade in front" in res.stderr


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two 12-s clips: family b with the target from the first frame (0-8 s), and
    family a with it on screen 5-10 s (its sidecar rewritten in the public format)."""
    folder = tmp_path_factory.mktemp("clips")
    b = dataclasses.replace(family_b_scene(5, 3, "easy", False), duration=CLIP_S,
                            size=(320, 240))
    assert b.events == ((0.0, 8.0),)
    write_b(b, folder / "b.mp4")
    spec = scripted_scene(("red", "circle"), [(5.0, 10.0)], seed=4, duration=CLIP_S,
                          size=(320, 240), background="noise")
    path = write_a(spec, folder / "a.mp4", fps=5)
    path.with_suffix(".json").write_text(json.dumps(
        {"target": "a red circle", "events": [[5.0, 10.0]], "background": "noise"}))
    return folder


def test_clips_are_scored_end_to_end_and_agree_with_their_dumped_windows(
    clips: Path, tmp_path: Path,
) -> None:
    dump = tmp_path / "windows.jsonl"
    res = CliRunner().invoke(command, ["--clips", str(clips), "--json", "--device", "cpu",
                                       "--no-calibration", "--dump-windows", str(dump)])
    assert res.exit_code == 0, res.output
    out = last_json(res.stdout)
    assert out["family"] is None and out["clips_dir"] == str(clips) and out["scenes"] == 2
    assert out["no_calibration"] is True and out["video_s"] == pytest.approx(2 * CLIP_S)
    assert out["events_past_end"] == []
    assert EVENT_KEYS <= set(out) and set(out["per_background"]) == {"noise", "unlabelled"}
    records = [json.loads(line) for line in dump.read_text().splitlines()]
    rows = [r for r in records if r["record"] == "window"]
    heads = {r["clip"]: r for r in records if r["record"] == "clip"}
    assert {r["clip"] for r in rows} == {"a.mp4", "b.mp4"} == set(heads)
    assert heads["b.mp4"]["events"] == [[0.0, 8.0]] and heads["a.mp4"]["duration"] == CLIP_S
    assert heads["a.mp4"]["rules"]["threshold"] is None
    assert all(r["support"] is not None for r in rows if r["mode"] == "adaptive")
    events = {"a.mp4": [(5.0, 10.0)], "b.mp4": [(0.0, 8.0)]}
    by = defaultdict(list)
    for r in rows:
        by[r["mode"], r["clip"]].append(r)
    for mode, figs in out["modes"].items():
        counts, right, scored = EventCounts(), 0, 0
        for clip in ("a.mp4", "b.mp4"):
            mine = by[mode, clip]
            assert [r["end"] for r in mine] == [4.0 + i for i in range(9)]  # ends 4..12
            for r in mine:
                assert r["truth"] == window_truth(r["start"], r["end"], events[clip])
                if r["truth"] is not None:
                    scored += 1
                    right += r["matched"] == r["truth"]
            counts.add([Answered(r["start"], r["end"], r["matched"]) for r in mine],
                       events[clip], CLIP_S)
        assert figs["windows"] == scored and figs["agreement"] == round(right / scored, 4)
        assert {k: figs[k] for k in EVENT_KEYS} == {k: counts.figures()[k] for k in EVENT_KEYS}
        assert figs["events"] == 2 and figs["absent_s"] == pytest.approx(2 * CLIP_S - 13)
        per_clip = [[r for r in by[mode, c] if r["truth"] is not None] for c in ("a.mp4", "b.mp4")]
        best = [best_threshold_right([_six(r["score"]) for r in rs], [r["truth"] for r in rs])
                for rs in [*per_clip, per_clip[0] + per_clip[1]]]
        assert figs["hindsight"] == {"per_clip_threshold": round((best[0] + best[1]) / scored, 4),
                                     "one_threshold": round(best[2] / scored, 4)}
    # the fixed mode is one threshold on the same scores: hindsight can only match or beat it
    fixed = out["modes"]["threshold"]
    assert fixed["hindsight"]["one_threshold"] >= fixed["agreement"]
    assert out["hindsight"] == out["modes"]["adaptive"]["hindsight"]
    _per_clip_as_dumped(out["per_clip"], by, events)
    _replays_the_dump(dump, out["modes"]["adaptive"], tmp_path)


def _per_clip_as_dumped(per_clip: list[dict[str, Any]], by: dict[Any, list[dict[str, Any]]],
                        events: dict[str, list[tuple[float, float]]]) -> None:
    """Each clip's own figures and strips are the default mode's dumped windows."""
    assert [c["clip"] for c in per_clip] == ["a.mp4", "b.mp4"]
    for c in per_clip:
        mine = by["adaptive", c["clip"]]
        assert c["answers"] == "".join(
            "?" if r["matched"] is None else "#" if r["matched"] else "." for r in mine)
        assert c["truth"] == "".join(
            "?" if r["truth"] is None else "#" if r["truth"] else "." for r in mine)
        scored = [r["matched"] == r["truth"] for r in mine if r["truth"] is not None]
        assert c["windows"] == len(scored) and c["agreement"] == round(sum(scored) / len(scored), 4)
        counts = EventCounts()
        counts.add([Answered(r["start"], r["end"], r["matched"]) for r in mine],
                   events[c["clip"]], CLIP_S)
        assert (c["events"], c["events_detected"], c["false_alerts"]) == (
            1, counts.detected, counts.false_alerts)


def _replays_the_dump(dump: Path, adaptive: dict[str, Any], tmp_path: Path) -> None:
    """``bench replay`` gives the bench's own figures back from the dump, answers
    every window yes with a sure level below every score, and refuses a dump whose
    recorded answers its rule does not give back."""
    from workers.cli.commands.bench.replay import command as replay

    res = CliRunner().invoke(replay, [str(dump), "--json"])
    assert res.exit_code == 0, res.output
    out = last_json(res.stdout)
    assert out["answers_changed"] == 0 and out["reproduced"] == out["windows"] == 18
    keys = ["agreement", "windows", "calibrating_windows", *EVENT_KEYS]
    assert {k: out["replayed"][k] for k in keys} == {k: adaptive[k] for k in keys}
    assert out["recorded"] == out["replayed"]
    res = CliRunner().invoke(replay, [str(dump), "--set", "sure=-5", "--json"])
    assert res.exit_code == 0, res.output
    yes = last_json(res.stdout)["replayed"]
    assert yes["event_recall"] == 1.0 and yes["persistence"] is None
    assert yes["agreement"] == round(_share_true(dump), 4)
    lines = dump.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if '"mode": "adaptive"' in line
              and '"matched": false' in line)
    lines[at] = lines[at].replace('"matched": false', '"matched": true')
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join(lines) + "\n")
    res = CliRunner().invoke(replay, [str(tampered), "--json"])
    assert res.exit_code == 1 and res.stdout == ""
    assert "another version of the tracker" in res.stderr and "17 of 18" in res.stderr


def test_a_closer_look_dump_replays_to_the_bench_figures(clips: Path, tmp_path: Path) -> None:
    """With the closer look, every window records all three supports (the crop encoded
    for each), and the replay, deciding again which one each window asks, gives back
    every answer and the bench's figures; a dump without them is refused."""
    from workers.cli.commands.bench.replay import command as replay

    dump = tmp_path / "closer.jsonl"
    res = CliRunner().invoke(command, ["--clips", str(clips), "--json", "--device", "cpu",
                                       "--closer-look", "3", "--dump-windows", str(dump)])
    assert res.exit_code == 0, res.output
    adaptive = last_json(res.stdout)["modes"]["adaptive"]
    rows = [json.loads(line) for line in dump.read_text().splitlines()]
    judged = [r for r in rows if r.get("mode") == "adaptive" and r["score"] is not None]
    assert len(judged) == 18 and all(set(r["supports"]) == {"stay", "turn", "look"}
                                     for r in judged)
    assert any("on a closer look" in r["why"] for r in judged)  # some turns asked the crop
    res = CliRunner().invoke(replay, [str(dump), "--json"])
    assert res.exit_code == 0, res.output
    out = last_json(res.stdout)
    assert out["answers_changed"] == 0 and out["reproduced"] == 18
    keys = ["agreement", "windows", *EVENT_KEYS]
    assert {k: out["replayed"][k] for k in keys} == {k: adaptive[k] for k in keys}
    bare = tmp_path / "bare.jsonl"
    bare.write_text(dump.read_text().replace('"supports": {', '"gone": {'))
    res = CliRunner().invoke(replay, [str(bare), "--json"])
    assert res.exit_code == 1 and "no closer-look supports" in res.stderr


def _six(score: float | None) -> float | None:
    """The dump keeps full precision; hindsight cuts only at 6 decimals."""
    return None if score is None else round(score, 6)


def _share_true(dump: Path) -> float:
    rows = [json.loads(line) for line in dump.read_text().splitlines()]
    truths = [r["truth"] for r in rows if r["record"] == "window" and r["mode"] == "adaptive"
              and r["truth"] is not None]
    return sum(truths) / len(truths)


def test_events_past_the_clip_end_are_counted_to_it_and_said(clips: Path, tmp_path: Path
                                                              ) -> None:
    import shutil

    shutil.copy(clips / "a.mp4", tmp_path / "a.mp4")
    (tmp_path / "a.json").write_text(
        '{"target": "a red circle", "events": [[5, 10], [11, 600]]}')
    res = CliRunner().invoke(command, ["--clips", str(tmp_path), "--json", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert last_json(res.stdout)["events_past_end"] == [
        {"clip": "a.mp4", "events": 1, "latest_off_s": 600.0, "decoded_s": CLIP_S}]
    assert "a.mp4: 1 event(s) end after the clip's 12 s (the latest at 600 s)" in res.stderr
    # one that starts after the clip's end cannot be scored: the clip is a shortfall
    (tmp_path / "a.json").write_text(
        '{"target": "a red circle", "events": [[5, 10], [700, 800]]}')
    res = CliRunner().invoke(command, ["--clips", str(tmp_path), "--json", "--device", "cpu"])
    assert res.exit_code == 1 and res.stdout.strip() == ""
    assert "events[1] = [700, 800] starts after the clip's end (12 s)" in res.stderr


def test_a_clip_that_cannot_be_scored_is_a_shortfall_not_a_figure(
    clips: Path, tmp_path: Path,
) -> None:
    (tmp_path / "broken.mp4").write_bytes(b"not a video at all")
    (tmp_path / "broken.json").write_text('{"target": "a red circle", "events": []}')
    short = tmp_path / "short.mp4"
    short.write_bytes((clips / "b.mp4").read_bytes())  # a 12-s clip said to last 30 s
    short.with_suffix(".json").write_text(
        '{"target": "a red circle", "events": [[0, 8]], "duration": 30}')
    res = CliRunner().invoke(command, ["--clips", str(tmp_path), "--json", "--device", "cpu"])
    assert res.exit_code == 1 and res.stdout.strip() == ""
    assert "2 of 2 clips not scored" in res.stderr
    assert "broken.mp4" in res.stderr and "decoded 12.0 s of 30 s" in res.stderr


@pytest.mark.parametrize(("sidecar", "says"), [
    (None, "no truth sidecar"),
    ("[1, 2]", "JSON object"),
    ('{"target": 3, "events": []}', "'target' must be a non-empty string"),
    ('{"target": "a red circle", "events": [[5, 2]]}', "events[0] = [5, 2]"),
    ('{"target": "a red circle", "events": [[-1, 2]]}', "0 <= on < off"),
    ('{"target": "a red circle", "events": {"on": 1}}', "'events' must be a list"),
    ('{"target": "a red circle"', "not readable JSON"),
    ('{"target": "a red\\u001b circle", "events": []}', "no control characters (U+001B"),
    ('{"target": "a red circle", "events": [[4, 8], [1, 5]]}', "[1.0, 5.0] and [4.0, 8.0] overlap"),
])
def test_a_bad_sidecar_is_named_before_anything_is_scored(
    tmp_path: Path, sidecar: str | None, says: str,
) -> None:
    (tmp_path / "cam.mp4").write_bytes(b"")
    if sidecar is not None:
        (tmp_path / "cam.json").write_text(sidecar)
    res = CliRunner().invoke(command, ["--clips", str(tmp_path), "--json"])
    assert res.exit_code == 2 and says in res.output and "cam" in res.output


def test_every_unusable_sidecar_is_named_at_once_and_a_bom_is_fine(tmp_path: Path) -> None:
    from workers.bench.answers.scenes import SidecarError, clip_dir, read_sidecar

    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.mp4").write_bytes(b"")
    (tmp_path / "a.json").write_text('\ufeff{"target": "a red circle", "events": [[2, 4]]}',
                                     encoding="utf-8")
    (tmp_path / "b.json").write_text('{"target": "", "events": []}')
    assert read_sidecar(tmp_path / "a.mp4").events == ((2.0, 4.0),)
    with pytest.raises(SidecarError, match=r"^2 of 3 sidecars not usable: \S*/b\.json: .*; "
                                           r"\S*/c\.mp4: no truth sidecar"):
        clip_dir(tmp_path)


def test_clips_exclude_the_scene_families(tmp_path: Path) -> None:
    res = CliRunner().invoke(command, ["--clips", str(tmp_path), "--family", "b"])
    assert res.exit_code == 2 and "--clips" in res.output


def test_bad_backgrounds_are_named() -> None:
    res = CliRunner().invoke(command, ["--backgrounds", "plain,lava", "--json"])
    assert res.exit_code == 2 and "lava" in res.output and "--backgrounds" in res.output


def test_a_clip_named_in_capitals_is_scored_too(tmp_path: Path) -> None:
    from workers.bench.answers.scenes import clip_dir

    (tmp_path / "LOBBY.MP4").write_bytes(b"")
    (tmp_path / "LOBBY.json").write_text('{"target": "a red circle", "events": []}')
    (tmp_path / "notes.txt").write_text("not a clip")
    assert [item.name for item in clip_dir(tmp_path).items] == ["LOBBY.MP4"]
