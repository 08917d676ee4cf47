"""What one server process holds: settings, database, keyring and services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ragprism.db import Database
from ragprism.security.host_policy import HostPolicy
from ragprism.security.keyring import Keyring
from ragprism.services.langfuse_config import LangfuseConfigService, Revalidator
from ragprism.services.trace_destinations import DatabaseDestinations
from ragprism.settings import Settings
from ragprism.tracing import ExportStatsRegistry, TracingEngine


def make_keyring(settings: Settings) -> Keyring:
    """The keyring the settings describe (env keys win over the key file)."""
    return Keyring(settings.master_key, None if settings.master_key else settings.resolved_key_file)


@dataclass
class AppState:
    settings: Settings
    db: Database
    keyring: Keyring
    stats: ExportStatsRegistry
    langfuse: LangfuseConfigService
    tracing: TracingEngine

    @classmethod
    def build(cls, settings: Settings, db: Database | None = None) -> AppState:
        db = db or Database(settings.resolved_database_url)
        keyring = make_keyring(settings)
        stats = ExportStatsRegistry()
        policy = HostPolicy.from_setting(settings.langfuse_host_policy)
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
            export_timeout=settings.trace_export_timeout,
            policy=policy,
        )
        langfuse = LangfuseConfigService(
            keyring=keyring,
            policy=policy,
            default_host=settings.langfuse_default_host,
            timeout=settings.langfuse_validate_timeout,
            stats=stats,
            on_change=tracing.invalidate,
            exporter_status=tracing.health,
        )
        langfuse.revalidator = Revalidator(
            db, langfuse, timedelta(seconds=settings.langfuse_revalidate_seconds)
        )
        return cls(settings, db, keyring, stats, langfuse, tracing)

    def start(self) -> None:
        """Start the background work (the tracing engine)."""
        self.tracing.start()

    def close(self) -> None:
        self.tracing.shutdown()
        if self.langfuse.revalidator is not None:
            self.langfuse.revalidator.shutdown()
        self.db.dispose()
