"""Per-tenant tracing. The rest of the code uses only what this package exports.

``ragprism.tracing`` is the only package that imports OpenTelemetry. The engine and the
facade are loaded on first use, so code that only needs the counters (the config service)
does not pay for importing the OTel SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ragprism.tracing.destinations import Capture, Destination, DestinationSource
from ragprism.tracing.stats import ExportStats, ExportStatsRegistry

if TYPE_CHECKING:
    from ragprism.tracing.engine import TracingEngine
    from ragprism.tracing.facade import NoopTrace, Observation, Trace, Tracer
    from ragprism.tracing.retry import RetryPolicy

_LAZY = {
    "TracingEngine": "ragprism.tracing.engine",
    "Tracer": "ragprism.tracing.facade",
    "Trace": "ragprism.tracing.facade",
    "NoopTrace": "ragprism.tracing.facade",
    "Observation": "ragprism.tracing.facade",
    "RetryPolicy": "ragprism.tracing.retry",
}

__all__ = [
    "Capture",
    "Destination",
    "DestinationSource",
    "ExportStats",
    "ExportStatsRegistry",
    "NoopTrace",
    "Observation",
    "RetryPolicy",
    "Trace",
    "Tracer",
    "TracingEngine",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ragprism.tracing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
