"""Bad input to ``feedwatch bench ...`` and ``feedwatch scenes make`` is refused with one
line naming the flag (or the dump line, or the clip) and what is allowed, before any
model loads or clip is written; a bench that cannot score all its clips reports which
and why, and no figure."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.answerers.baseline import Evidence, Rule
from pipeline.errors import ConfigError
from workers.bench.answers.dump import Clip, DumpError, Window, read_dump, rule_json
from workers.bench.answers.replay import decisions, parse_sets
from workers.bench.answers.scenes import clip_dir
from workers.bench.answers.sidecar import SidecarError, read_sidecar
from workers.cli.main import cli, main

TRUTH = '{"target": "a red circle", "events": [[1, 3]]}'


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``feedwatch ARGS`` through the entry point: (exit code, stderr)."""
    code = main(args)
    return code, capsys.readouterr().err


def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a CLIP model fails the test: the refusal must come first."""
    from pipeline.models.clip_encoder import ClipEncoder

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was loaded before the input was checked")

    monkeypatch.setattr(ClipEncoder, "from_spec", refuse)


# --- bench answers --clips ----------------------------------------------------------


def test_a_clip_entry_that_is_not_a_file_is_kept_to_be_named_as_not_scored(
    tmp_path: Path,
) -> None:
    (tmp_path / "gone.mp4").symlink_to(tmp_path / "nowhere.mp4")
    (tmp_path / "gone.json").write_text(TRUTH)
    (tmp_path / "folder.mp4").mkdir()
    items = {item.name: item for item in clip_dir(tmp_path).items}
    assert sorted(items) == ["folder.mp4", "gone.mp4"]
    with pytest.raises(OSError, match=r"not a video file \(a broken symlink\)"):
        items["gone.mp4"].write(tmp_path)
    with pytest.raises(OSError, match=r"not a video file \(a directory\)"):
        items["folder.mp4"].write(tmp_path)


def test_a_sidecar_that_is_not_a_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "cam.mp4").write_bytes(b"")
    (tmp_path / "cam.json").mkdir()
    with pytest.raises(SidecarError, match=r"cam\.json: the truth sidecar is not a file "
                                           r"\(a directory\)"):
        read_sidecar(tmp_path / "cam.mp4")
    (tmp_path / "cam.json").rmdir()
    (tmp_path / "cam.json").symlink_to(tmp_path / "nowhere.json")
    with pytest.raises(SidecarError, match=r"not a file \(a broken symlink\)"):
        read_sidecar(tmp_path / "cam.mp4")


def test_an_event_after_the_sidecars_duration_is_named_by_its_place_in_the_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "cam.json").write_text(
        '{"target": "a red circle", "events": [[100, 200], [1, 2]], "duration": 8}')
    with pytest.raises(SidecarError, match=r"events\[0\] = \[100, 200\] starts after the "
                                           r"clip's end \(8 s\)"):
        read_sidecar(tmp_path / "cam.mp4")
    truth = json.loads(TRUTH)
    (tmp_path / "cam.json").write_text(json.dumps({**truth, "events": [[5, 9], [1, 2]]}))
    sidecar = read_sidecar(tmp_path / "cam.mp4")  # no duration: checked once decoded
    assert sidecar.events == ((1.0, 2.0), (5.0, 9.0))
    assert sidecar.starting_after(4.0) == [(0, (5.0, 9.0))]


@pytest.mark.slow
def test_unusable_clips_and_events_past_the_end_are_named_and_no_figure_is_given(
    tmp_path: Path,
) -> None:
    from pipeline.scenes import scripted_scene
    from pipeline.scenes import write_clip as write_a
    from workers.cli.commands.bench.answers import command

    spec = scripted_scene(("red", "circle"), [(1.0, 3.0)], seed=4, duration=6.0,
                          size=(320, 240))
    good = write_a(spec, tmp_path / "good.mp4", fps=5)
    good.with_suffix(".json").write_text(TRUTH)
    (tmp_path / "late.mp4").symlink_to(good)
    (tmp_path / "late.json").write_text(
        '{"target": "a red circle", "events": [[100, 200], [1, 3]]}')
    (tmp_path / "gone.mp4").symlink_to(tmp_path / "nowhere.mp4")
    (tmp_path / "gone.json").write_text(TRUTH)
    (tmp_path / "folder.mp4").mkdir()
    res = CliRunner().invoke(command, ["--clips", str(tmp_path), "--json", "--device", "cpu"])
    assert res.exit_code == 1, res.output
    assert res.stdout.strip() == ""  # no JSON figures over the one clip that was scored
    assert "3 of 4 clips not scored" in res.stderr and "no figures reported" in res.stderr
    assert "gone.mp4: UnusableClip: not a video file (a broken symlink)" in res.stderr
    assert "folder.mp4: UnusableClip: not a video file (a directory)" in res.stderr
    assert ("late.mp4: SidecarError: late.json: events[0] = [100, 200] starts after the "
            "clip's end (6 s)") in res.stderr
    assert "Traceback" not in res.output


def test_a_dump_path_in_a_missing_folder_is_refused_before_the_model_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    no_model(monkeypatch)
    (tmp_path / "cam.mp4").write_bytes(b"")
    (tmp_path / "cam.json").write_text(TRUTH)
    code, err = run(["bench", "answers", "--clips", str(tmp_path), "--dump-windows",
                     str(tmp_path / "no" / "such" / "d.jsonl")], capsys)
    assert code == 2 and "--dump-windows" in err and "does not exist" in err


@pytest.mark.parametrize("flag", ["--second-look", "--closer-look"])
def test_a_look_span_that_is_not_a_number_names_its_flag(
    flag: str, capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = run(["bench", "answers", "--scenes", "1", flag, "nan"], capsys)
    assert code == 2 and flag in err and "a finite number" in err
    assert "clip.second_look" not in err


# --- bench replay ---------------------------------------------------------------------


def _dump(path: Path, head: dict[str, object] | None = None,
          windows: bool = True) -> Path:
    """A replayable dump of one clip (its answers as the recorded rule gives them)."""
    scores = [0.1 + 0.001 * (i % 3) for i in range(6)] + [0.4] * 6
    rows = tuple(Window(float(i), i + 4.0, i + 4.0, i >= 6, None,
                        Evidence(s, 1.0 if s > 0.2 else -3.0, 0.05))
                 for i, s in enumerate(scores))
    clip = Clip("c", "plain", ((6.0, 16.0),), 16.0, Rule(), rows)
    lines: list[dict[str, object]] = [{
        "record": "clip", "clip": "c", "target": "a red circle", "background": "plain",
        "events": [[6.0, 16.0]], "duration": 16.0, "closer_look": None,
        "rules": {"adaptive": rule_json(Rule())}, **(head or {})}]
    for w, (matched, _) in zip(rows, decisions(clip, Rule()), strict=True):
        assert w.evidence is not None
        lines += [{"record": "window", "clip": "c", "mode": "adaptive", "start": w.start,
                   "end": w.end, "truth": w.truth, "matched": matched,
                   "score": w.evidence.score, "support": w.evidence.support,
                   "unit": w.evidence.unit, "key": w.key}] if windows else []
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


@pytest.mark.parametrize(("text", "says"), [
    (b"\xff\xfe not text\n", r"d\.jsonl:1: not UTF-8 text"),
    (b"[1, 2]\n", r"d\.jsonl:1: \[1, 2\] is not a JSON object"),
    (b'{"record": "clip", "clip": ["c"]}\n', r"d\.jsonl:1: 'clip' must be the clip's name"),
])
def test_a_dump_line_that_is_not_a_record_is_named(tmp_path: Path, text: bytes,
                                                   says: str) -> None:
    (tmp_path / "d.jsonl").write_bytes(text)
    with pytest.raises(DumpError, match=says):
        read_dump(tmp_path / "d.jsonl")


@pytest.mark.parametrize(("head", "says"), [
    ({"rules": None}, r"d\.jsonl:1: clip 'c': 'rules' must be an object"),
    ({"rules": {"adaptive": [1]}}, "the adaptive rule must be an object"),
    ({"rules": {"adaptive": {"k": "2"}}}, "rule field 'k' = '2': a finite number"),
    ({"events": [[6, 2]]}, r"clip 'c': events\[0\] = \[6, 2\] is not a pair \[on, off\]"),
    ({"events": None}, "'events' must be a list"),
    ({"duration": -1}, "'duration' = -1.0: seconds above 0"),
    ({"duration": "16"}, "'duration' = '16': a finite number"),
])
def test_a_clip_record_that_cannot_be_replayed_is_named(tmp_path: Path,
                                                        head: dict[str, object],
                                                        says: str) -> None:
    with pytest.raises(DumpError, match=says):
        read_dump(_dump(tmp_path / "d.jsonl", head))


def test_a_clip_without_windows_or_recorded_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DumpError, match="clip 'c' has no adaptive window records"):
        read_dump(_dump(tmp_path / "d.jsonl", windows=False))
    once = _dump(tmp_path / "d.jsonl").read_text()
    (tmp_path / "d.jsonl").write_text(once + once)
    with pytest.raises(DumpError, match=r"d\.jsonl:14: clip 'c' is recorded twice"):
        read_dump(tmp_path / "d.jsonl")
    text = once.replace('"start": 0.0', '"start": 9.0', 1)
    (tmp_path / "d.jsonl").write_text(text)
    with pytest.raises(DumpError, match=r"d\.jsonl:2: a window from 9 s to 4 s"):
        read_dump(tmp_path / "d.jsonl")


@pytest.mark.parametrize("dump", [b"\xff\xfe\n", b"[1, 2]\n",
                                  b'{"record": "clip", "clip": "c", "rules": null}\n'])
def test_replay_of_a_bad_dump_exits_1_without_a_traceback(tmp_path: Path,
                                                          dump: bytes) -> None:
    (tmp_path / "d.jsonl").write_bytes(dump)
    res = CliRunner().invoke(cli, ["bench", "replay", str(tmp_path / "d.jsonl")])
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit)  # no traceback
    assert "d.jsonl:1:" in res.stderr and "nothing replayed" in res.stderr


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity"])
def test_a_set_value_must_be_finite(value: str) -> None:
    with pytest.raises(ConfigError, match=r"--set k: .* a number, finite \(not nan or inf\)"):
        parse_sets([f"k={value}"])


def test_no_sure_level_replays_and_prints_valid_json(tmp_path: Path) -> None:
    assert parse_sets(["sure=none"]) == {"sure": math.inf}
    dump = _dump(tmp_path / "d.jsonl")
    res = CliRunner().invoke(cli, ["bench", "replay", str(dump), "--set", "sure=none",
                                   "--sweep", "sure=0.5,none", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1],
                     parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    assert out["set"] == {"sure": None}
    assert {json.dumps(r["set"]) for r in out["sweep"]} == {'{"sure": 0.5}', '{"sure": null}'}
    res = CliRunner().invoke(cli, ["bench", "replay", str(dump), "--set", "k=inf"])
    assert res.exit_code == 2 and "--set" in res.output and "not nan or inf" in res.output


# --- bench cascade, decode, alerts, encode, capacity ----------------------------------


@pytest.mark.parametrize("seeds", ["", "5-2", "a-b", "0-5000"])
def test_seeds_that_name_no_scene_are_a_seeds_usage_error(
    seeds: str, capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = run(["bench", "cascade", "--seeds", seeds], capsys)
    assert code == 2 and "--seeds" in err and "A <= B" in err


def test_seed_lists_keep_their_order_once_each() -> None:
    from workers.bench._cascade_run import seed_list

    assert seed_list("100-103") == [100, 101, 102, 103]
    assert seed_list("9,1,9") == [9, 1]


@pytest.mark.parametrize(("args", "flag"), [
    (["--gops", "nan"], "--gops"), (["--gops", "inf"], "--gops"), (["--gops", "1,-2"], "--gops"),
    (["--size", "abc"], "--size"), (["--size", "321x240"], "--size"),
])
def test_decode_refuses_bad_generated_clips_before_making_any(
    args: list[str], flag: str, capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = run(["bench", "decode", "--gops", "1,2", *args], capsys)
    assert code == 2 and flag in err and "bench decode: GOP" not in err


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"keyframe_interval_s": math.nan}, "keyframe_interval_s"),
    ({"keyframe_interval_s": math.inf}, "keyframe_interval_s"),
    ({"seconds": math.nan}, "seconds"), ({"fps": 0}, "fps"), ({"size": (321, 240)}, "size"),
])
def test_make_clip_names_an_argument_it_cannot_encode(tmp_path: Path, kwargs: dict[str, object],
                                                      field: str) -> None:
    from connectors.video.testing import make_clip

    with pytest.raises(ConfigError, match=f"^{field}: "):
        make_clip(tmp_path / "c.mp4", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "c.mp4").exists()


def test_alerts_refuse_a_window_shorter_than_every_up_front(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    import workers.cli.commands.bench.alerts as alerts

    monkeypatch.setattr(alerts, "measure", lambda *a, **k: pytest.fail("the bench ran"))
    code, err = run(["bench", "alerts", "--mode", "embedded", "--window", "1", "--every", "5"],
                    capsys)
    assert code == 2 and "--window/--every" in err and "--window at least --every" in err


@pytest.mark.parametrize(("args", "flag", "says"), [
    (["--precision", "bogus"], "--precision", "one of fp32, int8"),
    (["--precision", "fp32,int4"], "--precision", "'int4': one of fp32, int8"),
    (["--batch-sizes", "99999999", "--frames", "4"], "--batch-sizes",
     "99999999 is larger than --frames (4)"),
])
def test_encode_checks_its_flags_before_the_model_loads(
    args: list[str], flag: str, says: str,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    import workers.cli.commands.bench.encode as encode

    monkeypatch.setattr(encode, "bench_frames", lambda n: pytest.fail("frames were made"))
    code, err = run(["bench", "encode", "--device", "cpu", *args], capsys)
    assert code == 2 and flag in err and says in err


@pytest.mark.parametrize(("args", "says"), [
    (["--seconds", "nan"], "a finite number of at least 2"),
    (["--seconds", "inf"], "a finite number of at least 2"),
    (["--seconds", "1e9"], "at most 86400 s"),
])
def test_capacity_checks_seconds_before_the_model_loads(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    no_model(monkeypatch)
    code, err = run(["bench", "capacity", *args], capsys)
    assert code == 2 and "--seconds" in err and says in err


# --- scenes make ----------------------------------------------------------------------


@pytest.mark.parametrize("out", ["", "a.txt", "a.json", "clip"])
def test_scenes_make_needs_a_video_file_name(tmp_path: Path, out: str,
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, err = run(["scenes", "make", out, "--duration", "1"], capsys)
    assert code == 2 and "OUT" in err and ".mp4" in err and ".mkv" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("script", "says"), [
    ("red-circle:nan-3", "finite seconds"),
    ("red-circle:1-inf", "finite seconds"),
    ("red-circle:2-60", "2-60 ends after --duration (10 s)"),
])
def test_scenes_make_refuses_script_times_outside_the_clip(
    tmp_path: Path, script: str, says: str, capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = run(["scenes", "make", str(tmp_path / "a.mp4"), "--duration", "10",
                     "--script", script], capsys)
    assert code == 2 and "--script" in err and says in err
    assert list(tmp_path.iterdir()) == []


def test_scenes_make_writes_a_script_that_fits_the_clip(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    code, err = run(["scenes", "make", str(tmp_path / "a.MKV"), "--duration", "1", "--fps",
                     "5", "--size", "320x240", "--script", "red-circle:0-1"], capsys)
    assert code == 0, err
    assert (tmp_path / "a.MKV").stat().st_size > 0 and (tmp_path / "a.json").is_file()
