"""``feedwatch bench replay``: rule overrides are checked by name and value, and a file
that is not a replayable dump is refused with the line and the reason. (Replaying a
real dump end to end is checked in ``test_bench_answers``.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.answerers.baseline import Evidence, Rule
from pipeline.answerers.closer import CLOSER_GATE, Supports
from pipeline.errors import ConfigError
from workers.bench.answers.dump import Clip, DumpError, Window, read_dump, rule_json
from workers.bench.answers.replay import decisions, parse_sets, parse_sweep, replay, sweep
from workers.cli.commands.bench.replay import command


def test_sets_are_rule_fields_with_values_of_their_kind() -> None:
    assert parse_sets(["gate=-2", "warmup=4", "floor=none", "prior-on=0.5"]) == {
        "gate": -2.0, "warmup": 4, "floor": None, "prior_on": 0.5}
    with pytest.raises(ConfigError, match="NAME one of horizon_s, warmup, k"):
        parse_sets(["gait=-2"])
    with pytest.raises(ConfigError, match="NAME=VALUE"):
        parse_sets(["gate"])
    with pytest.raises(ConfigError, match="warmup.*an integer"):
        parse_sets(["warmup=2.5"])
    with pytest.raises(ConfigError, match="at least 1"):
        parse_sets(["recent=0"])
    with pytest.raises(ConfigError, match="above 0"):
        parse_sets(["k=0"])
    with pytest.raises(ConfigError, match="a number"):
        parse_sets(["gate=nan"])


def test_a_bad_set_is_a_usage_error_naming_the_option(tmp_path: Path) -> None:
    dump = tmp_path / "d.jsonl"
    dump.write_text("")
    res = CliRunner().invoke(command, [str(dump), "--set", "gait=1"])
    assert res.exit_code == 2 and "--set" in res.output and "gait" in res.output


def _clip(scores: list[float], rule: Rule = Rule()) -> Clip:
    windows = tuple(Window(float(i), i + 4.0, i + 4.0, i >= 10, None,
                           Evidence(s, 1.0 if s > 0.2 else -3.0, 0.05))
                    for i, s in enumerate(scores))
    clip = Clip("c", "plain", ((10.0, 30.0),), 34.0, rule, windows)
    answers = decisions(clip, rule)
    return Clip(clip.name, clip.background, clip.events, clip.duration, rule,
                tuple(Window(w.start, w.end, w.key, w.truth, m, w.evidence)
                      for w, (m, _) in zip(windows, answers, strict=True)))


def _write(path: Path, clip: Clip, **head: object) -> Path:
    lines = [{"record": "clip", "clip": clip.name, "target": "a red circle",
              "background": clip.background, "events": [list(e) for e in clip.events],
              "duration": clip.duration, "closer_look": None,
              "rules": {"adaptive": rule_json(clip.rule), "threshold": None}, **head}]
    for w in clip.windows:
        ev = w.evidence
        lines.append({"record": "window", "clip": clip.name, "mode": "adaptive",
                      "start": w.start, "end": w.end, "truth": w.truth, "matched": w.matched,
                      "score": ev and ev.score, "support": ev and ev.support,
                      "unit": ev and ev.unit, "key": w.key, "calibrating": False, "why": ""})
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_a_written_dump_reads_back_and_replays_with_a_changed_rule(tmp_path: Path) -> None:
    clip = _clip([0.1 + 0.001 * (i % 3) for i in range(10)] + [0.4] * 20)
    back = read_dump(_write(tmp_path / "d.jsonl", clip))
    assert back == [clip]
    out = replay(back, {"sure": 0.0})  # everything yes
    assert out["recorded"]["event_recall"] == 1.0 and out["replayed"]["agreement"] < 1.0
    assert out["answers_changed"] == sum(not w.matched for w in clip.windows) > 0
    (moved,) = out["clips_changed"]
    assert moved["replayed"] == "#" * 30 and len(moved["truth"]) == 30
    assert moved["truth"] == "." * 10 + "#" * 20 and moved["agreement_replayed"] == 0.6667
    assert replay(back, {})["clips_changed"] == []


def test_what_is_not_a_replayable_dump_is_refused_with_the_line(tmp_path: Path) -> None:
    clip = _clip([0.1] * 8 + [0.4] * 8)
    with pytest.raises(DumpError, match="carry no closer-look supports"):
        read_dump(_write(tmp_path / "a.jsonl", clip, closer_look=3.0))
    bad = tmp_path / "b.jsonl"
    bad.write_text('{"clip": "x", "mode": "adaptive", "start": 0}\n')
    with pytest.raises(DumpError, match=r"b\.jsonl:1: not a record"):
        read_dump(bad)
    bad.write_text('{"record": "window", "clip": "x", "mode": "adaptive"}\n')
    with pytest.raises(DumpError, match="clip 'x' before its clip record"):
        read_dump(bad)
    bad.write_text('{"record": "clip", "clip": "x"}\n')
    with pytest.raises(DumpError, match=r"b\.jsonl:1: no 'rules' field"):
        read_dump(bad)
    (tmp_path / "c.jsonl").write_text("")
    with pytest.raises(DumpError, match="no clip records"):
        read_dump(tmp_path / "c.jsonl")
    text = _write(tmp_path / "d.jsonl", clip).read_text()
    (tmp_path / "d.jsonl").write_text(text.replace('"support": 1.0', '"support": null', 1))
    with pytest.raises(DumpError, match=r"d\.jsonl:\d+: a judged window without its support"):
        read_dump(tmp_path / "d.jsonl")
    res = CliRunner().invoke(command, [str(tmp_path / "d.jsonl")])
    assert res.exit_code == 1 and "nothing replayed" in res.stderr


def test_a_sweep_replays_every_combination_best_first(tmp_path: Path) -> None:
    assert parse_sweep(["gate=-1,-0.5", "warmup=2,3,4"])[:2] == [
        {"gate": -1.0, "warmup": 2}, {"gate": -1.0, "warmup": 3}]
    assert len(parse_sweep(["gate=-1,-0.5", "warmup=2,3,4"])) == 6 and parse_sweep([]) == []
    with pytest.raises(ConfigError, match="NAME=V1,V2"):
        parse_sweep(["gate="])
    with pytest.raises(ConfigError, match="each rule field once"):
        parse_sweep(["gate=1", "gate=2"])
    with pytest.raises(ConfigError, match="warmup.*an integer"):
        parse_sweep(["warmup=2,x"])
    with pytest.raises(ConfigError, match="at most 4096"):
        parse_sweep([f"{n}=1,2,3,4,5" for n in ("k", "k_off", "gate", "gate_off", "prior_on",
                                                  "prior_off")])
    clip = _clip([0.1 + 0.001 * (i % 3) for i in range(10)] + [0.4] * 20)
    rows = sweep([clip], {}, [{"sure": 0.0}, {"sure": 5.0}])
    assert [r["set"] for r in rows] == [{"sure": 5.0}, {"sure": 0.0}]  # best first
    assert rows[1]["agreement"] == 0.6667 and rows[0]["agreement"] > rows[1]["agreement"]
    dump = _write(tmp_path / "d.jsonl", clip)
    res = CliRunner().invoke(command, [str(dump), "--sweep", "sure=0,5", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["sweep"] == rows and "sweep — 2 settings" in res.stderr
    res = CliRunner().invoke(command, [str(dump), "--sweep", "gate"])
    assert res.exit_code == 2 and "--sweep" in res.output


def _closer_clip(turn: float, look: float) -> Clip:
    """10 empty windows, then 20 with the asked thing's score; its whole frame beats the
    alternatives (stay), its strongest rival is close (``turn``), the crop says ``look``."""
    empty, there = Supports(-3.0, -3.0, -3.0), Supports(1.0, turn, look)
    windows = tuple(Window(float(i), i + 4.0, i + 4.0, i >= 10, None,
                           Evidence(0.4 if i >= 10 else 0.1 + 0.001 * (i % 3), 0.0, 0.05),
                           there if i >= 10 else empty) for i in range(30))
    return Clip("c", "plain", ((10.0, 30.0),), 34.0, Rule(gate=CLOSER_GATE), windows, True)


def test_a_closer_look_dump_is_judged_on_the_support_the_rule_asks() -> None:
    def yes(clip: Clip) -> int:
        return sum(bool(m) for m, _ in decisions(clip, clip.rule))

    assert yes(_closer_clip(turn=-1.5, look=0.0)) == 20  # the crop turns it yes; stay holds
    assert yes(_closer_clip(turn=-1.5, look=-3.0)) == 0  # the crop refuses every turn
    assert yes(_closer_clip(turn=-2.5, look=0.0)) == 0  # below LOOK_FROM: no crop asked
    loose = _closer_clip(turn=-1.5, look=-3.0)
    assert sum(bool(m) for m, _ in decisions(loose, Rule(gate=-4.0))) == 20
