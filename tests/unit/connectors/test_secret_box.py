"""The secret box: sealed values round-trip, are not the plaintext, open under any
configured key and seal under the first; bad keys and wrong keys are refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.store.secret_box import PREFIX, SecretBox, new_key, seal, unseal
from pipeline.errors import ConfigError


def box(*keys: str) -> SecretBox:
    return SecretBox([k.encode() for k in keys])


def test_a_sealed_value_round_trips_and_is_not_the_plaintext() -> None:
    b = box(new_key())
    sealed = b.seal("hmac-key-é")
    assert sealed.startswith(PREFIX) and "hmac-key" not in sealed
    assert b.open(sealed) == "hmac-key-é"
    assert b.seal("same") != b.seal("same")  # a fresh IV each time


def test_legacy_plaintext_is_recognised_and_read_as_it_is() -> None:
    assert box(new_key()).open("old-plain") == "old-plain"
    assert unseal(None, "old-plain", "hook") == "old-plain"


def test_old_keys_open_and_the_first_key_seals() -> None:
    old, new = new_key(), new_key()
    sealed_old = box(old).seal("s")
    rotated = box(new, old)
    assert rotated.open(sealed_old) == "s"
    resealed = rotated.reseal(sealed_old)
    assert box(new).open(resealed) == "s"
    with pytest.raises(ConfigError, match="FEEDWATCH_SECRETS_KEY"):
        box(old).open(resealed)  # sealed under the new key only
    assert rotated.census([sealed_old, resealed, "plain", box(new_key()).seal("x")]) == {
        "stored": 4, "by_key": [1, 1], "plaintext": 1, "unreadable": 1}


def test_a_tampered_value_is_refused_not_misread() -> None:
    b = box(new_key())
    sealed = b.seal("hunter2")
    tampered = sealed[:-6] + ("AAAAAA" if sealed[-6:] != "AAAAAA" else "BBBBBB")
    with pytest.raises(ConfigError, match="sealed under one of the configured keys") as err:
        b.open(tampered, "hooks.h1.secret")
    assert "hunter2" not in str(err.value) and "hooks.h1.secret" in str(err.value)


def test_keys_from_the_setting_and_a_file(tmp_path: Path) -> None:
    a, b = new_key(), new_key()
    path = tmp_path / "keys"
    path.write_text(f"# newest first\n{b}\n\n{a}  # the old one\n")
    made = SecretBox.from_config(key_file=str(path))
    assert made is not None and made.key_count == 2
    assert box(b).open(made.seal("x")) == "x"
    listed = SecretBox.from_config(f"{a}, {b}")
    assert listed is not None and listed.key_count == 2
    assert SecretBox.from_config("", "") is None
    env = SecretBox.from_env({"FEEDWATCH_SECRETS_KEY": a})
    assert env is not None and env.open(box(a).seal("y")) == "y"


def test_bad_keys_and_no_key_are_config_errors_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"secrets_key\[0\].*Fernet key"):
        SecretBox.from_config("not-a-key")
    with pytest.raises(ConfigError, match="secrets_key_file"):
        SecretBox.from_config(key_file=str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="FEEDWATCH_SECRETS_KEY") as err:
        seal(None, "hmac", "hook.secret")
    assert "hmac" not in str(err.value)
    assert seal(None, "", "hook.secret") is None  # nothing to seal: no key needed
    with pytest.raises(ConfigError, match="FEEDWATCH_SECRETS_KEY"):
        unseal(None, box(new_key()).seal("s"), "hook.secret")
