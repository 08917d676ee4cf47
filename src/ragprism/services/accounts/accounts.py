"""Users, login/logout, token authentication and team membership (SPEC §2)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ragprism.db import utcnow
from ragprism.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidArgument,
    NotFound,
    OperatingError,
    PermissionDenied,
    Unauthorized,
)
from ragprism.models import LoginToken, Role, Tenant, User, UserTenant
from ragprism.repositories import accounts as repo
from ragprism.repositories import tokens as token_repo
from ragprism.security.passwords import hash_password, verify_password
from ragprism.security.tokens import API_KEY_PREFIX, digest, new_login_token
from ragprism.services.accounts import audit

# Control characters are refused everywhere: PostgreSQL cannot store NUL in text columns.
_EMAIL = re.compile(
    r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]+\.[^@\s\x00-\x1f\x7f-\x9f]+$"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ID = re.compile(r"^[0-9a-f]{32}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, the tenant acted on, the role there, and how they logged in."""

    user: User
    tenant_id: str
    role: Role
    via_api_key: bool
    token_hash: str

    def require_manager(self) -> None:
        """Raise unless the caller may change tenant settings (owner or admin)."""
        if not self.role.can_manage:
            raise PermissionDenied("Only the tenant's owner or an admin may change this setting.")


def _check_credentials_shape(email: str, password: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 255:
        raise InvalidArgument(f"email: invalid e-mail address {email!r}")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidArgument(f"password: must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long")
    return email


def create_user(
    session: Session, email: str, password: str, nickname: str = "", *, superuser: bool = False
) -> User:
    """Create a user and the tenant it owns; ``Conflict`` if the e-mail is taken."""
    email = _check_credentials_shape(email, password)
    nickname = nickname.strip() or email.split("@", 1)[0]
    if len(nickname) > 100:
        raise InvalidArgument("nickname: at most 100 characters")
    if _CONTROL.search(nickname):
        raise InvalidArgument("nickname: must not contain control characters")
    if repo.get_user_by_email(session, email):
        raise Conflict(f"Email: {email} has already registered!")
    user = User(
        email=email,
        nickname=nickname,
        password_hash=hash_password(password),
        is_superuser=superuser,
    )
    try:
        with session.begin_nested():
            repo.add_user_with_tenant(session, user)
    except IntegrityError:
        raise Conflict(f"Email: {email} has already registered!") from None
    return user


@cache
def _unmatchable_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def login(session: Session, email: str, password: str, ttl_seconds: int) -> tuple[User, str]:
    """Check the password and issue a login token; the token is returned once, stored hashed."""
    email = email.strip().lower()
    user = repo.get_user_by_email(session, email) if _EMAIL.match(email) else None
    if user is None:
        # Hash anyway: an unknown e-mail must take as long as a wrong password (no enumeration).
        verify_password(_unmatchable_hash(), password)
        raise AuthenticationFailed("Email and password do not match!")
    if not verify_password(user.password_hash, password):
        raise AuthenticationFailed("Email and password do not match!")
    if not user.is_active:
        raise AuthenticationFailed("This account has been disabled.")
    now = utcnow()
    token_repo.purge_expired_login_tokens(session, now)
    token = new_login_token()
    session.add(
        LoginToken(
            token_hash=digest(token),
            user_id=user.id,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
    )
    return user, token


def logout(session: Session, principal: Principal) -> None:
    """Revoke the login token the caller used (API keys are revoked by deleting them)."""
    if principal.via_api_key:
        raise OperatingError("Log out with a login token; delete an API key to revoke it.")
    token_repo.delete_login_token(session, principal.token_hash)


def extract_token(header: str | None) -> str | None:
    """The token of an ``Authorization`` header, with or without the ``Bearer`` word."""
    if not header:
        return None
    parts = header.strip().split(None, 1)
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1].strip() or None
    return parts[0] if len(parts) == 1 else None


def authenticate(session: Session, token: str | None, tenant_hint: str | None = None) -> Principal:
    """The principal behind a login token or API key; ``Unauthorized`` otherwise.

    A login token acts on the user's own tenant unless ``tenant_hint`` names another tenant
    the user belongs to. An API key acts on its tenant with its creator's current role.
    """
    if not token or len(token) > 512:
        raise Unauthorized("Authentication error: missing or invalid token.")
    token_hash = digest(token)
    if token.startswith(API_KEY_PREFIX):
        api_token = token_repo.get_api_token(session, token_hash)
        if api_token is None:
            raise Unauthorized("Authentication error: API key is invalid!")
        user = repo.get_user(session, api_token.user_id)
        membership = repo.get_membership(session, api_token.tenant_id, api_token.user_id)
        if user is None or membership is None or not user.is_active:
            raise Unauthorized("Authentication error: API key is invalid!")
        return Principal(user, api_token.tenant_id, Role(membership.role), True, token_hash)
    login_token = token_repo.get_login_token(session, token_hash)
    if login_token is None or login_token.expires_at <= utcnow():
        raise Unauthorized("Authentication error: token is invalid, expired or revoked.")
    user = repo.get_user(session, login_token.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("Authentication error: token is invalid, expired or revoked.")
    tenant_id = tenant_hint or user.id
    membership = repo.get_membership(session, tenant_id, user.id) if _is_id(tenant_id) else None
    if membership is None:
        if tenant_hint:
            raise NotFound(f"tenant {tenant_hint} not found")
        raise Unauthorized("Authentication error: the user has no tenant.")
    return Principal(user, tenant_id, Role(membership.role), False, token_hash)


def list_tenants(session: Session, user_id: str) -> list[tuple[UserTenant, Tenant, User]]:
    """The tenants the user belongs to, each with its owner."""
    return repo.list_memberships(session, user_id)


def _is_id(value: str) -> bool:
    """Whether ``value`` has the shape of an id; anything else is simply not found."""
    return _ID.match(value) is not None


def _membership_or_absent(session: Session, principal: Principal, tenant_id: str) -> UserTenant:
    """The caller's membership of ``tenant_id``; a tenant it does not belong to is absent."""
    membership = (
        repo.get_membership(session, tenant_id, principal.user.id) if _is_id(tenant_id) else None
    )
    if membership is None:
        raise NotFound(f"tenant {tenant_id} not found")
    return membership


def list_members(
    session: Session, principal: Principal, tenant_id: str
) -> list[tuple[UserTenant, User]]:
    _membership_or_absent(session, principal, tenant_id)
    return repo.list_members(session, tenant_id)


def invite(
    session: Session, principal: Principal, tenant_id: str, email: str, role: str = "normal"
) -> tuple[UserTenant, User]:
    """Add an existing user to the tenant. Owners and admins invite; only owners grant admin."""
    mine = _membership_or_absent(session, principal, tenant_id)
    if not Role(mine.role).can_manage:
        raise PermissionDenied("Only the tenant's owner or an admin may invite members.")
    try:
        wanted = Role(role)
    except ValueError:
        raise InvalidArgument("role: must be 'admin' or 'normal'") from None
    if wanted is Role.OWNER:
        raise InvalidArgument("role: must be 'admin' or 'normal'")
    if wanted is Role.ADMIN and Role(mine.role) is not Role.OWNER:
        raise PermissionDenied("Only the tenant's owner may grant the admin role.")
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise InvalidArgument(f"email: invalid e-mail address {email!r}")
    user = repo.get_user_by_email(session, email)
    if user is None:
        raise NotFound(f"User not found: {email}")
    if repo.get_membership(session, tenant_id, user.id):
        raise Conflict(f"{user.email} is already a member of this team.")
    link = UserTenant(
        tenant_id=tenant_id, user_id=user.id, role=wanted.value, invited_by=principal.user.id
    )
    session.add(link)
    session.flush()
    audit.record(
        session,
        principal,
        "member.invite",
        user.email,
        {"user_id": user.id, "role": wanted.value},
        tenant_id=tenant_id,
    )
    return link, user


def remove_member(session: Session, principal: Principal, tenant_id: str, user_id: str) -> None:
    """Remove a member. Managers remove others; anyone may leave; the owner cannot be removed."""
    mine = _membership_or_absent(session, principal, tenant_id)
    target = repo.get_membership(session, tenant_id, user_id) if _is_id(user_id) else None
    if target is None:
        raise NotFound(f"user {user_id} is not a member of this team")
    if Role(target.role) is Role.OWNER:
        raise OperatingError("The owner cannot be removed from their own team.")
    if user_id != principal.user.id:
        if not Role(mine.role).can_manage:
            raise PermissionDenied("Only the tenant's owner or an admin may remove members.")
        if Role(target.role) is Role.ADMIN and Role(mine.role) is not Role.OWNER:
            raise PermissionDenied("Only the tenant's owner may remove an admin.")
    # The member's keys acted with their role here: they go with the membership.
    token_repo.delete_member_api_tokens(session, tenant_id, user_id)
    session.delete(target)
    member = repo.get_user(session, user_id)
    audit.record(
        session,
        principal,
        "member.leave" if user_id == principal.user.id else "member.remove",
        member.email if member else user_id,
        {"user_id": user_id, "role": target.role},
        tenant_id=tenant_id,
    )


def change_role(
    session: Session, principal: Principal, tenant_id: str, user_id: str, role: str
) -> tuple[UserTenant, User]:
    """Make a member an admin or a normal member again. Only the owner changes roles (the
    owner grants admin at invitation too), and the owner's own role never changes."""
    mine = _membership_or_absent(session, principal, tenant_id)
    if role not in (Role.ADMIN.value, Role.NORMAL.value):
        raise InvalidArgument("role: must be 'admin' or 'normal'")
    target = repo.get_membership(session, tenant_id, user_id) if _is_id(user_id) else None
    user = repo.get_user(session, user_id) if target is not None else None
    if target is None or user is None:
        raise NotFound(f"user {user_id} is not a member of this team")
    if Role(mine.role) is not Role.OWNER:
        raise PermissionDenied("Only the tenant's owner may change members' roles.")
    if Role(target.role) is Role.OWNER:
        raise OperatingError("The owner's role cannot be changed.")
    before = target.role
    target.role = role
    session.flush()
    if before != role:
        audit.record(
            session,
            principal,
            "member.role",
            user.email,
            {"user_id": user.id, "role": {"from": before, "to": role}},
            tenant_id=tenant_id,
        )
    return target, user
