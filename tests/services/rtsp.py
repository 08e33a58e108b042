"""An RTSP camera for integration tests: Debian's GStreamer RTSP server on 127.0.0.1.

``RtspServer(media_path).start()`` serves an H.264 clip at ``.url``
(``rtsp://127.0.0.1:<port>/<mount>``). The clip is first looped (``ffmpeg
-stream_loop``, stream copy) into a file lasting ``loop_seconds`` so clients see one
long live stream with continuous timestamps. The server runs under Debian's system
python3 (``tests/services/rtsp_server.py``) in its own process group: :meth:`stop`
really stops it, :meth:`start` brings it back on the same port, so reconnect tests
can prove reconnection.

By hand: ``python -m tests.services.rtsp CLIP.mp4`` (prints the URL, runs until
Ctrl-C); without a clip it generates a short one.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.services._common import (
    ServiceError,
    free_port,
    log_tail,
    port_open,
    run_checked,
    spawn,
    stop_process,
    wait_until,
)
from tests.services.clips import make_test_clip

SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = os.environ.get("FEEDWATCH_SYSTEM_PYTHON", "/usr/bin/python3")


def describe(url: str, timeout: float = 5.0) -> str:
    """Send an RTSP DESCRIBE and return the status line (e.g. ``RTSP/1.0 200 OK``)."""
    hostport = url.split("://", 1)[1].split("/", 1)[0]
    host, _, port = hostport.partition(":")
    request = f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n"
    with socket.create_connection((host, int(port or 554)), timeout=timeout) as sock:
        sock.sendall(request.encode())
        reply = sock.recv(4096).decode(errors="replace")
    return reply.split("\r\n", 1)[0]


SERVED_CODECS = ("h264", "hevc")


def clip_codec(path: Path) -> str:
    """The codec of the first video stream of ``path``; the server serves H.264 and HEVC."""
    import av

    with av.open(str(path)) as container:
        codec = container.streams.video[0].codec_context.name
    if codec not in SERVED_CODECS:
        raise ServiceError(f"{path}: codec {codec!r}; the RTSP server serves {SERVED_CODECS}")
    return codec


def clip_duration(path: Path) -> float:
    """Duration in seconds of the first video stream of ``path`` (H.264 or HEVC)."""
    import av

    clip_codec(path)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        return float((container.duration or 0) / 1_000_000)


def loop_clip(src: Path, dst: Path, seconds: float) -> Path:
    """Concatenate ``src`` with itself (stream copy) until it lasts ``seconds``."""
    duration = clip_duration(src)
    if duration <= 0:
        raise ServiceError(f"{src}: cannot tell its duration")
    repeats = max(1, math.ceil(seconds / duration))
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise ServiceError("ffmpeg is not installed; run `make system-deps`")
    run_checked([ffmpeg, "-v", "error", "-y", "-stream_loop", str(repeats - 1), "-i", str(src),
                 "-map", "0:v:0", "-c", "copy", "-f", "mp4", str(dst)], f"ffmpeg loop {src.name}")
    return dst


class RtspServer:
    """One mount on a GStreamer RTSP server; restartable on the same port."""

    def __init__(self, media_path: Path | str, port: int | None = None, mount: str = "cam",
                 loop_seconds: float = 600.0) -> None:
        self.media_path = Path(media_path)
        self.port = port or 0
        self.mount = mount
        self.loop_seconds = loop_seconds
        self.workdir = Path(tempfile.mkdtemp(prefix="fw-rtsp-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self._served: Path | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{self.mount}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "rtsp.log"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 30) -> RtspServer:
        """Start serving (same port as before after a stop) and wait for a DESCRIBE 200."""
        if self.running:
            return self
        if not self.media_path.exists():
            raise ServiceError(f"RTSP media {self.media_path} does not exist")
        if self._served is None:
            looped = self.workdir / f"looped-{self.media_path.stem}.mp4"
            self._served = loop_clip(self.media_path, looped, self.loop_seconds)
        self.port = self.port or free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        self.proc = spawn([SYSTEM_PYTHON, str(SERVER_SCRIPT), "--media", str(self._served),
                           "--port", str(self.port), "--mount", self.mount,
                           "--codec", clip_codec(self.media_path)],
                          self.log_path, cwd=self.workdir, env=env)
        try:
            wait_until(self._ready, timeout, f"RTSP server {self.url}", self.proc, self.log_path)
        except BaseException:
            self.stop()
            raise
        return self

    def _ready(self) -> bool:
        if not port_open(self.port):
            return False
        try:
            return " 200 " in describe(self.url) + " "
        except OSError:
            return False

    def stop(self) -> None:
        """Kill the server's process group; clients see the connection drop."""
        stop_process(self.proc, grace=5)
        self.proc = None

    def restart(self, timeout: float = 30) -> RtspServer:
        self.stop()
        return self.start(timeout)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str]) -> int:
    """Serve a clip (or a generated one) until Ctrl-C."""
    media = Path(argv[0]) if argv else make_test_clip(Path(tempfile.mkdtemp()) / "clip.mp4")
    with RtspServer(media) as server:
        print(f"url: {server.url}  (log {server.log_path}); Ctrl-C stops", flush=True)
        try:
            while server.running:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
