"""Per-tenant export counters, shown in the Langfuse config status and at /metrics."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_COUNTERS = ("queued", "exported", "retried", "spooled", "dropped")


@dataclass
class ExportStats:
    """What the exporter did for one tenant since this process started.

    Counters count items (spans, or scores) and only ever grow; ``dropped_by_reason``
    splits ``dropped`` by why ("queue full", "config removed", "spool full", ...).
    """

    queued: int = 0
    exported: int = 0
    retried: int = 0
    spooled: int = 0
    dropped: int = 0
    last_export_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    healthy: bool = True
    dropped_by_reason: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, counter: str, n: int = 1) -> None:
        """Add ``n`` to one of queued/exported/retried/spooled (thread-safe)."""
        with self._lock:
            setattr(self, counter, getattr(self, counter) + n)

    def drop(self, reason: str, n: int = 1) -> None:
        """Count ``n`` items dropped for ``reason``."""
        if n <= 0:
            return
        with self._lock:
            self.dropped += n
            self.dropped_by_reason[reason] = self.dropped_by_reason.get(reason, 0) + n

    def delivered(self, n: int) -> None:
        """Count ``n`` items accepted by Langfuse; the destination is healthy."""
        with self._lock:
            self.exported += n
            self.last_export_at = datetime.now(UTC)
            self.healthy = True

    def failed(self, message: str, *, healthy: bool) -> None:
        """Remember the last export error; ``healthy`` False for refused credentials."""
        with self._lock:
            self.last_error = message
            self.last_error_at = datetime.now(UTC)
            self.healthy = healthy

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            data: dict[str, Any] = {name: getattr(self, name) for name in _COUNTERS}
            data["dropped_by_reason"] = dict(self.dropped_by_reason)
            for key in ("last_export_at", "last_error_at"):
                value = getattr(self, key)
                data[key] = value.isoformat() if value is not None else None
            data["last_error"] = self.last_error
            data["healthy"] = self.healthy
            return data


@dataclass
class ExportStatsRegistry:
    """Counters by tenant id; a tenant that never exported reads as all zeros."""

    _stats: dict[str, ExportStats] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def for_tenant(self, tenant_id: str) -> ExportStats:
        """The live counters of ``tenant_id`` (created on first use)."""
        stats = self._stats.get(tenant_id)
        if stats is not None:
            return stats
        with self._lock:
            stats = self._stats.get(tenant_id)
            if stats is None:
                stats = self._stats[tenant_id] = ExportStats()
            return stats

    def snapshot(self, tenant_id: str) -> dict[str, Any]:
        """A copy of the counters of ``tenant_id`` as plain data."""
        with self._lock:
            stats = self._stats.get(tenant_id)
        return (stats or ExportStats()).as_dict()

    def items(self) -> list[tuple[str, ExportStats]]:
        """Every tenant's live counters (a copy of the list, not of the counters)."""
        with self._lock:
            return list(self._stats.items())

    def forget(self, tenant_id: str) -> None:
        with self._lock:
            self._stats.pop(tenant_id, None)
