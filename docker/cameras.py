"""Write compose.cameras.yaml: one `feedwatch ingest` service per camera.

Usage: python docker/cameras.py docker/cameras.env [-o docker/compose.cameras.yaml]

cameras.env holds one ``ID=URI`` per line (``#`` comments allowed). Camera ids must be
lowercase letters, digits and dashes so they double as compose service names.
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


def ingest_service(cam: str, uri: str) -> dict[str, object]:
    return {
        "image": "${FEEDWATCH_IMAGE:-feedwatch:latest}",
        "command": ["ingest", uri, "--camera", cam],
        "env_file": [{"path": "feedwatch.env", "required": True}],
        "environment": {"FEEDWATCH_KAFKA_BOOTSTRAP": "${FEEDWATCH_KAFKA_BOOTSTRAP:-kafka:9092}"},
        "depends_on": {"kafka": {"condition": "service_healthy"}},
        "restart": "unless-stopped",
    }


def render(cameras: dict[str, str]) -> str:
    """A compose override file (JSON is valid YAML) with one service per camera."""
    services = {f"ingest-{cam}": ingest_service(cam, uri) for cam, uri in cameras.items()}
    return json.dumps({"services": services}, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cameras_env", type=Path)
    parser.add_argument(
        "-o", "--output", type=Path, default=Path(__file__).with_name("compose.cameras.yaml")
    )
    args = parser.parse_args(argv)
    try:
        cameras = parse_cameras(args.cameras_env.read_text())
    except (OSError, ValueError) as exc:
        print(f"error: {args.cameras_env}: {exc}", file=sys.stderr)
        return 2
    args.output.write_text(render(cameras))
    print(f"wrote {args.output} with {len(cameras)} ingest service(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
