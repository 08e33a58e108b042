"""The test broker's authenticated listeners: SASL/SCRAM users and TLS material.

Beside its PLAINTEXT listener (which every other test uses) the broker gets
``SASL_PLAINTEXT`` and ``SASL_SSL`` listeners with SCRAM-SHA-256 and SCRAM-SHA-512.
KRaft stores SCRAM credentials in the metadata log, so the user is created when the
data directory is formatted (``kafka-storage format --add-scram``), before the broker
starts: no extra start-up time. The TLS listener presents a certificate for
``127.0.0.1``/``localhost`` signed by a throwaway CA made here with ``openssl``
(a few milliseconds with EC keys); clients trust ``ca.pem``. Kafka reads the key and
chain from one PEM file (``ssl.keystore.type=PEM``), so no Java keystore is built.
"""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.services._common import ServiceError, run_checked

SCRAM_USER = "feedwatch-test"
MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule required;"


@dataclass(frozen=True)
class ScramUser:
    """The broker's one SCRAM user (the same password for both mechanisms)."""

    name: str
    password: str

    @classmethod
    def new(cls) -> ScramUser:
        return cls(SCRAM_USER, secrets.token_urlsafe(18))

    def format_args(self) -> list[str]:
        """``kafka-storage format`` arguments that create the user for every mechanism."""
        args: list[str] = []
        for mechanism in MECHANISMS:
            args += ["--add-scram", f"{mechanism}=[name={self.name},password={self.password}]"]
        return args


@dataclass(frozen=True)
class TlsFiles:
    """The CA clients trust and the broker's PEM keystore (key + chain)."""

    ca: Path
    keystore: Path


def make_tls(folder: Path) -> TlsFiles:
    """A CA and a server certificate for 127.0.0.1/localhost in ``folder`` (kept once made)."""
    files = TlsFiles(folder / "ca.pem", folder / "broker.pem")
    if files.ca.exists() and files.keystore.exists():
        return files
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ServiceError("openssl is not installed; run `make system-deps`")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for args in _openssl_steps():
        run_checked([openssl, *args], f"openssl {args[0]}", timeout=60, cwd=folder)
    parts = [folder / "broker.key", folder / "broker.crt", files.ca]
    files.keystore.write_text("".join(part.read_text() for part in parts))
    return files


def _openssl_steps() -> list[list[str]]:
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    return [
        ["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
         "-subj", "/CN=feedwatch test CA"],
        ["req", *ec, "-keyout", "broker.key", "-out", "broker.csr", "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "broker.crt", "-days", "2", "-extfile", "san.cnf"],
    ]


def listener_properties(tls: TlsFiles) -> dict[str, str]:
    """``server.properties`` entries of the two authenticated listeners."""
    props = {
        "sasl.enabled.mechanisms": ",".join(MECHANISMS),
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(tls.keystore),
    }
    for listener in ("sasl_plaintext", "sasl_ssl"):
        for mechanism in MECHANISMS:
            props[f"listener.name.{listener}.{mechanism.lower()}.sasl.jaas.config"] = SCRAM_MODULE
    return props


def listeners(sasl_port: int, ssl_port: int) -> tuple[str, str]:
    """The listener definitions and their protocol map entries."""
    return (f"SASL_PLAINTEXT://127.0.0.1:{sasl_port},SASL_SSL://127.0.0.1:{ssl_port}",
            "SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL")
