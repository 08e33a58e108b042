"""Every kafka-python client feedwatch builds goes through :func:`kafka_client`.

It adds the bootstrap address and the security settings (:mod:`connectors.kafka.security`)
to the client's own arguments. With SASL or TLS configured it first logs in once
(:func:`check_login`): kafka-python retries a refused login until its bootstrap
deadline and then says only "Unable to bootstrap" (the broker's refusal often loses a
race with the connection close), so a wrong password would look like an outage. The
check uses aiokafka's single connection, which reports the broker's answer at once:
a refused login or a certificate that does not verify is :class:`KafkaAuthError`
within a second, naming the settings to fix. A broker that cannot be reached is left
to the client's own retries, as before.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from kafka.errors import KafkaError

from connectors.kafka.base import KafkaAuthError, KafkaConfig, KafkaUnavailable
from connectors.kafka.security import KafkaSecurity, aiokafka_options, kafka_python_options

C = TypeVar("C")


def security_of(cfg: KafkaConfig) -> KafkaSecurity:
    """The security settings a Kafka config carries (``KafkaSettings`` is one)."""
    if not isinstance(cfg, KafkaSecurity):
        raise TypeError(f"{type(cfg).__name__} carries no Kafka security settings")
    return cfg


def kafka_client(factory: Callable[..., C], cfg: KafkaConfig, *args: Any, **options: Any) -> C:
    """``factory(*args, bootstrap_servers=..., <security>, **options)``; a login the
    broker refuses is :class:`KafkaAuthError`, no broker :class:`KafkaUnavailable`."""
    security = security_of(cfg)
    if security.sasl or security.tls:
        check_login(cfg)
    try:
        return factory(*args, bootstrap_servers=cfg.bootstrap, **kafka_python_options(security),
                       **options)
    except KafkaError as exc:
        raise KafkaUnavailable(f"Kafka at {cfg.bootstrap!r}: {exc}") from exc


def check_login(cfg: KafkaConfig) -> None:
    """Connect and log in to the first bootstrap broker that answers; raise
    :class:`KafkaAuthError` if it refuses the login or TLS fails (nothing if none answers)."""
    options = aiokafka_options(security_of(cfg))
    timeout_ms = int(min(cfg.request_timeout_s, 10.0) * 1000)
    for host, port in bootstrap_hosts(cfg.bootstrap):
        with ThreadPoolExecutor(1, thread_name_prefix="kafka-login") as pool:  # any caller's loop
            error = pool.submit(asyncio.run, _login(host, port, timeout_ms, options)).result()
        if error is None:
            return
        refusal = login_error(cfg, error)
        if refusal is not None:
            raise refusal from error


async def _login(host: str, port: int, timeout_ms: int, options: dict[str, Any]) -> Any:
    from aiokafka.conn import create_conn

    try:
        conn = await create_conn(host, port, client_id="feedwatch-login",
                                 request_timeout_ms=timeout_ms, **options)
    except Exception as exc:  # classified by login_error  # noqa: BLE001
        return exc
    conn.close()
    return None


def login_error(cfg: KafkaConfig, error: BaseException) -> KafkaAuthError | None:
    """The :class:`KafkaAuthError` a failed login means, or None for "not reachable"."""
    from aiokafka import errors

    s, where = security_of(cfg), f"Kafka at {cfg.bootstrap!r}"
    if isinstance(error, errors.SaslAuthenticationFailed):
        return KafkaAuthError(
            f"{where} refused the login of {s.sasl_username!r} ({s.sasl_mechanism} over "
            f"{s.security_protocol}): {_reason(error)}; check kafka.sasl_username and "
            "kafka.sasl_password / sasl_password_file")
    if isinstance(error, errors.IllegalSaslStateError | errors.UnsupportedSaslMechanismError):
        return KafkaAuthError(
            f"{where} does not take SASL {s.sasl_mechanism} on this listener "
            f"({type(error).__name__}); check kafka.security_protocol "
            f"({s.security_protocol}), kafka.sasl_mechanism and the bootstrap port")
    if isinstance(error, ssl.SSLError):
        return KafkaAuthError(
            f"TLS with {where} failed: {error}; check kafka.ssl_cafile "
            f"({s.ssl_cafile or 'the system CAs'}), kafka.ssl_check_hostname "
            f"({s.ssl_check_hostname}) and that the port speaks TLS")
    return None


def _reason(error: BaseException) -> str:
    text = str(error)
    return text.split(": ", 1)[-1] if text.startswith("[Error") else text


def bootstrap_hosts(bootstrap: str) -> list[tuple[str, int]]:
    """``h1:9092,[::1]:9093`` as ``[("h1", 9092), ("::1", 9093)]`` (9092 when no port)."""
    hosts: list[tuple[str, int]] = []
    for item in filter(None, (part.strip() for part in bootstrap.split(","))):
        host, colon, port = item.rpartition(":")
        if not colon or "]" in port or (item.count(":") > 1 and not item.startswith("[")):
            host, port = item, "9092"
        hosts.append((host.strip("[]"), int(port) if port.isdigit() else 9092))
    return hosts
