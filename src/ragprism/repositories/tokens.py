"""Queries on login tokens and API keys; every API-key query is scoped to a tenant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from ragprism.models import ApiToken, LoginToken


def get_login_token(session: Session, token_hash: str) -> LoginToken | None:
    return session.get(LoginToken, token_hash)


def delete_login_token(session: Session, token_hash: str) -> None:
    session.execute(delete(LoginToken).where(LoginToken.token_hash == token_hash))


def purge_expired_login_tokens(session: Session, now: datetime) -> None:
    session.execute(delete(LoginToken).where(LoginToken.expires_at < now))


def get_api_token(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash)).first()


def list_api_tokens(session: Session, tenant_id: str) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.tenant_id == tenant_id).order_by(ApiToken.create_time)
        )
    )


def delete_api_token(
    session: Session, tenant_id: str, token_hash: str, handle: str, creator_id: str | None = None
) -> list[ApiToken]:
    """Delete the tenant's keys whose digest, id or masked form is given (only those created
    by ``creator_id`` when given); returns the keys gone."""
    query = select(ApiToken).where(
        ApiToken.tenant_id == tenant_id,
        or_(ApiToken.token_hash == token_hash, ApiToken.id == handle, ApiToken.masked == handle),
    )
    if creator_id is not None:
        query = query.where(ApiToken.user_id == creator_id)
    rows = list(session.scalars(query))
    for row in rows:
        session.delete(row)
    session.flush()
    return rows


def delete_member_api_tokens(session: Session, tenant_id: str, user_id: str) -> None:
    """Revoke every key ``user_id`` created in ``tenant_id`` (the member is leaving)."""
    session.execute(
        delete(ApiToken).where(ApiToken.tenant_id == tenant_id, ApiToken.user_id == user_id)
    )
