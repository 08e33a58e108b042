#!/usr/bin/env bash
# System packages and jars the test services need (called by `make system-deps`).
# Idempotent: checks first, runs apt only for what is missing, skips cached jars.
set -euo pipefail
cd "$(dirname "$0")/../.."

PKGS=(
  postgresql ffmpeg maven default-jre-headless
  python3 python3-gi gir1.2-gst-rtsp-server-1.0 gir1.2-gstreamer-1.0
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  chromium
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "system-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "system-deps: need root or sudo for apt" >&2; exit 1; }
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  APT_OPTS=(-o DPkg::Lock::Timeout=600 -y --no-install-recommends)
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
  $SUDO apt-get install "${APT_OPTS[@]}" -q "${missing[@]}"
else
  echo "system-deps: all Debian packages present"
fi

# Kafka jars from Maven Central into the user cache (no-op when cached).
PY=".venv/bin/python"
[ -x "$PY" ] || PY="python3"
"$PY" -m tests.services.kafka --fetch-only
