"""``/v1/user``: register, login, profile, logout."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ragprism.api.deps import CurrentPrincipal, SessionDep, StateDep
from ragprism.api.envelope import ok
from ragprism.api.serialize import user_json
from ragprism.errors import OperatingError
from ragprism.services.accounts import accounts

router = APIRouter(prefix="/v1/user", tags=["user"])


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email: str = Field(max_length=255)
    password: str = Field(max_length=256)
    nickname: str = Field(default="", max_length=100)


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email: str = Field(max_length=255)
    password: str = Field(max_length=256)


@router.post("/register")
def register(body: RegisterIn, session: SessionDep, state: StateDep) -> dict[str, Any]:
    """Create a user and the tenant it owns."""
    if not state.settings.register_enabled:
        raise OperatingError("User registration is disabled on this server.")
    user = state.login_guard.create_user(session, body.email, body.password, body.nickname)
    return ok(user_json(user), f"{user.nickname}, welcome aboard!")


@router.post("/login")
def login(
    body: LoginIn, session: SessionDep, state: StateDep, request: Request, response: Response
) -> dict[str, Any]:
    """Exchange e-mail and password for a login token (also in the Authorization header).

    Too many failures for the account or the client address get HTTP 429 with
    ``Retry-After``."""
    address = request.client.host if request.client else "unknown"
    user, token = state.login_guard.login(
        session, body.email, body.password, state.settings.login_token_ttl_seconds, address
    )
    response.headers["Authorization"] = token
    response.headers["Access-Control-Expose-Headers"] = "Authorization"
    return ok({**user_json(user), "access_token": token}, "Welcome back!")


@router.get("/info")
def info(principal: CurrentPrincipal) -> dict[str, Any]:
    """The caller's profile."""
    return ok(
        {**user_json(principal.user), "tenant_id": principal.tenant_id, "role": principal.role}
    )


@router.post("/logout")
@router.get("/logout", include_in_schema=False)
def logout(principal: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """Revoke the login token used for this request."""
    accounts.logout(session, principal)
    return ok(True)
