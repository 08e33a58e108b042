"""The Kafka broker's jars (Maven Central, cached) and the Java that runs them."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.services._common import ServiceError, cache_root, run_checked

POM = Path(__file__).with_name("kafka-pom.xml")


def kafka_version(pom: Path = POM) -> str:
    """The Kafka version the pom asks for."""
    found = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom.read_text())
    if not found:
        raise ServiceError(f"{pom}: no <kafka.version> property")
    return found.group(1).strip()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fetch_jars(pom: Path = POM) -> Path:
    """The directory of Kafka's jars, resolved with Maven on first use (then cached)."""
    home = cache_root() / f"kafka-{kafka_version(pom)}"
    jars, done = home / "jars", home / ".complete"
    if done.exists():
        return jars
    home.mkdir(parents=True, exist_ok=True)
    with _file_lock(home / ".lock"):
        if not done.exists():
            _download(pom, home, jars)
            done.touch()
    return jars


def _download(pom: Path, home: Path, jars: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServiceError("Maven (mvn) is not installed; run `make system-deps`")
    staging = home / "jars.partial"
    shutil.rmtree(staging, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="feedwatch-mvn-") as build:
        shutil.copy(pom, Path(build) / "pom.xml")
        run_checked(
            [mvn, "-q", "-B", "dependency:copy-dependencies", "-DincludeScope=runtime",
             f"-DoutputDirectory={staging}"],
            "mvn dependency:copy-dependencies (Kafka jars)",
            timeout=900,
            cwd=build,
        )
    shutil.rmtree(jars, ignore_errors=True)
    staging.rename(jars)


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java:
        raise ServiceError("java is not installed; run `make system-deps`")
    return java
