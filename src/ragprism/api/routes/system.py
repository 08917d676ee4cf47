"""``/v1/system``: API keys of the current tenant, and health."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from sqlalchemy import text

from ragprism import __version__
from ragprism.api.deps import CurrentPrincipal, SessionDep, StateDep
from ragprism.api.envelope import ok
from ragprism.api.serialize import api_token_json, audit_event_json
from ragprism.services.accounts import api_keys, audit
from ragprism.services.knowledge import documents

router = APIRouter(prefix="/v1/system", tags=["system"])


@router.post("/new_token")
def new_token(principal: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """Create an API key; this response is the only one that shows it in full."""
    row, token = api_keys.create(session, principal)
    return ok(api_token_json(row, token))


@router.get("/token_list")
def token_list(principal: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """The tenant's API keys, masked."""
    return ok([api_token_json(row) for row in api_keys.list_for_tenant(session, principal)])


@router.delete("/token/{token}")
def delete_token(
    token: Annotated[str, Path(max_length=512)], principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Delete an API key, named by the key itself, its id or its masked form."""
    api_keys.delete(session, principal, token)
    return ok(True)


@router.get("/audit_log")
def audit_log(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=audit.MAX_PAGE_SIZE)] = 50,
) -> dict[str, Any]:
    """Configuration changes of the tenant, newest first (owners and admins only)."""
    events, total = audit.list_events(session, principal, page, page_size)
    return ok({"total": total, "events": [audit_event_json(event) for event in events]})


@router.get("/version")
def version(principal: CurrentPrincipal) -> dict[str, Any]:
    return ok(__version__)


@router.get("/upload_limits")
def upload_limits(principal: CurrentPrincipal, state: StateDep) -> dict[str, Any]:
    """The file types a document upload accepts and the largest file one request carries."""
    return ok(documents.upload_limits(state.settings.max_upload_bytes))


@router.get("/healthz", tags=["health"])
def healthz(session: SessionDep, state: StateDep) -> dict[str, Any]:
    """Liveness, database reachability and whether the stored secrets can be read (a
    server started with lost secrets is ``degraded``); needs no login."""
    session.execute(text("SELECT 1"))
    problem = state.secrets.problem()
    return ok(
        {
            "db": "ok",
            "secrets": f"nok: {problem}" if problem else "ok",
            "status": "degraded" if problem else "ok",
            "version": __version__,
        }
    )
