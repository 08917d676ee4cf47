"""Master key rotation: re-encrypt every stored secret under a new key, online.

The new key is put first in the key file (or, with ``RAGPRISM_MASTER_KEY``, by the
operator in that variable) while old keys stay as decrypt-only, so running servers keep
reading old and new ciphertexts throughout. ``prune`` drops the old keys afterwards,
refusing while any stored secret still needs one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from ragprism.db import Database
from ragprism.errors import OperatingError
from ragprism.models import TenantLangfuse, TenantLlm
from ragprism.security.keyring import Keyring, KeyringError, read_key_file, write_key_file
from ragprism.settings import Settings

# Every encrypted column: (model, primary key attribute, ciphertext attribute).
ENCRYPTED_COLUMNS = (
    (TenantLangfuse, "tenant_id", "secret_key_enc"),
    (TenantLlm, "id", "api_key_enc"),
)


@dataclass(frozen=True)
class RotationReport:
    rotated: int
    current: int
    key_file: Path | None


def _ciphertexts(database: Database) -> list[tuple[type, str, str, str, str]]:
    rows: list[tuple[type, str, str, str, str]] = []
    with database.session() as session:
        for model, pk, column in ENCRYPTED_COLUMNS:
            for key, value in session.execute(
                select(getattr(model, pk), getattr(model, column))
            ).all():
                if value is not None:  # keyless providers store no ciphertext
                    rows.append((model, pk, column, key, value))
    return rows


def rotate(settings: Settings, database: Database, new_key: str | None = None) -> RotationReport:
    """Make a new key the encrypting one and re-encrypt every stored secret under it."""
    if settings.master_key:
        first = settings.master_key.split(",")[0].strip()
        if new_key is None or new_key.strip() != first:
            raise OperatingError(
                "RAGPRISM_MASTER_KEY is set: put the new key first in it (old keys after a "
                "comma), restart the servers, then run `ragprism keys rotate --new-key NEW`."
            )
        keyring = Keyring(settings.master_key)
        key_file = None
    else:
        key_file = settings.resolved_key_file
        old = read_key_file(key_file) if key_file.exists() else []
        if new_key is not None:
            try:
                Fernet(new_key.strip())
            except ValueError:
                raise KeyringError("--new-key is not a valid Fernet key") from None
        fresh = (new_key or Fernet.generate_key().decode()).strip()
        write_key_file(key_file, [fresh, *[k for k in old if k != fresh]])
        keyring = Keyring(key_file=key_file)
    rotated = current = 0
    for model, pk, column, key, value in _ciphertexts(database):
        if keyring.is_current(value):
            current += 1
            continue
        with database.session() as session:
            # Compare-and-set: a secret rewritten meanwhile is already under the new key.
            session.execute(
                update(model)
                .where(getattr(model, pk) == key, getattr(model, column) == value)
                .values({column: keyring.rotate_token(value)})
                .execution_options(synchronize_session=False)
            )
        rotated += 1
    return RotationReport(rotated, current, key_file)


def prune(settings: Settings, database: Database) -> int:
    """Drop retired keys from the key file; refuses while a secret still needs one."""
    if settings.master_key:
        raise OperatingError("RAGPRISM_MASTER_KEY is set: remove old keys from it yourself.")
    key_file = settings.resolved_key_file
    keys = read_key_file(key_file)
    keyring = Keyring(key_file=key_file)
    stale = sum(1 for *_, value in _ciphertexts(database) if not keyring.is_current(value))
    if stale:
        raise OperatingError(
            f"{stale} stored secret(s) still use a retired key: run `ragprism keys rotate` first."
        )
    write_key_file(key_file, keys[:1])
    return len(keys) - 1


def unreadable_secrets(database: Database, keyring: Keyring) -> tuple[int, int]:
    """(stored secrets the keyring cannot decrypt, stored secrets)."""
    try:
        rows = _ciphertexts(database)
    except SQLAlchemyError:  # not migrated yet: no secrets either
        return 0, 0
    unreadable = sum(1 for *_, value in rows if not keyring.can_decrypt(value))
    return unreadable, len(rows)


class SecretsCheck:
    """Whether the master key reads every stored secret, for the health checks.

    A server started with ``RAGPRISM_ACCEPT_LOST_SECRETS`` runs with secrets it cannot
    read until tenants enter them again; health must say so rather than claim all is
    well. Counting decrypts every stored secret, so the count is kept ``ttl`` seconds.
    """

    def __init__(self, database: Database, keyring: Keyring, ttl: float = 30.0) -> None:
        self._database = database
        self._keyring = keyring
        self._ttl = ttl
        self._lock = threading.Lock()
        self._checked_at: float | None = None
        self._problem: str | None = None

    def problem(self) -> str | None:
        """None when every stored secret can be decrypted, else what is wrong."""
        with self._lock:
            now = time.monotonic()
            if self._checked_at is None or now - self._checked_at >= self._ttl:
                unreadable, total = unreadable_secrets(self._database, self._keyring)
                self._problem = (
                    f"{unreadable} of {total} stored secrets cannot be decrypted with the "
                    "master key: tenants must enter them again"
                    if unreadable
                    else None
                )
                self._checked_at = now
            return self._problem


def check_secrets_readable(database: Database, keyring: Keyring) -> None:
    """Refuse to run with a master key that cannot read the stored secrets.

    A lost key file would otherwise be replaced by a new key silently: traces stop, models
    fail, and status still says all is well. The key file this process just created, if
    any, is removed again so that restoring the old one is a plain copy.
    """
    unreadable, total = unreadable_secrets(database, keyring)
    if not unreadable:
        return
    where = f"the key file {keyring.key_file}" if keyring.key_file else "RAGPRISM_MASTER_KEY"
    created = ""
    if keyring.created_key_file and keyring.key_file is not None:
        keyring.key_file.unlink(missing_ok=True)
        created = " (the key file was missing; no new one was kept)"
    raise KeyringError(
        f"{unreadable} of {total} stored secrets cannot be decrypted with {where}{created}. "
        "Restore the master key (RAGPRISM_MASTER_KEY or RAGPRISM_MASTER_KEY_FILE), or start "
        "with RAGPRISM_ACCEPT_LOST_SECRETS=true to run anyway: tenants must then enter "
        "their Langfuse and model provider keys again."
    )
