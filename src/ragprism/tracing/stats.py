"""Per-tenant export counters, shown in the Langfuse config status and at /metrics."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class ExportStats:
    """What the exporter did for one tenant since this process started."""

    queued: int = 0
    exported: int = 0
    retried: int = 0
    spooled: int = 0
    dropped: int = 0
    last_export_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    healthy: bool = True

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("last_export_at", "last_error_at"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        return data


@dataclass
class ExportStatsRegistry:
    """Counters by tenant id; a tenant that never exported reads as all zeros."""

    _stats: dict[str, ExportStats] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def for_tenant(self, tenant_id: str) -> ExportStats:
        """The live counters of ``tenant_id`` (created on first use)."""
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

    def forget(self, tenant_id: str) -> None:
        with self._lock:
            self._stats.pop(tenant_id, None)
