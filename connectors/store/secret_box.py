"""Secrets at rest: hook secrets and the stored link-signing key, sealed with Fernet.

A stored secret is ``fwenc1:<Fernet token>`` (:data:`PREFIX`, the format's version);
a value without the prefix is a legacy plaintext row, recognised as such, read as it
is and sealed by migration 0008 or ``feedwatch secrets rotate``. Fernet is AES-128-CBC
with an HMAC-SHA256 over the token (``cryptography``), so a value that was tampered
with, or sealed under a key the process does not hold, is refused, never misread.

Keys: ``FEEDWATCH_SECRETS_KEY`` (one or more Fernet keys, comma-separated) or
``FEEDWATCH_SECRETS_KEY_FILE`` (one key a line; ``#`` comments). The FIRST key seals;
every key opens (:class:`~cryptography.fernet.MultiFernet`), so a rotation puts the new
key first, keeps the old one after it until ``feedwatch secrets rotate`` has resealed
every row, then drops it (docs/operations.md). Without any key, nothing secret is
stored: :func:`seal` refuses with an error naming the setting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from pipeline.errors import ConfigError

PREFIX = "fwenc1:"
KEY_ENV = "FEEDWATCH_SECRETS_KEY"
KEY_FILE_ENV = "FEEDWATCH_SECRETS_KEY_FILE"
KEY_HELP = (f"set {KEY_ENV} or {KEY_FILE_ENV} (`feedwatch secrets new-key` prints a key) "
            "for the API, alerts and run processes")
KEY_FORMAT = "a Fernet key: 32 url-safe base64-encoded bytes (`feedwatch secrets new-key`)"


def new_key() -> str:
    """A fresh random key, as text for the environment or a key file."""
    return Fernet.generate_key().decode()


def is_sealed(stored: str | None) -> bool:
    return bool(stored) and str(stored).startswith(PREFIX)


class SecretBox:
    """Seals with the first key, opens with any of them."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ConfigError("secrets_key", "", KEY_HELP)
        self._fernets = [_fernet(k, i) for i, k in enumerate(keys)]
        self._multi = MultiFernet(self._fernets)

    @classmethod
    def from_config(cls, keys: str = "", key_file: str = "") -> SecretBox | None:
        """The box of the configured keys (``keys`` first, then the file's); None when
        neither is set."""
        found = [k.strip() for k in keys.split(",") if k.strip()]
        if key_file:
            found += _file_keys(key_file)
        return cls([k.encode() for k in found]) if found else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SecretBox | None:
        """The box from :data:`KEY_ENV` / :data:`KEY_FILE_ENV` (what the migration reads:
        it runs below the settings, from whichever process upgrades the store)."""
        env = os.environ if environ is None else environ
        return cls.from_config(env.get(KEY_ENV, ""), env.get(KEY_FILE_ENV, ""))

    @property
    def key_count(self) -> int:
        return len(self._fernets)

    def seal(self, plain: str) -> str:
        return PREFIX + self._fernets[0].encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, stored: str, what: str = "secret") -> str:
        """The plaintext of ``stored`` (a legacy plaintext value comes back as it is)."""
        if not is_sealed(stored):
            return stored
        try:
            return self._multi.decrypt(stored[len(PREFIX):].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise ConfigError(what, "***", "a value sealed under one of the configured keys "
                              f"({KEY_ENV}: keep the old key after the new one until "
                              "`feedwatch secrets rotate` has run)") from None

    def census(self, stored: Sequence[str]) -> dict[str, object]:
        """Which key opens each value (the first that does), how many are plaintext and
        how many no configured key opens: whether an old key can be dropped yet."""
        by_key, plain, unreadable = [0] * len(self._fernets), 0, 0
        for value in stored:
            if not is_sealed(value):
                plain += 1
                continue
            token = value[len(PREFIX):].encode("ascii")
            index = next((i for i, f in enumerate(self._fernets) if _opens(f, token)), None)
            if index is None:
                unreadable += 1
            else:
                by_key[index] += 1
        return {"stored": len(stored), "by_key": by_key, "plaintext": plain,
                "unreadable": unreadable}

    def reseal(self, stored: str, what: str = "secret") -> str:
        """``stored`` sealed under the first key (plaintext is sealed; sealed values are
        opened with any key)."""
        return self.seal(self.open(stored, what))


def seal(box: SecretBox | None, plain: str | None, what: str) -> str | None:
    """``plain`` sealed for the store; refused without a key (nothing secret is ever
    written in clear)."""
    if not plain:
        return None
    if box is None:
        raise ConfigError(what, "***", f"a secrets key to store it encrypted: {KEY_HELP}")
    try:
        return box.seal(plain)
    except UnicodeEncodeError:  # a lone surrogate half (JSON "\ud800"): no UTF-8 for it
        raise ConfigError(what, "***", "text that is valid Unicode (no lone surrogate "
                          "halves)") from None


def unseal(box: SecretBox | None, stored: str | None, what: str) -> str | None:
    """The plaintext of a stored value; a sealed one needs a key."""
    if not stored:
        return None
    if box is None:
        if is_sealed(stored):
            raise ConfigError(what, "***", f"the secrets key it was sealed with: {KEY_HELP}")
        return stored
    return box.open(stored, what)


def _fernet(key: bytes, index: int) -> Fernet:
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        raise ConfigError(f"secrets_key[{index}]", "***", KEY_FORMAT) from None


def _file_keys(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise ConfigError("secrets_key_file", path, f"a readable key file ({exc})") from None
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def _opens(fernet: Fernet, token: bytes) -> bool:
    try:
        fernet.decrypt(token)
    except InvalidToken:
        return False
    return True
