"""Kafka SASL/TLS settings: loaded like every setting, refused with the field named, and
turned into the same login and TLS rules for kafka-python, aiokafka and Faust."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest

from connectors.kafka.base import KafkaAuthError
from connectors.kafka.clients import bootstrap_hosts, login_error, security_of
from connectors.kafka.security import aiokafka_options, faust_credentials, kafka_python_options
from pipeline.errors import ConfigError
from workers.config import KafkaSettings, settings_from_flags

SECRET = "s3cret-Pa55"  # noqa: S105 - a test value, asserted absent from every message


@pytest.fixture
def cafile() -> str:
    import certifi

    return certifi.where()


def scram(**extra: Any) -> KafkaSettings:
    base = {"bootstrap": "b:9093", "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "SCRAM-SHA-256", "sasl_username": "fw", "sasl_password": SECRET}
    return KafkaSettings(**{**base, **extra})


def test_plaintext_by_default_adds_nothing_but_the_protocol() -> None:
    cfg = KafkaSettings(bootstrap="b:9092")
    assert kafka_python_options(cfg) == {"security_protocol": "PLAINTEXT"}
    assert aiokafka_options(cfg) == {"security_protocol": "PLAINTEXT"}
    assert faust_credentials(cfg) is None


def test_scram_reaches_every_library_alike() -> None:
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    cfg = scram()
    login = {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-256",
             "sasl_plain_username": "fw", "sasl_plain_password": SECRET}
    assert kafka_python_options(cfg) == login
    assert aiokafka_options(cfg) == login
    # what Faust hands to aiokafka is what aiokafka_options gives
    faust_auth = dict(credentials_to_aiokafka_auth(faust_credentials(cfg)))
    assert faust_auth == {**login, "ssl_context": None}


def test_sasl_ssl_shares_one_tls_rule_between_libraries(cafile: str) -> None:
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    cfg = scram(security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512",
                ssl_cafile=cafile, ssl_check_hostname=False)
    contexts = [kafka_python_options(cfg)["ssl_context"], aiokafka_options(cfg)["ssl_context"],
                credentials_to_aiokafka_auth(faust_credentials(cfg))["ssl_context"]]
    for ctx in contexts:
        assert isinstance(ctx, ssl.SSLContext)
        assert ctx.verify_mode == ssl.CERT_REQUIRED  # no hostname check still verifies the CA
        assert ctx.check_hostname is False
    assert kafka_python_options(cfg)["ssl_check_hostname"] is False
    assert credentials_to_aiokafka_auth(faust_credentials(cfg))["security_protocol"] == "SASL_SSL"


def test_tls_without_sasl(cafile: str) -> None:
    import faust

    cfg = KafkaSettings(security_protocol="SSL", ssl_cafile=cafile)
    assert set(kafka_python_options(cfg)) == {"security_protocol", "ssl_context",
                                              "ssl_check_hostname"}
    assert kafka_python_options(cfg)["ssl_context"].check_hostname is True
    assert isinstance(faust_credentials(cfg), faust.SSLCredentials)


def test_password_file_is_read_when_a_client_is_built(tmp_path: Path) -> None:
    secret = tmp_path / "kafka.pw"
    secret.write_text(SECRET + "\n")
    cfg = scram(sasl_password="", sasl_password_file=str(secret))
    assert kafka_python_options(cfg)["sasl_plain_password"] == SECRET
    secret.write_text("rotated\n")
    assert aiokafka_options(cfg)["sasl_plain_password"] == "rotated"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"SECURITY_PROTOCOL": "SASL_PLAINTEXT", "SASL_MECHANISM": "PLAIN",
                        "SASL_USERNAME": "fw", "SASL_PASSWORD": SECRET}.items():
        monkeypatch.setenv(f"FEEDWATCH_KAFKA_{name}", value)
    kafka = settings_from_flags().kafka
    assert (kafka.security_protocol, kafka.sasl_mechanism, kafka.sasl_username) == (
        "SASL_PLAINTEXT", "PLAIN", "fw")
    assert SECRET not in repr(kafka) and SECRET not in str(kafka.model_dump())


@pytest.mark.parametrize(
    ("env", "field", "says"),
    [
        ({"SECURITY_PROTOCOL": "SASL"}, "kafka.security_protocol", "SASL_PLAINTEXT"),
        ({"SECURITY_PROTOCOL": "SASL_SSL", "SASL_MECHANISM": "GSSAPI", "SASL_USERNAME": "u"},
         "kafka.sasl_mechanism", "SCRAM-SHA-512"),
        ({"SECURITY_PROTOCOL": "SASL_SSL", "SASL_PASSWORD": SECRET},
         "kafka.sasl_username", "a user name"),
        ({"SECURITY_PROTOCOL": "SASL_PLAINTEXT", "SASL_USERNAME": "u"},
         "kafka.sasl_password", "sasl_password_file"),
        ({"SECURITY_PROTOCOL": "SASL_PLAINTEXT", "SASL_USERNAME": "u",
          "SASL_PASSWORD": SECRET, "SASL_PASSWORD_FILE": "/etc/hostname"},
         "kafka.sasl_password_file", "not both"),
        ({"SECURITY_PROTOCOL": "SASL_PLAINTEXT", "SASL_USERNAME": "u",
          "SASL_PASSWORD_FILE": "/no/such/file"}, "kafka.sasl_password_file", "readable file"),
        ({"SASL_PASSWORD": SECRET}, "kafka.sasl_password", "SASL_PLAINTEXT or SASL_SSL"),
        ({"SSL_CAFILE": "/etc/hostname"}, "kafka.ssl_cafile", "SSL or SASL_SSL"),
        ({"SECURITY_PROTOCOL": "SSL", "SSL_CAFILE": "/no/ca.pem"}, "kafka.ssl_cafile",
         "readable file"),
        ({"SECURITY_PROTOCOL": "SSL", "SSL_KEYFILE": "/etc/hostname"}, "kafka.ssl_keyfile",
         "ssl_certfile"),
    ],
)
def test_settings_that_cannot_work_name_the_field(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], field: str, says: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(f"FEEDWATCH_KAFKA_{name}", value)
    with pytest.raises(ConfigError) as err:
        settings_from_flags()
    assert err.value.field == field
    message = str(err.value)
    assert says in message
    assert f"FEEDWATCH_{field.upper().replace('.', '_')}" in message  # where to fix it
    assert SECRET not in message


def test_a_ca_file_that_is_not_pem_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    cfg = KafkaSettings(security_protocol="SSL", ssl_cafile=str(bad))
    with pytest.raises(ConfigError, match="ssl_cafile"):
        kafka_python_options(cfg)


def test_a_config_without_security_settings_is_refused() -> None:
    class Bare:
        bootstrap = "b:9092"

    with pytest.raises(TypeError, match="no Kafka security settings"):
        security_of(Bare())  # type: ignore[arg-type]


def test_a_refused_login_is_explained() -> None:
    from aiokafka.errors import SaslAuthenticationFailed

    refused = SaslAuthenticationFailed("Authentication failed during authentication due to "
                                       "invalid credentials with SASL mechanism SCRAM-SHA-256")
    err = login_error(scram(), refused)
    assert isinstance(err, KafkaAuthError)
    text = str(err)
    assert "Kafka at 'b:9093' refused the login of 'fw' (SCRAM-SHA-256 over SASL_PLAINTEXT)" in text
    assert "invalid credentials" in text and "kafka.sasl_password" in text
    assert SECRET not in text


def test_tls_and_listener_mismatches_are_told_apart_from_outages(cafile: str) -> None:
    from aiokafka.errors import IllegalSaslStateError

    tls = scram(security_protocol="SASL_SSL", ssl_cafile=cafile)
    untrusted = ssl.SSLCertVerificationError("certificate verify failed: self-signed")
    assert "TLS with Kafka at 'b:9093' failed" in str(login_error(tls, untrusted))
    assert "does not take SASL SCRAM-SHA-256" in str(login_error(scram(), IllegalSaslStateError()))
    assert login_error(scram(), ConnectionRefusedError(111, "refused")) is None  # retried later


def test_bootstrap_lists_are_split_into_hosts() -> None:
    assert bootstrap_hosts("k1:9093, [::1]:9094,k3") == [("k1", 9093), ("::1", 9094), ("k3", 9092)]


def test_the_deployment_example_names_real_settings() -> None:
    from workers.config import known_env_vars

    example = Path(__file__).parents[4] / "docker" / "feedwatch.env.example"
    named = {line.lstrip("# ").split("=", 1)[0] for line in example.read_text().splitlines()
             if line.lstrip("# ").startswith("FEEDWATCH_KAFKA_")}
    assert "FEEDWATCH_KAFKA_SASL_PASSWORD_FILE" in named
    assert named <= known_env_vars()
