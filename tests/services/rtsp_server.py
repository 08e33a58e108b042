"""Serve one H.264 or HEVC file over RTSP with Debian's GStreamer RTSP server.

Run with Debian's SYSTEM python3 (python3-gi + gir1.2-gst-rtsp-server-1.0), not the
project venv:

    /usr/bin/python3 tests/services/rtsp_server.py --media clip.mp4 --port 8554 --mount cam \
        [--codec hevc]

Each client gets its own pipeline that plays the file in real time from the start
(MP4/MOV via qtdemux, MPEG-TS via tsdemux). ``tests/services/rtsp.py`` hands it a
file looped for as long as a test may watch, so clients see a long live stream.
Prints ``READY rtsp://...`` once the port is bound.
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

DEMUXERS = {".mp4": "qtdemux", ".mov": "qtdemux", ".m4v": "qtdemux", ".ts": "tsdemux"}
CODECS = {"h264": "h264parse ! rtph264pay", "hevc": "h265parse ! rtph265pay"}


def launch_line(media: str, codec: str = "h264") -> str:
    """The media factory's pipeline for ``media`` (H.264/HEVC in MP4/MOV or MPEG-TS)."""
    suffix = media[media.rfind("."):].lower()
    demux = DEMUXERS.get(suffix)
    if demux is None:
        raise SystemExit(f"unsupported container {suffix!r}; allowed: {sorted(DEMUXERS)}")
    if codec not in CODECS:
        raise SystemExit(f"unsupported codec {codec!r}; allowed: {sorted(CODECS)}")
    location = media.replace('"', '\\"')
    return (f'( filesrc location="{location}" ! {demux} ! {CODECS[codec]} '
            "name=pay0 pt=96 config-interval=-1 )")


def build_server(media: str, port: int, mount: str,
                 codec: str = "h264") -> GstRtspServer.RTSPServer:
    """An RTSP server on 127.0.0.1:port serving ``media`` at ``/mount``."""
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(media, codec))
    factory.set_shared(False)
    server.get_mount_points().add_factory(f"/{mount}", factory)
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mount", default="cam")
    parser.add_argument("--codec", default="h264", choices=sorted(CODECS))
    args = parser.parse_args()
    Gst.init(None)
    server = build_server(args.media, args.port, args.mount, args.codec)
    if server.attach(None) == 0:
        print(f"cannot bind 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
        return 1
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY rtsp://127.0.0.1:{args.port}/{args.mount}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
