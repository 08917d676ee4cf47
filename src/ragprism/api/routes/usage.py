"""``GET /api/v1/usage``: requests, tokens, cost, latency and feedback per day and
assistant/model, from the server's own answer records (issue 11)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ragprism.api.deps import CurrentPrincipal, SessionDep
from ragprism.api.envelope import ok
from ragprism.services.chat import usage as service

router = APIRouter(prefix="/api/v1", tags=["usage"])


@router.get("/usage", response_model=None)
def usage(
    principal: CurrentPrincipal,
    session: SessionDep,
    from_: Annotated[str | None, Query(alias="from", max_length=32)] = None,
    to: Annotated[str | None, Query(max_length=32)] = None,
    group_by: Annotated[str | None, Query(max_length=64)] = None,
    chat_id: Annotated[str | None, Query(max_length=64)] = None,
) -> JSONResponse:
    """Usage over the UTC days ``from``..``to`` (inclusive; default the last 30 days),
    one row per group of ``group_by`` (``day,chat,model`` by default), and the total."""
    query = service.parse_query(from_, to, group_by, chat_id)
    # Plain JSON already: skip FastAPI's recursive encoder (thousands of rows).
    return JSONResponse(ok(service.usage(session, principal.tenant_id, query)))
