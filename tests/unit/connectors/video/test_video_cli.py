"""``feedwatch ingest`` and ``feedwatch bench decode`` as a user runs them."""

from __future__ import annotations

import io
import json

import av
import pytest

from connectors.video.segment_sinks import read_index
from connectors.video.testing import make_clip
from workers.cli.main import main


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory):
    return make_clip(tmp_path_factory.mktemp("cli") / "c.mp4", seconds=5.0,
                     keyframe_interval_s=1.0, bframes=2)


def test_ingest_to_dir_writes_standalone_segments_and_an_index(clip, tmp_path, capsys) -> None:
    out = tmp_path / "segs"
    assert main(["ingest", str(clip), "--camera", "door", "--to-dir", str(out)]) == 0
    index = read_index(out)
    assert [(r["seq"], r["start"], r["duration"]) for r in index] == [
        (0, 0.0, 2.0), (1, 2.0, 2.0), (2, 4.0, 1.0)]
    for rec in index:
        with av.open(io.BytesIO((out / rec["file"]).read_bytes()), format="mpegts") as c:
            assert next(iter(c.decode(video=0))).key_frame
    captured = capsys.readouterr()
    assert "ingested 3 segments" in captured.out
    assert "[connected]" in captured.err and "[ended]" in captured.err


def test_the_kafka_bootstrap_variable_makes_ingest_publish_to_kafka(clip, tmp_path,
                                                                   monkeypatch) -> None:
    """``FEEDWATCH_KAFKA_BOOTSTRAP`` (set for every command of a deployment) is the Kafka
    sink of ``feedwatch ingest`` too; ``--to-dir`` typed on the command line wins."""
    from connectors.video.segment_sinks import DirectorySink
    from workers.cli.commands import ingest as ingest_command
    from workers.ingest import process

    published: list[str] = []

    def kafka_sink(bootstrap, settings):  # the real one needs a broker: same sink, recorded
        published.append(bootstrap)
        return DirectorySink.from_config(str(tmp_path / "kafka"))

    monkeypatch.setitem(process.SINKS, "kafka", kafka_sink)
    monkeypatch.setattr(ingest_command, "build_status", lambda flags, settings, camera: None)
    monkeypatch.setenv("FEEDWATCH_KAFKA_BOOTSTRAP", "broker:9092")
    assert main(["ingest", str(clip), "--camera", "c", "--quiet", "--max-segments", "1"]) == 0
    assert published == ["broker:9092"] and len(read_index(tmp_path / "kafka")) == 1
    out = tmp_path / "dir"
    assert main(["ingest", str(clip), "--camera", "c", "--quiet", "--max-segments", "1",
                 "--to-dir", str(out)]) == 0
    assert published == ["broker:9092"] and len(read_index(out)) == 1


def test_ingest_again_resumes_numbering_and_respects_limits(clip, tmp_path) -> None:
    out = tmp_path / "segs"
    assert main(["ingest", str(clip), "--camera", "door", "--to-dir", str(out), "--quiet",
                 "--max-segments", "2", "--segment-seconds", "1"]) == 0
    assert main(["ingest", str(clip), "--camera", "door", "--to-dir", str(out), "--quiet"]) == 0
    assert [(r["seq"], r["duration"]) for r in read_index(out)] == [
        (0, 1.0), (1, 1.0), (2, 2.0), (3, 2.0), (4, 1.0)]


def test_env_fallback_for_video_settings(clip, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FEEDWATCH_VIDEO_SEGMENT_SECONDS", "1")
    assert main(["ingest", str(clip), "--camera", "c", "--to-dir", str(tmp_path), "--quiet"]) == 0
    assert len(read_index(tmp_path)) == 5


@pytest.mark.parametrize(("argv", "code", "needle"), [
    (["--camera", "c"], 2, "sink: None is not allowed; choose exactly one of --to-dir"),
    (["--camera", "bad id", "--to-dir", "{tmp}"], 2, "camera: 'bad id'"),
    (["--camera", "c", "--to-dir", "{tmp}", "--segment-seconds", "0"], 2, "segment_seconds"),
])
def test_bad_input_is_one_line_and_exit_2(clip, tmp_path, capsys, argv, code, needle) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(["ingest", str(clip), *argv]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and needle in err[-1]


def test_missing_corrupt_and_truncated_files_fail_cleanly(clip, tmp_path, capsys) -> None:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 100)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[:4000])
    cases = [(tmp_path / "missing.mp4", 2), (corrupt, 1), (truncated, 1)]
    for path, code in cases:
        assert main(["ingest", str(path), "--camera", "c", "--to-dir", str(tmp_path / "o")]) == code
        err = capsys.readouterr().err
        assert "Traceback" not in err
        last = err.strip().splitlines()[-1]
        assert last.startswith("error: ") and path.name in last


def test_bench_decode_reports_decoded_per_sampled_frame_for_short_and_long_gops(capsys) -> None:
    argv = ["bench", "decode", "--seconds", "8", "--size", "320x240", "--gops", "1,8",
            "--repeat", "1", "--json"]
    assert main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1  # one JSON object on one line
    report = json.loads(out[0])
    rows = {(r["gop_s"], r["mode"]): r for r in report["rows"]}
    base1 = rows[(1.0, "keyframe segments, full decode")]
    fast1 = rows[(1.0, "keyframe segments, sampling decoder")]
    assert base1["decoded_per_sample"] == 25.0 and base1["sampled"] == 8
    assert fast1["plan"] == "keyframes" and fast1["decoded_per_sample"] == 1.0
    assert fast1["vs_baseline_decoded"] == pytest.approx(1 / 25)
    runs8 = rows[(8.0, "keyframe segments, sampling decoder")]
    mid8 = rows[(8.0, "mid-GOP segments, prefix decoded")]
    carried8 = rows[(8.0, "mid-GOP segments, decoder carried")]
    assert carried8["sampled"] == 8 and carried8["decoded"] <= 200 < mid8["decoded"]
    assert runs8["plan"] == "runs" and runs8["decoded"] < 200  # skips the GOP's tail
    assert mid8["sampled"] == 8 and mid8["longest_segment_s"] <= 2.2 < runs8["longest_segment_s"]
    assert mid8["carried_share"] > 0 and mid8["vs_keyframe_bytes"] > 1.0  # the prefix's price
