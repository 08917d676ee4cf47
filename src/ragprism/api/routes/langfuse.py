"""The Langfuse configuration API, under both of RAGFlow's spellings (SPEC §3)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ragprism.api.deps import CurrentPrincipal, SessionDep, StateDep
from ragprism.api.envelope import ok
from ragprism.services.observability.langfuse_config import NO_RECORD, LangfuseConfigIn

router = APIRouter(tags=["langfuse"])
PATHS = ("/v1/langfuse/api_key", "/api/v1/langfuse/api-key")


def save(
    body: LangfuseConfigIn, principal: CurrentPrincipal, session: SessionDep, state: StateDep
) -> dict[str, Any]:
    """Validate the keys against Langfuse, then store them (upsert). Owner/admin only."""
    return ok(state.langfuse.upsert(session, principal, body))


def read(principal: CurrentPrincipal, session: SessionDep, state: StateDep) -> dict[str, Any]:
    """The tenant's configuration with the secret masked, and its status."""
    data = state.langfuse.get(session, principal)
    if data is None:
        return ok(None, NO_RECORD)
    return ok(data)


def remove(principal: CurrentPrincipal, session: SessionDep, state: StateDep) -> dict[str, Any]:
    """Delete the configuration; tracing for the tenant stops. Owner/admin only."""
    if not state.langfuse.delete(session, principal):
        return ok(None, NO_RECORD)
    return ok(True)


for _path in PATHS:
    _name = "ragflow_v024" if "_key" in _path else "ragflow_v025"
    for _method in ("POST", "PUT"):
        router.add_api_route(
            _path, save, methods=[_method], operation_id=f"langfuse_{_method.lower()}_{_name}"
        )
    router.add_api_route(_path, read, methods=["GET"], operation_id=f"langfuse_get_{_name}")
    router.add_api_route(_path, remove, methods=["DELETE"], operation_id=f"langfuse_delete_{_name}")
