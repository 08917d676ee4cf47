"""What one server process holds: settings, database, keyring and services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ragprism.db import Database
from ragprism.security.host_policy import HostPolicy
from ragprism.security.keyring import Keyring
from ragprism.services.langfuse_config import LangfuseConfigService, Revalidator
from ragprism.settings import Settings
from ragprism.tracing import ExportStatsRegistry


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

    @classmethod
    def build(cls, settings: Settings, db: Database | None = None) -> AppState:
        db = db or Database(settings.resolved_database_url)
        keyring = make_keyring(settings)
        stats = ExportStatsRegistry()
        langfuse = LangfuseConfigService(
            keyring=keyring,
            policy=HostPolicy.from_setting(settings.langfuse_host_policy),
            default_host=settings.langfuse_default_host,
            timeout=settings.langfuse_validate_timeout,
            stats=stats,
        )
        langfuse.revalidator = Revalidator(
            db, langfuse, timedelta(seconds=settings.langfuse_revalidate_seconds)
        )
        return cls(settings, db, keyring, stats, langfuse)

    def close(self) -> None:
        if self.langfuse.revalidator is not None:
            self.langfuse.revalidator.shutdown()
        self.db.dispose()
