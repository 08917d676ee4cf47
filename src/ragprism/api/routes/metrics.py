"""``GET /metrics``: Prometheus text exposition of the per-tenant export counters.

The counters are labelled by tenant id (never configuration or trace content). With
``RAGPRISM_METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer <token>``
(Prometheus: ``authorization: {credentials: <token>}``); without it the endpoint is open,
like most ``/metrics`` endpoints, and should be reachable only from the monitoring network.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Header, Response

from ragprism.api.deps import StateDep
from ragprism.errors import Unauthorized

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
def metrics(state: StateDep, authorization: Annotated[str | None, Header()] = None) -> Response:
    """Export counters (queued, exported, retried, spooled, dropped) by tenant."""
    token = state.settings.metrics_token
    if token:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            raise Unauthorized("metrics: a valid 'Authorization: Bearer <token>' is required")
    body, content_type = state.tracing.metrics()
    return Response(content=body, media_type=content_type)
