"""How every Kafka client authenticates and encrypts: SASL and TLS in one place.

:class:`KafkaSecurity` holds the settings; ``workers.config.KafkaSettings`` takes
its fields, so they load like every other setting (``FEEDWATCH_KAFKA_SECURITY_PROTOCOL``,
``FEEDWATCH_KAFKA_SASL_USERNAME``, ...). One function per client library turns them
into that library's arguments: :func:`kafka_python_options` (producers, consumers,
admin), :func:`aiokafka_options`, :func:`faust_credentials` (the worker app). All
three share one :class:`ssl.SSLContext` recipe, so a CA or hostname rule cannot
differ between clients.

The SASL password comes from the environment or a file (``sasl_password_file``,
read when a client is built, so a rotated secret is picked up on restart), never
from a command-line flag; it is a ``SecretStr`` and never appears in errors.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, SecretStr, model_validator

from pipeline.errors import ConfigError

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]
SASL = ("SASL_PLAINTEXT", "SASL_SSL")
TLS = ("SSL", "SASL_SSL")
SASL_FIELDS = ("sasl_username", "sasl_password", "sasl_password_file")
TLS_FILES = ("ssl_cafile", "ssl_certfile", "ssl_keyfile")


class KafkaSecurity(BaseModel):
    """SASL and TLS settings of the Kafka clients (defaults: PLAINTEXT, no auth)."""

    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    sasl_username: str = ""
    sasl_password: SecretStr = SecretStr("")
    sasl_password_file: str = ""  # or the password in this file (trailing newline dropped)
    ssl_cafile: str = ""  # CA bundle the broker's certificate must chain to; "" = the system's
    ssl_certfile: str = ""  # client certificate (mutual TLS), PEM
    ssl_keyfile: str = ""  # its private key, PEM, if not in ssl_certfile
    ssl_key_password: SecretStr = SecretStr("")  # for an encrypted ssl_keyfile
    ssl_check_hostname: bool = True  # the certificate must name the broker's host

    @property
    def sasl(self) -> bool:
        return self.security_protocol in SASL

    @property
    def tls(self) -> bool:
        return self.security_protocol in TLS

    @model_validator(mode="after")
    def _coherent(self) -> KafkaSecurity:
        """Settings that cannot work are refused at start-up, naming the field."""
        if self.sasl:
            _check_sasl(self)
        else:
            _unused(self, SASL_FIELDS, "SASL_PLAINTEXT or SASL_SSL to use SASL credentials")
        if self.tls:
            _check_tls(self)
        else:
            _unused(self, (*TLS_FILES, "ssl_key_password"), "SSL or SASL_SSL to use TLS files")
        return self

    def sasl_secret(self) -> str:
        """The SASL password, from ``sasl_password`` or read from ``sasl_password_file``."""
        if not self.sasl_password_file:
            return self.sasl_password.get_secret_value()
        try:
            return Path(self.sasl_password_file).read_text().rstrip("\r\n")
        except OSError as exc:
            raise ConfigError("sasl_password_file", self.sasl_password_file,
                              f"a readable file ({exc.strerror})") from None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context every client uses (``None`` without TLS)."""
        if not self.tls:
            return None
        try:
            ctx = ssl.create_default_context(cafile=self.ssl_cafile or None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError("ssl_cafile", self.ssl_cafile, f"a PEM CA bundle ({exc})") from None
        if self.ssl_certfile:
            _load_chain(ctx, self)
        ctx.check_hostname = self.ssl_check_hostname
        return ctx


def _check_sasl(s: KafkaSecurity) -> None:
    protocol = s.security_protocol
    if not s.sasl_username:
        raise ConfigError("sasl_username", "", f"a user name (security_protocol is {protocol})")
    given = bool(s.sasl_password.get_secret_value()), bool(s.sasl_password_file)
    if given == (True, True):
        raise ConfigError("sasl_password_file", s.sasl_password_file,
                          "either sasl_password or sasl_password_file, not both")
    if not any(given):
        raise ConfigError("sasl_password", "", f"a password, or sasl_password_file "
                          f"(security_protocol is {protocol})")
    if s.sasl_password_file:
        _readable(s, "sasl_password_file")


def _check_tls(s: KafkaSecurity) -> None:
    for name in TLS_FILES:
        if getattr(s, name):
            _readable(s, name)
    if s.ssl_keyfile and not s.ssl_certfile:
        raise ConfigError("ssl_keyfile", s.ssl_keyfile, "only with ssl_certfile (its certificate)")


def _unused(s: KafkaSecurity, names: tuple[str, ...], allowed: str) -> None:
    for name in names:
        value = getattr(s, name)
        secret = isinstance(value, SecretStr)
        if value.get_secret_value() if secret else value:
            raise ConfigError(name, "**********" if secret else value, f"set, but "
                              f"security_protocol is {s.security_protocol}; allowed: {allowed}")


def _readable(s: KafkaSecurity, name: str) -> None:
    path = Path(getattr(s, name))
    if not path.is_file():
        raise ConfigError(name, str(path), "a readable file (not found)")


def _load_chain(ctx: ssl.SSLContext, s: KafkaSecurity) -> None:
    password = s.ssl_key_password.get_secret_value() or None
    try:
        ctx.load_cert_chain(s.ssl_certfile, s.ssl_keyfile or None, password=password)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError("ssl_certfile", s.ssl_certfile,
                          f"a PEM certificate with its key (ssl_keyfile, ssl_key_password): "
                          f"{exc}") from None


def _protocol_and_sasl(s: KafkaSecurity) -> dict[str, Any]:
    """The arguments kafka-python and aiokafka name alike: protocol and SASL login."""
    out: dict[str, Any] = {"security_protocol": s.security_protocol}
    if s.sasl:
        out.update(sasl_mechanism=s.sasl_mechanism, sasl_plain_username=s.sasl_username,
                   sasl_plain_password=s.sasl_secret())
    return out


def kafka_python_options(s: KafkaSecurity) -> dict[str, Any]:
    """kafka-python's arguments (KafkaProducer, KafkaConsumer, KafkaAdminClient)."""
    out = _protocol_and_sasl(s)
    if s.tls:
        out.update(ssl_context=s.ssl_context(), ssl_check_hostname=s.ssl_check_hostname)
    return out


def aiokafka_options(s: KafkaSecurity) -> dict[str, Any]:
    """aiokafka's arguments (AIOKafkaProducer, AIOKafkaConsumer, AIOKafkaAdminClient)."""
    out = _protocol_and_sasl(s)
    if s.tls:
        out["ssl_context"] = s.ssl_context()
    return out


def faust_credentials(s: KafkaSecurity) -> Any:
    """Faust's ``broker_credentials`` (``None`` for PLAINTEXT); Faust hands them to aiokafka."""
    if not s.sasl and not s.tls:
        return None
    import faust

    if not s.sasl:
        return faust.SSLCredentials(s.ssl_context())
    return faust.SASLCredentials(username=s.sasl_username, password=s.sasl_secret(),
                                 mechanism=s.sasl_mechanism, ssl_context=s.ssl_context())
