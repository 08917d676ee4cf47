"""Per-tenant tracing. The rest of the code uses only what this package exports."""

from ragprism.tracing.stats import ExportStats, ExportStatsRegistry

__all__ = ["ExportStats", "ExportStatsRegistry"]
