"""Queries on users, tenants and memberships."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ragprism.models import Role, Tenant, User, UserTenant


def get_user(session: Session, user_id: str) -> User | None:
    return session.get(User, user_id)


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == email)).first()


def add_user_with_tenant(session: Session, user: User) -> Tenant:
    """Insert ``user`` and the tenant it owns (tenant id == user id)."""
    session.add(user)
    session.flush()
    tenant = Tenant(id=user.id, name=f"{user.nickname}'s Kingdom")
    session.add(tenant)
    session.flush()
    session.add(UserTenant(tenant_id=tenant.id, user_id=user.id, role=Role.OWNER.value))
    session.flush()
    return tenant


def get_membership(session: Session, tenant_id: str, user_id: str) -> UserTenant | None:
    return session.scalars(
        select(UserTenant).where(UserTenant.tenant_id == tenant_id, UserTenant.user_id == user_id)
    ).first()


def list_memberships(session: Session, user_id: str) -> list[tuple[UserTenant, Tenant, User]]:
    """The tenants ``user_id`` belongs to, each with its owner."""
    owner = UserTenant.__table__.alias("owner_link")
    rows = session.execute(
        select(UserTenant, Tenant, User)
        .join(Tenant, Tenant.id == UserTenant.tenant_id)
        .join(owner, (owner.c.tenant_id == Tenant.id) & (owner.c.role == Role.OWNER.value))
        .join(User, User.id == owner.c.user_id)
        .where(UserTenant.user_id == user_id)
        .order_by(UserTenant.create_time)
    ).all()
    return [(row[0], row[1], row[2]) for row in rows]


def list_members(session: Session, tenant_id: str) -> list[tuple[UserTenant, User]]:
    rows = session.execute(
        select(UserTenant, User)
        .join(User, User.id == UserTenant.user_id)
        .where(UserTenant.tenant_id == tenant_id)
        .order_by(UserTenant.create_time)
    ).all()
    return [(row[0], row[1]) for row in rows]
