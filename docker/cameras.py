"""Write compose.cameras.yaml: one `feedwatch ingest` service per group of cameras.

Usage: python docker/cameras.py docker/cameras.env [--per-process 16]
       [-o docker/compose.cameras.yaml]

cameras.env holds one ``ID=URI`` per line (``#`` comments allowed). Camera ids must be
lowercase letters, digits and dashes so they double as compose service names. Cameras
are grouped in file order, at most ``--per-process`` per ingest process (its blast
radius); a service is named after its first camera and gets its group's ``ID=URI``
lines in ``FEEDWATCH_INGEST_CAMERAS``, so no URL is on a command line.
Standard library only: it runs on the deploy host, outside the image.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

CAMERA_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "udp://", "srt://")
"""A copy of the network schemes of ``connectors/video/uri.py`` (``tests/unit/test_deploy.py``
keeps the two equal): this script runs where feedwatch is not installed."""


def parse_cameras(text: str) -> dict[str, str]:
    """Camera id → URI; raises ValueError naming the line that is wrong."""
    cameras: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cam, sep, uri = line.partition("=")
        cam, uri = cam.strip(), uri.strip()
        if not sep or not CAMERA_ID.match(cam):
            raise ValueError(f"line {number}: camera id {cam!r} must match {CAMERA_ID.pattern}")
        if not uri.startswith(SCHEMES):
            raise ValueError(
                f"line {number}: uri {uri!r} must start with one of {', '.join(SCHEMES)}"
            )
        if cam in cameras:
            raise ValueError(f"line {number}: camera id {cam!r} is listed twice")
        cameras[cam] = uri
    return cameras


def ingest_service(group: dict[str, str], per_process: int = 16) -> dict[str, object]:
    """One ingest process for the cameras of ``group`` (id → URI)."""
    listing = "\n".join(f"{cam}={uri}" for cam, uri in group.items())
    return {
        "image": "${FEEDWATCH_IMAGE:-feedwatch:latest}",
        "command": ["ingest", "--max-cameras", str(per_process)],
        "env_file": [{"path": "feedwatch.env", "required": True}],
        "environment": {
            "FEEDWATCH_KAFKA_BOOTSTRAP": "${FEEDWATCH_KAFKA_BOOTSTRAP:-kafka:9092}",
            "FEEDWATCH_METRICS_HOST": "0.0.0.0",  # the compose network's Prometheus  # noqa: S104
            "FEEDWATCH_INGEST_CAMERAS": listing.replace("$", "$$"),  # no compose interpolation
        },
        "depends_on": {"kafka": {"condition": "service_healthy"}},
        "restart": "unless-stopped",
    }


def render(cameras: dict[str, str], per_process: int = 16) -> str:
    """A compose override file (JSON is valid YAML): one service per group of cameras."""
    ids = list(cameras)
    groups = [ids[i:i + per_process] for i in range(0, len(ids), per_process)]
    services = {f"ingest-{g[0]}": ingest_service({c: cameras[c] for c in g}, per_process)
                for g in groups}
    return json.dumps({"services": services}, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cameras_env", type=Path)
    parser.add_argument(
        "-o", "--output", type=Path, default=Path(__file__).with_name("compose.cameras.yaml")
    )
    parser.add_argument("--per-process", type=int, default=16,
                        help="cameras per ingest process (default 16)")
    args = parser.parse_args(argv)
    try:
        cameras = parse_cameras(args.cameras_env.read_text())
    except (OSError, ValueError) as exc:
        print(f"error: {args.cameras_env}: {exc}", file=sys.stderr)
        return 2
    if args.per_process < 1:
        print("error: --per-process must be >= 1", file=sys.stderr)
        return 2
    args.output.write_text(render(cameras, args.per_process))
    groups = -(-len(cameras) // args.per_process)
    print(f"wrote {args.output} with {groups} ingest service(s) for {len(cameras)} camera(s)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
