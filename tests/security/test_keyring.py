"""The master keyring (security/keyring.py) and the masking of secrets (security/tokens.py)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from ragprism.security.keyring import Keyring, KeyringError, read_key_file, write_key_file
from ragprism.security.tokens import mask_secret

SECRET = "sk-lf-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"  # Langfuse's shape, 42 characters


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_file_is_created_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "master.key"
    keyring = Keyring(key_file=path)
    assert keyring.uses_key_file
    assert mode(path) == 0o600
    [key] = read_key_file(path)
    Fernet(key)  # a valid key
    write_key_file(path, [Fernet.generate_key().decode(), key])
    assert mode(path) == 0o600
    assert not path.with_name(path.name + ".tmp").exists()


def test_existing_key_file_is_used_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    key = Fernet.generate_key()
    write_key_file(path, [key.decode()])
    ciphertext = Keyring(key_file=path).encrypt("hello")
    assert Fernet(key).decrypt(ciphertext.encode()) == b"hello"
    assert read_key_file(path) == [key.decode()]


@pytest.mark.parametrize("plaintext", ["", SECRET, "ünïcødé 🔑", "x" * 10_000])
def test_encrypt_decrypt_round_trip(tmp_path: Path, plaintext: str) -> None:
    keyring = Keyring(key_file=tmp_path / "master.key")
    ciphertext = keyring.encrypt(plaintext)
    assert plaintext == "" or plaintext not in ciphertext
    assert keyring.encrypt(plaintext) != ciphertext  # a fresh IV every time
    assert keyring.decrypt(ciphertext) == plaintext
    assert keyring.is_current(ciphertext)


def test_env_keys_newest_first_encrypt_with_first_decrypt_with_all() -> None:
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    under_old = Keyring(old).encrypt(SECRET)
    keyring = Keyring(f"{new}, {old}")
    assert not keyring.uses_key_file
    assert keyring.key_file is None
    assert keyring.decrypt(under_old) == SECRET
    assert not keyring.is_current(under_old)
    rotated = keyring.rotate_token(under_old)
    assert keyring.is_current(rotated)
    assert Fernet(new).decrypt(rotated.encode()).decode() == SECRET
    assert Fernet(new).decrypt(keyring.encrypt("x").encode()) == b"x"


def test_another_process_picks_up_a_rotated_key_file(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    writer, reader = Keyring(key_file=path), Keyring(key_file=path)
    before = path.stat()
    under_old = writer.encrypt(SECRET)

    new_key = Fernet.generate_key().decode()
    write_key_file(path, [new_key, *read_key_file(path)])
    # As on a file system with a coarse clock: the rewrite keeps the old modification time.
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    under_new = Keyring(key_file=path).encrypt(SECRET)

    assert reader.decrypt(under_new) == SECRET
    assert reader.decrypt(under_old) == SECRET
    assert Fernet(new_key).decrypt(reader.encrypt("fresh").encode()) == b"fresh"
    assert reader.is_current(under_new)


def test_secret_under_an_unknown_key_is_a_keyring_error(tmp_path: Path) -> None:
    foreign = Keyring(Fernet.generate_key().decode()).encrypt(SECRET)
    keyring = Keyring(key_file=tmp_path / "master.key")
    with pytest.raises(KeyringError, match="cannot be decrypted"):
        keyring.decrypt(foreign)
    with pytest.raises(KeyringError, match="cannot be decrypted"):
        keyring.rotate_token(foreign)
    with pytest.raises(KeyringError, match="cannot be decrypted"):
        keyring.decrypt("not a fernet token")


@pytest.mark.parametrize(
    "env_keys",
    ["not-a-key", "c2hvcnQ=", f"{Fernet.generate_key().decode()},also-bad"],
    ids=["not-base64", "too-short", "second-key-bad"],
)
def test_malformed_env_key_is_named(env_keys: str) -> None:
    with pytest.raises(KeyringError, match=r"RAGPRISM_MASTER_KEY holds a malformed key") as info:
        Keyring(env_keys)
    assert "32 bytes" in str(info.value)
    assert env_keys.split(",")[-1] not in str(info.value)  # never echo key material


def test_malformed_key_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_text("garbage\n")
    with pytest.raises(KeyringError, match="malformed key") as info:
        Keyring(key_file=path)
    assert str(path) in str(info.value)
    path.write_text("\n  \n")
    with pytest.raises(KeyringError, match="holds no key"):
        Keyring(key_file=path)


def test_no_key_at_all_is_a_keyring_error() -> None:
    with pytest.raises(KeyringError, match="RAGPRISM_MASTER_KEY"):
        Keyring("", None)


def test_mask_of_a_langfuse_secret_shows_first_8_and_last_4() -> None:
    assert len(SECRET) == 42
    assert mask_secret(SECRET) == "sk-lf-0f…e1f0"


@pytest.mark.parametrize("length", range(61))
def test_mask_never_reveals_more_than_a_third(length: int) -> None:
    secret = "".join(chr(ord("a") + i % 26) for i in range(length))
    masked = mask_secret(secret)
    head, ellipsis, tail = masked.partition("…")
    assert ellipsis, masked
    assert secret.startswith(head)
    assert secret.endswith(tail)
    assert len(head) <= 8
    assert len(tail) <= 4
    assert len(head) + len(tail) <= length // 3
    if length >= 36:
        assert (len(head), len(tail)) == (8, 4)
