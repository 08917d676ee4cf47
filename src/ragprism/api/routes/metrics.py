"""``GET /metrics``: Prometheus text exposition of the per-tenant export counters.

Like most ``/metrics`` endpoints it needs no login; it shows counters labelled by tenant
id, never configuration or trace content. Restrict it at the network edge if tenant ids
must stay private.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from ragprism.api.deps import StateDep

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
def metrics(state: StateDep) -> Response:
    """Export counters (queued, exported, retried, spooled, dropped) by tenant."""
    body, content_type = state.tracing.metrics()
    return Response(content=body, media_type=content_type)
