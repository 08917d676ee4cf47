"""Typed dependencies shared by the routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from ragprism.runtime import Runtime
from ragprism.services.accounts.accounts import Principal, authenticate, extract_token


def get_state(request: Request) -> Runtime:
    state: Runtime = request.app.state.ragprism
    return state


StateDep = Annotated[Runtime, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    # Committed before the response is sent (scope="function"), so a failed commit is
    # reported to the client instead of being lost after a success answer.
    with state.db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


# Declares the scheme in the OpenAPI document (so "Authorize" in /docs works); the header
# itself is read below, where a bare token without "Bearer" is accepted too, as RAGFlow does.
bearer_auth = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A login token (`data.access_token` of `POST /v1/user/login`) or an API key "
    "(`ragflow-…`, from `POST /v1/system/new_token`).",
)


def get_principal(
    session: SessionDep,
    _: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_auth)] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_tenant_id: Annotated[
        str | None,
        Header(
            description="Act on another tenant the user belongs to (login tokens only).",
            max_length=32,
        ),
    ] = None,
) -> Principal:
    return authenticate(session, extract_token(authorization), x_tenant_id or None)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
