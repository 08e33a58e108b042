#!/usr/bin/env bash
# System packages and jars the test services need (called by `make system-deps`).
# Idempotent and quick when everything is present: checks with dpkg first, runs
# `apt-get update` + `apt-get install` only for what is missing, skips cached jars.
#   --python-only   only what `make install` needs to build .venv (python3, venv)
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON_PKGS=(python3 python3-venv)
SERVICE_PKGS=(
  postgresql                                  # initdb/pg_ctl in /usr/lib/postgresql/*/bin
  ffmpeg                                      # clip looping for the RTSP server, probing
  default-jre-headless maven                  # Kafka broker; jars resolved with Maven
  python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-rtsp-server-1.0   # RTSP server (system python3)
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  chromium                                    # browser tests of the dashboard
)

wanted=("${PYTHON_PKGS[@]}")
[ "${1:-}" = "--python-only" ] || wanted+=("${SERVICE_PKGS[@]}")

missing=()
for pkg in "${wanted[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done

if ((${#missing[@]})); then
  echo "system-deps: installing ${missing[*]}"
  SUDO=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "system-deps: need root or sudo for apt-get" >&2; exit 1; }
    SUDO=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q
  "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
else
  echo "system-deps: Debian packages present"
fi

[ "${1:-}" = "--python-only" ] && exit 0

# Kafka jars from Maven Central into ~/.cache/feedwatch (no-op when cached).
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
"$PY" -m tests.services.kafka --fetch-only
