"""Hook target safety: only http(s), and no private, loopback or link-local hosts.

A webhook URL is user input that makes the server issue requests, so by default it
may not reach the deployment's own network (SSRF). The host is resolved and EVERY
address it resolves to is checked; an IPv4-mapped IPv6 address is checked as IPv4.
A refusal says only that (:data:`REFUSED`), never what the host resolved to.
Private targets are allowed only with ``FEEDWATCH_HOOKS_ALLOW_PRIVATE=1`` (or
``--hook-allow-private`` on ``feedwatch run``). Redirects are never followed by the
sender, so a public URL cannot bounce a request inward.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

from connectors.hooks.base import UnsafeTargetError, redact_url

log = logging.getLogger(__name__)
Resolver = Callable[[str, int], list[str]]
REFUSED = (
    "private or local address; set FEEDWATCH_HOOKS_ALLOW_PRIVATE=1 "
    "(or --hook-allow-private) to allow private targets"
)
"""What a refused address is told as: never the address, nor what kind it is, so the
check cannot be used to map what the deployment's host names resolve to."""
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (raises ``OSError`` when it does not)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:  # an empty or over-long label ("a..b") never resolves
        raise OSError(f"{host!r} is not a valid host name ({exc})") from exc
    return sorted({str(info[4][0]) for info in infos})


def refused_reason(ip: IpAddress) -> str | None:
    """Why an address is not a public target, or ``None`` when it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for name in ("loopback", "link_local", "private", "multicast", "reserved", "unspecified"):
        if getattr(ip, f"is_{name}"):
            return name.replace("_", "-")
    if not ip.is_global:
        return "not globally routable"
    return None


def split_target(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL; anything else is refused."""
    bad = next((ch for ch in url if ord(ch) <= 32 or ord(ch) == 127), None)
    if bad is not None:  # a CR/LF would split the request line into headers of its own
        raise UnsafeTargetError(redact_url(url[: url.index(bad)]) + "…",
                                f"a URL has no spaces or control characters (U+{ord(bad):04X} "
                                f"at position {url.index(bad)}; percent-encode it)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTargetError(redact_url(url), f"not a valid URL ({exc})") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeTargetError(redact_url(url), "only http and https URLs are allowed")
    if not parts.hostname:
        raise UnsafeTargetError(redact_url(url), "the URL has no host")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def check_target(
    url: str, *, allow_private: bool, resolve: Resolver = system_resolver
) -> list[str]:
    """Validate ``url``; returns the checked addresses.

    Raises :class:`UnsafeTargetError` for a bad scheme or a refused address, and
    ``OSError`` when the host does not resolve (a temporary condition for a sender).
    """
    host, port = split_target(url)
    addresses = _literal(host) or resolve(host, port)
    if not addresses:
        raise OSError(f"{host!r} resolved to no address")
    if allow_private:
        return addresses
    for addr in addresses:
        reason = refused_reason(ipaddress.ip_address(addr.split("%", 1)[0]))
        if reason is not None:
            log.debug("hook host %s refused: it resolves to %s (%s)", host, addr, reason)
            raise UnsafeTargetError(redact_url(url), REFUSED)
    return addresses


def _literal(host: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        return []
