"""An MJPEG-over-HTTP camera for tests: ``multipart/x-mixed-replace`` JPEG frames.

Cheap IP cameras and webcams serve ``GET /video.mjpg`` as one endless HTTP response,
each part a JPEG with its own ``Content-Type``/``Content-Length`` headers. The server
runs in a thread on 127.0.0.1, sends ``jpegs`` in a loop at ``fps`` in real time and
stops after ``seconds`` of video per client (0: forever, until :meth:`close`).
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BOUNDARY = "feedwatchframe"


class MjpegServer:
    """``with MjpegServer(jpegs, fps=10) as cam: cam.url``."""

    def __init__(self, jpegs: list[Path], *, fps: float = 10.0, seconds: float = 0.0) -> None:
        self.frames = [p.read_bytes() for p in jpegs]
        self.fps, self.seconds = fps, seconds
        self.stopping = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/video.mjpg"

    def __enter__(self) -> MjpegServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path != "/video.mjpg":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace;boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                try:
                    server.stream(self.wfile)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler

    def stream(self, out: object) -> None:
        """Write parts in real time until the video length or shutdown."""
        start, i = time.monotonic(), 0
        total = round(self.seconds * self.fps) if self.seconds else None
        while not self.stopping.is_set() and (total is None or i < total):
            delay = start + i / self.fps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            jpeg = self.frames[i % len(self.frames)]
            head = (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(jpeg)}\r\n\r\n").encode()
            out.write(head + jpeg + b"\r\n")  # type: ignore[attr-defined]
            out.flush()  # type: ignore[attr-defined]
            i += 1
