"""``/v1/tenant``: teams. Owners and admins invite existing users as members."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from ragprism.api.deps import CurrentPrincipal, SessionDep
from ragprism.api.envelope import ok
from ragprism.api.serialize import member_json, times
from ragprism.services.accounts import accounts

router = APIRouter(prefix="/v1/tenant", tags=["tenant"])
TenantId = Annotated[str, Path(max_length=32)]


class InviteIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email: str = Field(max_length=255)
    role: Literal["normal", "admin"] = "normal"


@router.get("/list")
def tenant_list(principal: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """The tenants the caller belongs to, with the caller's role in each."""
    rows = accounts.list_tenants(session, principal.user.id)
    return ok(
        [
            {
                "tenant_id": tenant.id,
                "name": tenant.name,
                "role": link.role,
                "nickname": owner.nickname,
                "email": owner.email,
                "avatar": None,
                **times(link.create_time, link.update_time),
            }
            for link, tenant, owner in rows
        ]
    )


@router.get("/{tenant_id}/user/list")
def member_list(
    tenant_id: TenantId, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Members of a tenant the caller belongs to."""
    rows = accounts.list_members(session, principal, tenant_id)
    return ok([member_json(link, user) for link, user in rows])


@router.post("/{tenant_id}/user")
def invite(
    tenant_id: TenantId, body: InviteIn, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Add an existing user (by e-mail) to the tenant."""
    link, user = accounts.invite(session, principal, tenant_id, body.email, body.role)
    return ok(member_json(link, user))


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["normal", "admin"]


@router.put("/{tenant_id}/user/{user_id}")
def change_role(
    tenant_id: TenantId,
    user_id: Annotated[str, Path(max_length=32)],
    body: RoleIn,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    """Change a member's role (``admin`` or ``normal``). Owner only; not in RAGFlow."""
    link, user = accounts.change_role(session, principal, tenant_id, user_id, body.role)
    return ok(member_json(link, user))


@router.delete("/{tenant_id}/user/{user_id}")
def remove(
    tenant_id: TenantId,
    user_id: Annotated[str, Path(max_length=32)],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    """Remove a member, or leave the tenant (``user_id`` = the caller)."""
    accounts.remove_member(session, principal, tenant_id, user_id)
    return ok(True)
