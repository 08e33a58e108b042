"""URIs, settings, sinks, transcode, and clear errors for bad input and corrupt files."""

from __future__ import annotations

import io
import json

import av
import numpy as np
import pytest
from pydantic import ValidationError

from connectors.video.decoder import decode_segment
from connectors.video.resilience import segments
from connectors.video.segment_sinks import DirectorySink, read_index
from connectors.video.settings import VideoSettings, check_settings
from connectors.video.sources import open_source
from connectors.video.testing import MemorySink, make_clip
from connectors.video.uri import parse_uri
from pipeline.errors import ConfigError, SourceError

S = VideoSettings()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory):
    return make_clip(tmp_path_factory.mktemp("src") / "c.mp4", seconds=3.0,
                     keyframe_interval_s=1.0)


def test_uri_kinds_and_ffmpeg_options(clip) -> None:
    rtsp = parse_uri("rtsp://10.0.0.5:554/stream1", S)
    assert (rtsp.kind, rtsp.live, rtsp.ends) == ("rtsp", True, False)
    assert rtsp.options == {"rtsp_transport": "tcp", "timeout": "10000000"}
    udp_rtsp = parse_uri("rtsp://h/x", VideoSettings(rtsp_transport="udp"))
    assert udp_rtsp.options["rtsp_transport"] == "udp"
    hls = parse_uri("https://cdn.example/live/index.m3u8?token=1", S)
    assert (hls.kind, hls.ends, hls.options["rw_timeout"]) == ("hls", True, "10000000")
    assert hls.options["live_start_index"] == "-1"  # from the newest segment: no backlog
    assert parse_uri("http://cam/video.ts", S).kind == "http"
    udp = parse_uri("udp://239.0.0.1:1234", S)
    assert (udp.kind, udp.format, udp.ends) == ("udp", "mpegts", False)
    assert parse_uri("srt://host:9000", S).kind == "srt"
    dev = parse_uri("/dev/video0", S)
    assert (dev.kind, dev.format, dev.live) == ("v4l2", "v4l2", True)
    cam = parse_uri("/dev/video2?video_size=640x480&framerate=15&input_format=mjpeg", S)
    assert (cam.url, cam.options) == ("/dev/video2", {
        "video_size": "640x480", "framerate": "15", "input_format": "mjpeg"})
    with pytest.raises(ConfigError, match="V4L2 options are"):
        parse_uri("/dev/video0?fps=5", S)
    f = parse_uri(str(clip), S)
    assert (f.kind, f.live, f.ends) == ("file", False, True)
    assert parse_uri(f"file://{clip}", S).url == str(clip)


@pytest.mark.parametrize(("uri", "match"), [
    ("ftp://host/x.mp4", "unsupported scheme 'ftp'"),
    ("/no/such/file.mp4", "'/no/such/file.mp4'.*no such file"),
    ("", "uri"),
    ("http://[::1/x", "a well-formed path or URL"),  # urlsplit's ValueError, not a traceback
    ("rtsp://", "a network URI"),  # no host: refused here, not retried for ever
    ("udp://0.0.0.0:abc", "a network URI"),
    ("/" + "a" * 300 + ".mp4", "a path this system can open"),  # ENAMETOOLONG
    ("a" * 5000, "at most 4096 characters"),
])
def test_bad_uris_name_the_value(uri: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        open_source(uri, "cam")


def test_bad_camera_id_and_settings_name_the_field(clip) -> None:
    with pytest.raises(ConfigError, match="camera: '../etc'"):
        open_source(str(clip), "../etc")
    with pytest.raises(ValidationError, match="video.stall_timeout_s"):  # refused as read
        VideoSettings(stall_timeout_s=0)
    with pytest.raises(ConfigError, match="video.rtsp_transport"):
        check_settings(VideoSettings.model_construct(rtsp_transport="http"))


def test_corrupt_and_truncated_files_give_one_line_source_errors(clip, tmp_path) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, np.uint8).tobytes())
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[:2000])  # moov atom (at the end) is gone
    for bad in (garbage, truncated):
        with pytest.raises(SourceError) as info:
            list(segments(str(bad), "cam"))
        msg = str(info.value)
        assert "\n" not in msg and "cam" in msg and bad.name in msg
        assert "corrupt or truncated" in msg


def test_a_live_server_sending_nothing_readable_is_not_called_a_corrupt_file() -> None:
    from connectors.video.base import SourceUnreachable
    from connectors.video.sources import _fail

    bad = av.error.InvalidDataError(1094995529, "Invalid data")
    err = _fail("cam", parse_uri("rtsp://127.0.0.1:8554/cam", VideoSettings()), bad)
    assert "no readable video came" in str(err) and "corrupt or truncated" not in str(err)
    assert isinstance(err, SourceUnreachable)  # retried: an RTSP server silent at start
    err = _fail("cam", parse_uri("http://127.0.0.1:8080/page", VideoSettings()), bad)
    assert not isinstance(err, SourceUnreachable)  # not a video: refused at once


def test_truncated_transport_stream_keeps_what_decodes(clip, tmp_path) -> None:
    whole = list(segments(str(clip), "cam"))
    ts = tmp_path / "cut.ts"
    ts.write_bytes(b"".join(s.data for s in whole)[: len(whole[0].data) * 3 // 2])
    got = list(segments(str(ts), "cam"))
    assert 1 <= len(got) <= 2 and got[0].start == 0.0


def test_pts_reset_inside_a_file_keeps_time_running(clip, tmp_path) -> None:
    first = list(segments(str(clip), "cam"))[0]  # 0-2 s; its PTS start near zero
    twice = tmp_path / "twice.ts"
    twice.write_bytes(first.data + first.data)  # a recording whose clock restarts
    got = list(segments(str(twice), "cam"))
    assert [(s.start, round(s.duration, 2)) for s in got] == [(0.0, 2.0), (2.0, 2.0)]
    times = [round(f.t, 2) for s in got for f in decode_segment(s, 1.0)]
    assert times == [0.0, 1.0, 2.0, 3.0]


def test_protocols_missing_from_this_ffmpeg_are_config_errors() -> None:
    try:
        open_source("srt://127.0.0.1:9", "cam", settings=VideoSettings(open_timeout_s=0.5))
    except ConfigError as exc:
        assert "cannot read srt:// streams" in str(exc)
    except SourceError as exc:  # an FFmpeg with libsrt: nothing listens there
        assert "srt://127.0.0.1:9" in str(exc)


def test_directory_sink_writes_on_flush_and_resumes_numbering(clip, tmp_path) -> None:
    out = tmp_path / "out"
    sink = DirectorySink.from_config(out)
    segs = list(segments(str(clip), "cam"))
    for seg in segs:
        sink.add(seg)
    assert read_index(out) == [] and not list(out.glob("*.ts"))  # add only batches
    sink.close()
    index = read_index(out)
    assert [r["file"] for r in index] == ["cam-000000.ts", "cam-000001.ts"]
    assert index[1] | {"bytes": 0} == {
        "file": "cam-000001.ts", "camera": "cam", "seq": 1, "start": 2.0, "duration": 1.0,
        "end": 3.0, "container": "mpegts", "codec": "h264", "width": 320, "height": 240,
        "bytes": 0}
    assert (out / "cam-000001.ts").read_bytes() == segs[1].data
    assert json.loads((out / "index.jsonl").read_text().splitlines()[0])["seq"] == 0
    assert DirectorySink.from_config(out).next_seq("cam") == 2
    assert DirectorySink.from_config(out).next_seq("other") == 0
    with pytest.raises(ConfigError, match="--to-dir"):
        DirectorySink.from_config(out / "cam-000000.ts")


def test_memory_sink_double() -> None:
    sink = MemorySink()
    sink.add("x")  # type: ignore[arg-type]
    assert sink.flushed == []
    sink.flush()
    assert sink.flushed == ["x"]


def _mjpeg_clip(path, seconds=3, fps=10):
    with av.open(str(path), "w", format="matroska") as out:
        st = out.add_stream("mjpeg", rate=fps)
        st.width, st.height, st.pix_fmt = 160, 120, "yuvj420p"
        for i in range(seconds * fps):
            img = np.full((120, 160, 3), (i * 8) % 256, np.uint8)
            out.mux(st.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(st.encode(None))
    return path


def _frames(seg):
    with av.open(io.BytesIO(seg.data), format="mpegts") as c:
        return list(c.decode(c.streams.video[0]))


def test_codecs_mpegts_cannot_carry_are_transcoded_one_keyframe_per_segment(tmp_path) -> None:
    segs = list(segments(str(_mjpeg_clip(tmp_path / "m.mkv")), "cam"))
    assert [s.codec for s in segs] == ["h264"] * 2
    assert [(round(s.start, 2), round(s.duration, 2)) for s in segs] == [(0.0, 2.0), (2.0, 1.0)]
    for seg in segs:
        keys = [f.key_frame for f in _frames(seg)]
        assert keys[0] and not any(keys[1:]) and len(keys) == round(seg.duration * 10)


def test_transcode_mode_sets_keyframe_interval_to_segment_length(tmp_path) -> None:
    sparse = make_clip(tmp_path / "sparse.mp4", seconds=4.0, keyframe_interval_s=4.0)
    at_keyframes = VideoSettings(segment_seconds=1.0, cut_mid_gop=False)
    remuxed = list(segments(str(sparse), "cam", settings=at_keyframes))
    assert [s.duration for s in remuxed] == [4.0]  # remux at keyframes: as long as the GOP
    mid_gop = list(segments(str(sparse), "cam", settings=VideoSettings(segment_seconds=1.0)))
    assert [(s.duration, s.lead) for s in mid_gop] == [(1.0, 0.0), (1.0, 1.0), (1.0, 2.0),
                                                       (1.0, 3.0)]  # remux mid-GOP: a prefix
    coded = list(segments(str(sparse), "cam",
                          settings=VideoSettings(segment_seconds=1.0, transcode=True)))
    assert [round(s.duration, 2) for s in coded] == [1.0] * 4
    assert all(_frames(s)[0].key_frame for s in coded)


@pytest.mark.parametrize("live", [True, False], ids=["live", "vod"])
def test_a_live_hls_playlist_that_stops_growing_is_a_stall_not_the_end(tmp_path, live) -> None:
    """A live playlist (no ENDLIST) that stopped growing ended the camera for good: its
    publisher coming back was never seen. A VOD playlist ends as a file does."""
    import functools
    import http.server
    import subprocess
    import threading

    from connectors.video.base import SourceUnreachable

    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=160x90:rate=10:duration=3", "-c:v", "libx264", "-preset",
                    "ultrafast", "-g", "10", "-f", "hls", "-hls_time", "1", "-hls_list_size", "0",
                    *(["-hls_flags", "omit_endlist"] if live else []),
                    str(tmp_path / "cam.m3u8")], check=True)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/cam.m3u8"
    try:
        source = open_source(url, "cam", realtime=False, settings=VideoSettings(stall_timeout_s=2))
        if live:
            with pytest.raises(SourceUnreachable):  # stalled (or closed): reconnected
                list(source)
        else:
            assert len(list(source)) == 30
        source.close()
    finally:
        server.shutdown()
