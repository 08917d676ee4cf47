"""Per-trace sampling, and the route every span of a trace takes to its tenant's queue.

The tenant of a trace is never read from span attributes (which callers set and which are
exported): when the facade starts a trace for a tenant's destination, the engine hands
back that tenant's ``Route``, and the trace keeps it. Ending a span is then an append to
the route's queue: O(1), no lookup, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ragprism.tracing.otlp import TraceAttributes
from ragprism.tracing.queues import TenantQueue

_ID_BITS = (1 << 64) - 1


class StampedTrace(TraceAttributes):
    """A trace's attributes and the project it was recorded for, ``(host, project_id)``:
    its spans go there or nowhere (a later change of host or project must not send them
    to another project while the client holds a ``trace_url`` into this one)."""

    __slots__ = ("project",)

    def __init__(self, attrs: dict[str, Any], project: tuple[str, str]) -> None:
        super().__init__(attrs)
        self.project = project


@dataclass(frozen=True, slots=True)
class Route:
    """Where the spans of one trace go."""

    queue: TenantQueue
    trace: TraceAttributes


def sampled(trace_id: int, rate: float) -> bool:
    """Whether a trace is kept at ``rate``, decided by its id (like TraceIdRatioBased)."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    return (trace_id & _ID_BITS) < int(rate * (_ID_BITS + 1))
