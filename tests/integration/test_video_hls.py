"""HLS made by the ffmpeg binary, served by a local HTTP server, ingested end to end."""

from __future__ import annotations

import functools
import http.server
import io
import os
import shutil
import subprocess
import threading
import time

import av
import pytest

from connectors.video.decoder import decode_segment
from connectors.video.resilience import segments
from connectors.video.sampling import SampleClock
from connectors.video.segment_sinks import read_index
from connectors.video.status import StreamStatus
from workers.cli.main import main


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def hls_url(tiny_h264_clip, tmp_path):
    """``tiny_h264_clip`` cut into 2 s HLS segments by ffmpeg, served on 127.0.0.1."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("ffmpeg is not installed (make system-deps)")
        pytest.skip("ffmpeg is not installed (make system-deps)")
    site = tmp_path / "hls"
    site.mkdir()
    subprocess.run([ffmpeg, "-v", "error", "-i", str(tiny_h264_clip), "-c", "copy", "-f", "hls",
                    "-hls_time", "2", "-hls_playlist_type", "vod",
                    "-hls_segment_filename", str(site / "part%03d.ts"), str(site / "index.m3u8")],
                   check=True, timeout=60)
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.m3u8"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.timeout(60)
def test_hls_playlist_ingests_into_standalone_segments(hls_url) -> None:
    events = []
    before = time.time()
    got = list(segments(hls_url, "lobby", observer=events.append))
    assert [e.state for e in events] == [
        StreamStatus.CONNECTING, StreamStatus.CONNECTED, StreamStatus.ENDED]
    assert [s.seq for s in got] == [0, 1]
    assert [round(s.duration, 2) for s in got] == [2.0, 2.0]
    # a VOD playlist is a file: seconds from its start, read at file speed (it was anchored
    # on the wall clock and read at download speed: stamped up to its length in the future)
    assert got[0].start == 0.0 and time.time() - before < 2.0
    assert got[1].start == pytest.approx(got[0].end)
    for seg in got:
        with av.open(io.BytesIO(seg.data), format="mpegts") as c:
            frames = list(c.decode(video=0))
        assert frames[0].key_frame and len(frames) == 20  # 2 s at 10 fps
        # the sampling grid is absolute (whole UTC seconds), not relative to the segment
        times = [seg.start + k / 10 for k in range(20)]
        prev = None if seg.seq == 0 else seg.start - 0.1  # the stream's start: no frame before
        expected = [times[i] for i in SampleClock(1.0).select(times, prev=prev)]
        assert [f.t for f in decode_segment(seg, 1.0)] == pytest.approx(expected, abs=1e-3)


@pytest.mark.timeout(60)
def test_ingest_command_reads_hls_into_a_directory(hls_url, tmp_path, capsys) -> None:
    out = tmp_path / "segments"
    assert main(["ingest", hls_url, "--camera", "lobby", "--to-dir", str(out)]) == 0
    index = read_index(out)
    assert [r["file"] for r in index] == ["lobby-000000.ts", "lobby-000001.ts"]
    assert all((out / r["file"]).stat().st_size == r["bytes"] for r in index)
    assert "ingested 2 segments" in capsys.readouterr().out


@pytest.mark.timeout(60)
def test_missing_playlist_is_a_one_line_error(hls_url, tmp_path, capsys) -> None:
    bad = hls_url.replace("index.m3u8", "nope.m3u8")
    assert main(["ingest", bad, "--camera", "lobby", "--to-dir", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: camera 'lobby': cannot open") and "nope.m3u8" in err[-1]
