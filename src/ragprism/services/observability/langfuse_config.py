"""A tenant's Langfuse configuration: validate, store encrypted, show masked (SPEC §3)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator
from sqlalchemy import event, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ragprism.db import Database, utcnow
from ragprism.errors import DataError, InvalidArgument, RagprismError, UpstreamUnavailable
from ragprism.models import TenantLangfuse
from ragprism.repositories import langfuse as repo
from ragprism.security.host_policy import HostPolicy, HostRefused, normalise_host
from ragprism.security.keyring import Keyring, KeyringError
from ragprism.security.tokens import mask_secret
from ragprism.services.accounts import audit
from ragprism.services.accounts.accounts import Principal
from ragprism.services.observability.langfuse_validation import (
    InvalidLangfuseKeys,
    LangfuseCredentials,
    LangfuseProject,
    NotLangfuse,
    validate_credentials,
)
from ragprism.services.tenant_slots import TenantSlots
from ragprism.tracing import ExportStatsRegistry
from ragprism.tracing.redaction import REDACTORS, validate_redactors

log = logging.getLogger(__name__)

NO_RECORD = "Have not record any Langfuse keys."
_ENVIRONMENT = re.compile(r"^(?!langfuse)[a-z0-9_-]{1,40}$")
MAX_KEY_LENGTH = 255
UNDECRYPTABLE = (
    "The stored secret key cannot be decrypted with the server's master key (was it lost?): "
    "no trace is sent. Enter the keys again."
)


class LangfuseOptions(BaseModel):
    """Tracing options of a tenant, ragprism's extensions to RAGFlow's API."""

    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool = True
    sample_rate: float = Field(default=1.0, ge=0.0, le=1.0, allow_inf_nan=False)
    capture: Literal["full", "metadata"] = "full"
    redact: list[str] = Field(default_factory=list, max_length=2 * len(REDACTORS))
    environment: str | None = None

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not _ENVIRONMENT.match(value):
            raise ValueError(
                "must be 1-40 lowercase letters, digits, '-' or '_' and not start with 'langfuse'"
            )
        return value

    @field_validator("redact")
    @classmethod
    def _known_redactors(cls, value: list[str]) -> list[str]:
        validate_redactors(value)  # the tracing engine's list: raises naming an unknown one
        return list(dict.fromkeys(value))


class LangfuseConfigIn(BaseModel):
    """Body of POST/PUT: RAGFlow's three keys plus the optional options of SPEC §3."""

    model_config = ConfigDict(extra="ignore")

    secret_key: str | None = None
    public_key: str | None = None
    host: str | None = None
    enabled: StrictBool | None = None
    sample_rate: float | None = Field(default=None, allow_inf_nan=False)
    capture: str | None = None
    redact: list[str] | None = None
    environment: str | None = None


@dataclass
class Revalidator:
    """Re-checks stored credentials in the background, at most once per interval per tenant."""

    db: Database
    service: LangfuseConfigService
    interval: timedelta
    _pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="langfuse-revalidate")
    )
    _in_flight: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def maybe_schedule(self, row: TenantLangfuse) -> bool:
        """Queue a re-check of ``row`` if it is due; never waits. Returns whether queued."""
        last = row.validated_at
        if last is not None and utcnow() - last < self.interval:
            return False
        with self._lock:
            if row.tenant_id in self._in_flight:
                return False
            self._in_flight.add(row.tenant_id)
        try:
            self._pool.submit(self._run, row.tenant_id)
        except RuntimeError:  # shutting down
            with self._lock:
                self._in_flight.discard(row.tenant_id)
            return False
        return True

    def _run(self, tenant_id: str) -> None:
        try:
            self.service.revalidate(self.db, tenant_id)
        except Exception:
            log.exception("background re-validation of tenant %s failed", tenant_id)
        finally:
            with self._lock:
                self._in_flight.discard(tenant_id)

    def shutdown(self) -> None:
        """Drop queued checks and wait for running ones (each bounded by the timeout)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _outcome(exc: RagprismError) -> str:
    if isinstance(exc, InvalidLangfuseKeys):
        return "invalid_keys"
    if isinstance(exc, UpstreamUnavailable):
        return "unreachable"
    if isinstance(exc, NotLangfuse):
        return "not_langfuse"
    if isinstance(exc, InvalidArgument):
        return "refused"
    return "error"


@dataclass
class LangfuseConfigService:
    """Reads and writes tenants' Langfuse configuration."""

    keyring: Keyring
    policy: HostPolicy
    default_host: str
    timeout: float
    stats: ExportStatsRegistry
    # Whether a non-loopback ``http://`` host is accepted (its secret would cross in clear).
    allow_http: bool = False
    # Concurrent credential checks per tenant: a hanging host must not hold every thread.
    validation_slots: TenantSlots = field(
        default_factory=lambda: TenantSlots(0, "Langfuse key validations")
    )
    revalidator: Revalidator | None = None
    # The tracing engine's hooks, passed in so this service needs no OpenTelemetry:
    # ``on_change(tenant_id)`` once a write is committed, so tracing follows at once;
    # ``exporter_status(tenant_id)`` for the exporter figures of ``status``.
    on_change: Callable[[str], None] | None = None
    exporter_status: Callable[[str], dict[str, Any]] | None = None

    # -- writing --------------------------------------------------------------------------
    def upsert(
        self, session: Session, principal: Principal, body: LangfuseConfigIn
    ) -> dict[str, Any]:
        """Validate ``body`` against Langfuse and store it; returns the masked view."""
        principal.require_manager()
        existing = repo.get(session, principal.tenant_id)
        credentials, options = self._parse(body, existing)
        self._refuse_cleartext(credentials.host)
        before = _audited(existing) if existing is not None else {}
        secret_kept = existing is not None and (body.secret_key or "").strip() == (
            existing.secret_key_masked
        )
        # Leave the read transaction before the network call: no lock or snapshot is held
        # while Langfuse is being asked.
        session.commit()
        with self.validation_slots.slot(principal.tenant_id):
            project = validate_credentials(credentials, self.policy, self.timeout)
        values: dict[str, Any] = {
            "public_key": credentials.public_key,
            "secret_key_enc": self.keyring.encrypt(credentials.secret_key),
            "secret_key_masked": mask_secret(credentials.secret_key),
            "host": credentials.host,
            "project_id": project.id,
            "project_name": project.name,
            "options": options.model_dump(),
            "validated_at": utcnow(),
            "validation_status": "valid",
            "validation_message": None,
        }
        row = repo.get(session, principal.tenant_id, for_update=True)
        if row is None:
            row = TenantLangfuse(tenant_id=principal.tenant_id, version=1, **values)
            try:
                with session.begin_nested():
                    session.add(row)
            except IntegrityError:
                # A concurrent first save of this tenant inserted meanwhile: update that one.
                row = repo.get(session, principal.tenant_id, for_update=True)
                if row is None:
                    raise
                self._apply(row, values)
        else:
            self._apply(row, values)
        session.flush()
        changes = audit.diff(before, _audited(row))
        changes["secret_key"] = "kept" if secret_kept else "replaced"
        audit.record(
            session,
            principal,
            "langfuse.create" if not before else "langfuse.update",
            "",
            changes,
        )
        self._notify_after_commit(session, principal.tenant_id)
        return self.view(row)

    @staticmethod
    def _apply(row: TenantLangfuse, values: dict[str, Any]) -> None:
        for name, value in values.items():
            setattr(row, name, value)
        row.version = (row.version or 0) + 1

    def _refuse_cleartext(self, host: str) -> None:
        """``http://`` sends the secret key in clear: only to loopback, unless allowed."""
        try:
            self.policy.check_url(host)  # the policy's reason first, when it refuses anyway
        except HostRefused as exc:
            raise InvalidArgument(f"host: {exc}") from None
        if host.startswith("http://") and not self.allow_http and not self.policy.is_loopback(host):
            raise InvalidArgument(
                "host: http:// would send the secret key in clear; use https:// (the operator "
                "may allow http with RAGPRISM_LANGFUSE_ALLOW_HTTP)"
            )

    def _notify_after_commit(self, session: Session, tenant_id: str) -> None:
        """Tell the tracing engine about the change once it is committed (not before: the
        engine reloads from the database)."""
        callback = self.on_change
        if callback is None:
            return

        def notify(_: Session) -> None:
            try:
                callback(tenant_id)
            except Exception:
                log.exception("tracing did not take the new configuration of %s", tenant_id)

        event.listen(session, "after_commit", notify, once=True)

    def _parse(
        self, body: LangfuseConfigIn, existing: TenantLangfuse | None
    ) -> tuple[LangfuseCredentials, LangfuseOptions]:
        missing = [name for name in ("secret_key", "public_key") if getattr(body, name) is None]
        host_raw = body.host if body.host is not None else ""
        if not host_raw.strip() and not self.default_host:
            missing.append("host")
        if missing:
            raise InvalidArgument(f"required arguments are missing: {', '.join(missing)}")
        secret = (body.secret_key or "").strip()
        public = (body.public_key or "").strip()
        blank = [
            name for name, value in (("secret_key", secret), ("public_key", public)) if not value
        ]
        if blank:
            raise InvalidArgument(f"{', '.join(blank)} must not be blank")
        try:
            host = normalise_host(host_raw if host_raw.strip() else self.default_host)
        except HostRefused as exc:
            raise InvalidArgument(f"host: {exc}") from None
        if existing is not None and secret == existing.secret_key_masked:
            if host != existing.host:
                # Never send the stored secret to a host it was not entered for.
                raise InvalidArgument(
                    "secret_key: enter the secret key again when changing the host"
                )
            try:
                secret = self.keyring.decrypt(existing.secret_key_enc)
            except KeyringError:
                raise InvalidArgument(
                    "secret_key: the stored secret cannot be decrypted with the server's "
                    "master key; enter the secret key again"
                ) from None
        for name, value in (("secret_key", secret), ("public_key", public)):
            if len(value) > MAX_KEY_LENGTH or any(ord(ch) < 0x21 or ord(ch) > 0x7E for ch in value):
                raise InvalidArgument(
                    f"{name}: must be at most {MAX_KEY_LENGTH} printable ASCII characters"
                )
        options = self._merge_options(body, existing)
        return LangfuseCredentials(public, secret, host), options

    @staticmethod
    def _merge_options(body: LangfuseConfigIn, existing: TenantLangfuse | None) -> LangfuseOptions:
        current = dict(existing.options) if existing is not None else {}
        for name in LangfuseOptions.model_fields:
            value = getattr(body, name)
            if value is not None:
                current[name] = value
        try:
            return LangfuseOptions.model_validate(current)
        except ValidationError as exc:
            detail = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise InvalidArgument(detail) from None

    def delete(self, session: Session, principal: Principal) -> bool:
        """Delete the tenant's configuration; False if there was none."""
        principal.require_manager()
        existing = repo.get(session, principal.tenant_id)
        before = _audited(existing) if existing is not None else {}
        gone = repo.delete_for_tenant(session, principal.tenant_id) > 0
        if gone:
            audit.record(session, principal, "langfuse.delete", before.get("host", ""), before)
            self.stats.forget(principal.tenant_id)
            self._notify_after_commit(session, principal.tenant_id)
        return gone

    # -- reading --------------------------------------------------------------------------
    def get(self, session: Session, principal: Principal) -> dict[str, Any] | None:
        """The masked view with status, or None. Never calls Langfuse on this path."""
        row = repo.get(session, principal.tenant_id)
        if row is None:
            return None
        if self.revalidator is not None:
            self.revalidator.maybe_schedule(row)
        return self.view(row, with_status=True)

    def view(self, row: TenantLangfuse, *, with_status: bool = False) -> dict[str, Any]:
        """The response ``data`` for ``row``: the secret masked, never decrypted."""
        options = LangfuseOptions.model_validate(row.options or {})
        data: dict[str, Any] = {
            "tenant_id": row.tenant_id,
            "public_key": row.public_key,
            "secret_key": row.secret_key_masked,
            "host": row.host,
            "project_id": row.project_id,
            "project_name": row.project_name,
            "project_url": f"{row.host}/project/{row.project_id}",
            **options.model_dump(),
            "create_time": _ms(row.create_time),
            "update_time": _ms(row.update_time),
        }
        if with_status:
            validation, message = row.validation_status, row.validation_message
            if not self.keyring.can_decrypt(row.secret_key_enc):
                # Never "valid" while nothing can be sent: the master key was lost.
                validation, message = "undecryptable", UNDECRYPTABLE
            data["status"] = {
                "validation": validation,
                "validated_at": row.validated_at.isoformat() if row.validated_at else None,
                "message": message,
                "exporter": (
                    self.exporter_status(row.tenant_id)
                    if self.exporter_status is not None
                    else self.stats.snapshot(row.tenant_id)
                ),
            }
        return data

    # -- background -----------------------------------------------------------------------
    def revalidate(self, db: Database, tenant_id: str) -> str | None:
        """Re-check a stored configuration and record the outcome; returns it."""
        with db.session() as session:
            row = repo.get(session, tenant_id)
            if row is None:
                return None
            version = row.version
            try:
                secret = self.keyring.decrypt(row.secret_key_enc)
            except KeyringError:
                self._record(db, tenant_id, version, "undecryptable", UNDECRYPTABLE, None)
                return "undecryptable"
            credentials = LangfuseCredentials(row.public_key, secret, row.host)
        status, message, project = "valid", None, None
        try:
            project = validate_credentials(credentials, self.policy, self.timeout)
        except (DataError, InvalidArgument, UpstreamUnavailable) as exc:
            status, message = _outcome(exc), exc.message
        self._record(db, tenant_id, version, status, message, project)
        return status

    @staticmethod
    def _record(
        db: Database,
        tenant_id: str,
        version: int,
        status: str,
        message: str | None,
        project: LangfuseProject | None,
    ) -> None:
        values: dict[str, Any] = {
            "validated_at": utcnow(),
            "validation_status": status,
            "validation_message": message[:512] if message else None,
            # A re-check is not a change of the configuration: keep update_time.
            "update_time": TenantLangfuse.update_time,
        }
        if project is not None:
            values.update(project_id=project.id, project_name=project.name)
        with db.session() as session:
            # Only if nobody rewrote the configuration while we were asking Langfuse.
            session.execute(
                update(TenantLangfuse)
                .where(TenantLangfuse.tenant_id == tenant_id, TenantLangfuse.version == version)
                .values(**values)
                .execution_options(synchronize_session=False)
            )


def _audited(row: TenantLangfuse) -> dict[str, Any]:
    """What the audit log shows of a configuration: everything but the secret."""
    return {
        "public_key": row.public_key,
        "host": row.host,
        "project_id": row.project_id,
        "project_name": row.project_name,
        **LangfuseOptions.model_validate(row.options or {}).model_dump(),
    }


def _ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None
