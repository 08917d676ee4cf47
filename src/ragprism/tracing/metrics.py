"""Prometheus view of the export counters, read from ``ExportStatsRegistry`` at scrape
time (nothing is counted twice, and the span path pays nothing for it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from ragprism.tracing.stats import ExportStatsRegistry

_COUNTERS = {
    "queued": "Spans and scores accepted into the tenant's export queue.",
    "exported": "Spans and scores accepted by the tenant's Langfuse.",
    "retried": "Spans and scores sent again after a failed attempt or from the spool.",
    "spooled": "Spans and scores written to the on-disk spool.",
}


class ExportCollector(Collector):
    """``ragprism_trace_*`` metrics labelled by ``tenant_id``."""

    def __init__(
        self,
        stats: ExportStatsRegistry,
        depth: Callable[[str], int],
        memory: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self._stats = stats
        self._depth = depth
        self._memory = memory

    def collect(self) -> Iterator[Metric]:
        tenants = sorted(self._stats.items())
        counters = {
            name: CounterMetricFamily(f"ragprism_trace_{name}", doc, labels=["tenant_id"])
            for name, doc in _COUNTERS.items()
        }
        dropped = CounterMetricFamily(
            "ragprism_trace_dropped",
            "Spans and scores dropped, by reason.",
            labels=["tenant_id", "reason"],
        )
        healthy = GaugeMetricFamily(
            "ragprism_trace_destination_healthy",
            "1 unless the tenant's Langfuse refuses its keys.",
            labels=["tenant_id"],
        )
        depth = GaugeMetricFamily(
            "ragprism_trace_queue_depth", "Items waiting in memory.", labels=["tenant_id"]
        )
        last_export = GaugeMetricFamily(
            "ragprism_trace_last_export_timestamp_seconds",
            "Unix time of the last successful export.",
            labels=["tenant_id"],
        )
        for tenant_id, stats in tenants:
            data = stats.as_dict()
            for name, family in counters.items():
                family.add_metric([tenant_id], data[name])
            for reason, n in data["dropped_by_reason"].items():
                dropped.add_metric([tenant_id, reason], n)
            healthy.add_metric([tenant_id], 1.0 if data["healthy"] else 0.0)
            depth.add_metric([tenant_id], self._depth(tenant_id))
            if stats.last_export_at is not None:
                last_export.add_metric([tenant_id], stats.last_export_at.timestamp())
        yield from counters.values()
        yield from (dropped, healthy, depth, last_export)
        if self._memory is not None:
            memory = self._memory()
            yield GaugeMetricFamily(
                "ragprism_trace_memory_bytes",
                "Bytes the exporter holds in memory for all tenants (queued spans, estimated, "
                "and encoded batches).",
                value=memory["bytes"],
            )
            yield GaugeMetricFamily(
                "ragprism_trace_memory_budget_bytes",
                "RAGPRISM_TRACE_MEMORY_MAX_BYTES (0: no budget).",
                value=memory["budget"],
            )


def make_registry(
    stats: ExportStatsRegistry,
    depth: Callable[[str], int],
    memory: Callable[[], dict[str, int]] | None = None,
) -> CollectorRegistry:
    """A private registry (never prometheus_client's global one) holding the collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ExportCollector(stats, depth, memory))
    return registry


def render(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The text exposition of ``registry`` and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST
