"""Target safety: only http(s); private, loopback, link-local refused unless allowed."""

from __future__ import annotations

import pytest

from connectors.hooks.base import UnsafeTargetError
from connectors.hooks.safety import check_target


def resolver(table):
    calls = []

    def resolve(host, port):
        calls.append((host, port))
        return table[host]

    resolve.calls = calls
    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://a",
        "example.com/hook",
        "http:///nohost",
        "http://host:99999/",
    ],
)
def test_only_http_and_https(url):
    with pytest.raises(UnsafeTargetError):
        check_target(url, allow_private=True, resolve=resolver({}))


@pytest.mark.parametrize(
    "addr",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "fc00::5",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "100.64.0.1",
    ],
)
def test_private_addresses_refused_by_default(addr):
    with pytest.raises(UnsafeTargetError, match="ALLOW_PRIVATE"):
        check_target(
            "https://hooks.example/x",
            allow_private=False,
            resolve=resolver({"hooks.example": [addr]}),
        )


def test_every_resolved_address_is_checked():
    resolve = resolver({"mixed.example": ["93.184.216.34", "10.0.0.1"]})
    with pytest.raises(UnsafeTargetError, match="private or local address"):
        check_target("https://mixed.example/h", allow_private=False, resolve=resolve)
    assert resolve.calls == [("mixed.example", 443)]


def test_a_refusal_does_not_say_what_the_host_resolves_to():
    resolve = resolver({"intranet.example": ["10.20.30.40"], "db.example": ["127.0.0.53"]})
    for url in ("https://intranet.example/h", "http://db.example:5432/"):
        with pytest.raises(UnsafeTargetError) as refused:
            check_target(url, allow_private=False, resolve=resolve)
        message = str(refused.value)
        assert "refused: private or local address" in message
        for told in ("10.20.30.40", "127.0.0.53", "loopback", "(private", "resolves"):
            assert told not in message


def test_literal_addresses_are_checked_without_dns():
    resolve = resolver({})
    for url in ("http://127.0.0.1:8080/h", "http://[fe80::1]/h"):
        with pytest.raises(UnsafeTargetError, match="private or local address"):
            check_target(url, allow_private=False, resolve=resolve)
    assert resolve.calls == []


def test_public_and_allowed_private_pass():
    resolve = resolver({"hooks.example": ["93.184.216.34"], "intranet": ["10.0.0.7"]})
    assert check_target("https://hooks.example/x", allow_private=False, resolve=resolve) == [
        "93.184.216.34"
    ]
    assert check_target("http://intranet:81/x", allow_private=True, resolve=resolve) == ["10.0.0.7"]
    assert resolve.calls[-1] == ("intranet", 81)


def test_unresolvable_host_is_an_oserror():
    def fail(host, port):
        raise OSError("Name or service not known")

    with pytest.raises(OSError):
        check_target("https://nowhere.invalid/", allow_private=False, resolve=fail)


@pytest.mark.parametrize("url", ["http://a..b/", "http://" + "x" * 64 + ".example/"])
def test_a_host_name_with_an_empty_or_long_label_is_an_oserror_not_a_crash(url):
    with pytest.raises(OSError, match="not a valid host name"):
        check_target(url, allow_private=False)
