"""Tenants' trace destinations read from ``tenant_langfuse`` for the tracing engine.

One query per refresh. Secrets are decrypted only when a row's ciphertext changed since
the previous refresh, so refreshing every few seconds stays cheap with many tenants.
"""

from __future__ import annotations

import logging
from typing import Any

from ragprism.db import Database
from ragprism.repositories import langfuse as repo
from ragprism.security.keyring import Keyring, KeyringError
from ragprism.tracing import Capture, Destination

log = logging.getLogger(__name__)


def _options(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else {}


class DatabaseDestinations:
    """A ``DestinationSource`` over the ``tenant_langfuse`` table."""

    def __init__(self, db: Database, keyring: Keyring) -> None:
        self._db = db
        self._keyring = keyring
        self._secrets: dict[str, tuple[str, str]] = {}  # tenant → (ciphertext, plaintext)
        # Ciphertexts already reported as undecryptable: logged once, not at every reload.
        self._reported: set[str] = set()

    def load(self) -> dict[str, Destination]:
        with self._db.session() as session:
            rows = repo.list_all(session)
            records = [
                (
                    row.tenant_id,
                    row.host,
                    row.public_key,
                    row.secret_key_enc,
                    row.project_id,
                    _options(row.options),
                    row.version,
                )
                for row in rows
            ]
        destinations: dict[str, Destination] = {}
        secrets: dict[str, tuple[str, str]] = {}
        for tenant_id, host, public_key, secret_enc, project_id, options, version in records:
            cached = self._secrets.get(tenant_id)
            usable = True
            if cached is not None and cached[0] == secret_enc:
                secret = cached[1]
            else:
                try:
                    secret = self._keyring.decrypt(secret_enc)
                except KeyringError:
                    if secret_enc not in self._reported:
                        self._reported.add(secret_enc)
                        log.error("the Langfuse secret of tenant %s cannot be decrypted", tenant_id)
                    if cached is None:
                        # Still configured: listed, but disabled, so that the engine keeps
                        # its spooled batches (they go only when the row is deleted).
                        usable, secret = False, ""
                    else:
                        secret = cached[1]  # keep exporting with the last good secret
            if usable:
                secrets[tenant_id] = (secret_enc, secret)
            capture: Capture = "metadata" if options.get("capture") == "metadata" else "full"
            destinations[tenant_id] = Destination(
                tenant_id=tenant_id,
                host=host,
                public_key=public_key,
                secret_key=secret,
                project_id=project_id,
                enabled=usable and bool(options.get("enabled", True)),
                sample_rate=float(options.get("sample_rate", 1.0)),
                capture=capture,
                redact=tuple(str(name) for name in options.get("redact") or ()),
                environment=options.get("environment") or None,
                version=int(version or 0),
            )
        # A row whose secret cannot be decrypted is listed (disabled, or with its last good
        # secret), never left out: the engine discards a tenant's spool only when its row
        # is gone, so even a wrong master key for every row loses nothing.
        self._secrets = secrets
        return destinations
