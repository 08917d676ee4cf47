"""The composition root: what one process holds (settings, database, keyring, chunk store,
model settings, tracing engine, parse worker) and how it is wired.

Both the HTTP layer (`ragprism.api`) and the CLI build on it; services receive it through
the narrow `ServiceContext` protocol and never import it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta

from ragprism.db import Database
from ragprism.rag.sandbox import MiB, ParseBudget
from ragprism.retrieval import ChunkStore, make_store
from ragprism.security.host_policy import HostPolicy
from ragprism.security.keyring import Keyring
from ragprism.services.accounts.key_rotation import SecretsCheck, check_secrets_readable
from ragprism.services.accounts.login_guard import FailureWindow, HashingSlots, LoginGuard
from ragprism.services.knowledge.parse_worker import ParseWorker
from ragprism.services.models.model_settings import ModelSettingsService
from ragprism.services.observability.langfuse_config import LangfuseConfigService, Revalidator
from ragprism.services.observability.trace_destinations import DatabaseDestinations
from ragprism.services.tenant_slots import TenantSlots
from ragprism.settings import Settings
from ragprism.tracing import ExportStatsRegistry, TracingEngine


def make_keyring(settings: Settings) -> Keyring:
    """The keyring the settings describe (env keys win over the key file)."""
    return Keyring(settings.master_key, None if settings.master_key else settings.resolved_key_file)


def make_login_guard(settings: Settings) -> LoginGuard:
    """The login limits the settings describe."""
    window = settings.login_failure_window_seconds
    return LoginGuard(
        per_account=FailureWindow(settings.login_max_failures_per_account, window),
        per_address=FailureWindow(settings.login_max_failures_per_address, window),
        slots=HashingSlots(settings.password_hash_concurrency, settings.password_hash_wait_seconds),
    )


@dataclass
class Runtime:
    settings: Settings
    db: Database
    keyring: Keyring
    stats: ExportStatsRegistry
    langfuse: LangfuseConfigService
    tracing: TracingEngine
    models: ModelSettingsService
    login_guard: LoginGuard
    secrets: SecretsCheck
    # The chunk store is made on first use: it needs the migrated schema.
    _store: ChunkStore | None = field(default=None, repr=False)
    _store_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    parse_worker: ParseWorker | None = None

    @property
    def store(self) -> ChunkStore:
        """The chunk store of the database's backend."""
        with self._store_lock:
            if self._store is None:
                self._store = make_store(
                    self.db, side_connections=self.settings.search_side_connections
                )
            return self._store

    @classmethod
    def build(cls, settings: Settings, db: Database | None = None) -> Runtime:
        db = db or Database(settings.resolved_database_url)
        keyring = make_keyring(settings)
        stats = ExportStatsRegistry()
        policy = HostPolicy.from_setting(settings.langfuse_host_policy, settings.host_allowlist)
        tracing = TracingEngine(
            source=DatabaseDestinations(db, keyring),
            stats=stats,
            spool_path=settings.data_dir / "spool.db",
            flush_interval=settings.trace_flush_interval,
            refresh_interval=settings.trace_config_refresh_seconds,
            trace_prefix=settings.trace_prefix,
            max_field_chars=settings.trace_max_field_chars,
            workers=settings.trace_workers,
            spool_bytes_per_tenant=settings.trace_spool_max_bytes_per_tenant,
            queue_spans_per_tenant=settings.trace_queue_max_spans,
            batch_bytes=settings.trace_batch_max_bytes,
            queue_bytes_per_tenant=settings.trace_queue_max_bytes_per_tenant,
            memory_bytes=settings.trace_memory_max_bytes,
            export_timeout=settings.trace_export_timeout,
            policy=policy,
        )
        langfuse = LangfuseConfigService(
            keyring=keyring,
            policy=policy,
            default_host=settings.langfuse_default_host,
            timeout=settings.langfuse_validate_timeout,
            stats=stats,
            allow_http=settings.langfuse_allow_http,
            validation_slots=TenantSlots(
                settings.langfuse_validations_per_tenant, "Langfuse key validations"
            ),
            on_change=tracing.invalidate,
            exporter_status=tracing.health,
        )
        langfuse.revalidator = Revalidator(
            db, langfuse, timedelta(seconds=settings.langfuse_revalidate_seconds)
        )
        models = ModelSettingsService(
            keyring=keyring,
            policy=policy,
            call_slots=TenantSlots(settings.provider_calls_per_tenant, "model provider calls"),
        )
        return cls(
            settings,
            db,
            keyring,
            stats,
            langfuse,
            tracing,
            models,
            make_login_guard(settings),
            SecretsCheck(db, keyring),
        )

    def start(self) -> None:
        """Start the background work (the tracing engine), after checking that the master
        key reads the stored secrets (``KeyringError`` otherwise)."""
        if not self.settings.accept_lost_secrets:
            check_secrets_readable(self.db, self.keyring)
        self.tracing.start()
        if self.parse_worker is None:
            self.parse_worker = ParseWorker(
                self,
                workers=self.settings.parse_workers,
                lease_seconds=self.settings.parse_lease_seconds,
                poll_seconds=self.settings.parse_poll_seconds,
                budget=ParseBudget(
                    self.settings.parse_timeout_seconds, self.settings.parse_memory_mib * MiB
                ),
                per_tenant_limit=self.settings.parse_tenant_concurrency or None,
            )
        self.parse_worker.start()

    def close(self) -> None:
        if self.parse_worker is not None:
            self.parse_worker.stop()
        self.tracing.shutdown()
        self.models.close()
        if self.langfuse.revalidator is not None:
            self.langfuse.revalidator.shutdown()
        self.db.dispose()
