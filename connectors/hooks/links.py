"""Signed, expiring links: what a notification carries so a person opens the clip and
the snapshot of an incident without the API token.

A link is ``<public url><path>?exp=<epoch s>&sig=<HMAC-SHA256(key, path + exp)>``
(URL-safe base64, unpadded). Only the path and the expiry are signed, so a link
opens exactly one resource until it expires; a changed path, expiry or signature
is refused. Every API process that reads the same key accepts links any other
signed (the key: ``FEEDWATCH_LINK_KEY``, a key file, or one generated once and kept
in the store, see :func:`connectors.store.clips.link_key`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from urllib.parse import quote

from pipeline.errors import ConfigError

MIN_KEY_BYTES = 16


def clip_path(incident_id: str) -> str:
    return f"/links/incidents/{quote(incident_id, safe='')}/clip.mp4"


def snapshot_path(incident_id: str) -> str:
    return f"/links/incidents/{quote(incident_id, safe='')}/snapshot.jpg"


class LinkSigner:
    """Signs and checks links to API paths; ``ttl`` seconds of validity."""

    def __init__(self, key: bytes, public_url: str = "", ttl: float = 7 * 86400.0,
                 clock: Callable[[], float] = time.time) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError("link_key", "***", f"at least {MIN_KEY_BYTES} bytes")
        if not ttl > 0:
            raise ConfigError("clips.link_ttl_s", ttl, "must be > 0")
        self._key, self.public_url, self.ttl, self.clock = key, public_url.rstrip("/"), ttl, clock

    def url(self, path: str) -> str:
        """The public, signed URL of ``path`` (valid for ``ttl`` from now)."""
        exp = int(self.clock() + self.ttl)
        return f"{self.public_url}{path}?exp={exp}&sig={self._sign(path, exp)}"

    def valid(self, path: str, exp: str | int | None, sig: str | None) -> bool:
        """Whether ``sig`` signs ``path`` with ``exp`` and ``exp`` has not passed."""
        if isinstance(exp, str) and not (exp.isascii() and exp.isdigit()):
            return False  # int() would take "1_0", " +10 " and other scripts' digits
        when = int(exp) if exp is not None else -1
        if sig is None or when < self.clock():
            return False
        return hmac.compare_digest(self._sign(path, when).encode(), sig.encode("utf-8", "replace"))

    def _sign(self, path: str, exp: int) -> str:
        mac = hmac.new(self._key, f"{path}\n{exp}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
