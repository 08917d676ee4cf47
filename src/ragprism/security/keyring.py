"""Encryption of stored secrets under a rotatable master key (Fernet, from ``cryptography``).

Keys come from ``RAGPRISM_MASTER_KEY`` (comma-separated, newest first) or from a key file
(one key a line, newest first) created with mode 0600 on first use. The newest key
encrypts; every listed key decrypts, so ``ragprism keys rotate`` can add a key, re-encrypt
rows and leave readers working throughout. A process notices a rotated key file by its
modification time, inode and size, and reloads it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class KeyringError(Exception):
    """The master key is missing, malformed, or cannot decrypt a stored value."""


def _parse_keys(text: str, origin: str) -> list[Fernet]:
    keys = [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]
    if not keys:
        raise KeyringError(f"{origin} holds no key")
    try:
        return [Fernet(key) for key in keys]
    except ValueError as exc:
        raise KeyringError(
            f"{origin} holds a malformed key (expected url-safe base64 of 32 bytes)"
        ) from exc


def write_key_file(path: Path, keys: list[str]) -> None:
    """Atomically write ``keys`` (newest first) to ``path`` with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(keys) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _stamp(path: Path) -> tuple[int, int, int]:
    # Not the mtime alone: with a coarse file-system clock, a rewrite within the same tick
    # keeps it. write_key_file replaces the file, so the inode changes on every rewrite.
    info = path.stat()
    return info.st_mtime_ns, info.st_ino, info.st_size


def read_key_file(path: Path) -> list[str]:
    """The keys in ``path``, newest first."""
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


class Keyring:
    """Encrypts with the newest master key, decrypts with any."""

    def __init__(self, env_keys: str = "", key_file: Path | None = None) -> None:
        if not env_keys and key_file is None:
            raise KeyringError("no master key: set RAGPRISM_MASTER_KEY or a key file")
        self._env_keys = env_keys
        self._key_file = key_file
        self._lock = threading.Lock()
        self._file_stamp: tuple[int, int, int] | None = None
        # Whether this keyring made the key file (none existed): see check_secrets_readable.
        self.created_key_file = False
        self._primary, self._fernet = self._load()

    @property
    def uses_key_file(self) -> bool:
        return not self._env_keys

    @property
    def key_file(self) -> Path | None:
        return None if self._env_keys else self._key_file

    def _load(self) -> tuple[Fernet, MultiFernet]:
        if self._env_keys:
            keys = _parse_keys(self._env_keys, "RAGPRISM_MASTER_KEY")
        else:
            assert self._key_file is not None
            if not self._key_file.exists():
                write_key_file(self._key_file, [Fernet.generate_key().decode()])
                self.created_key_file = True
            self._file_stamp = _stamp(self._key_file)
            keys = _parse_keys(self._key_file.read_text(), f"key file {self._key_file}")
        return keys[0], MultiFernet(keys)

    def _refresh_if_changed(self) -> bool:
        if self._env_keys or self._key_file is None:
            return False
        try:
            stamp = _stamp(self._key_file)
        except FileNotFoundError:
            return False
        if stamp == self._file_stamp:
            return False
        with self._lock:
            self._primary, self._fernet = self._load()
        return True

    def encrypt(self, plaintext: str) -> str:
        """A Fernet token of ``plaintext`` under the newest key."""
        self._refresh_if_changed()
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The plaintext of ``token``; reloads the key file once if no key fits."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            if self._refresh_if_changed():
                return self.decrypt(token)
            raise KeyringError("a stored secret cannot be decrypted with the master key") from None

    def can_decrypt(self, token: str) -> bool:
        """Whether ``token`` decrypts with any key (never raises)."""
        try:
            self.decrypt(token)
        except KeyringError:
            return False
        return True

    def rotate_token(self, token: str) -> str:
        """``token`` re-encrypted under the newest key."""
        self._refresh_if_changed()
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise KeyringError("a stored secret cannot be decrypted with the master key") from None

    def is_current(self, token: str) -> bool:
        """Whether ``token`` is encrypted under the newest key."""
        try:
            self._primary.decrypt(token.encode())
        except InvalidToken:
            return False
        return True
