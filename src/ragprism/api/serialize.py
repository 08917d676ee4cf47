"""JSON shapes of records, in RAGFlow's style (millisecond times plus readable dates)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ragprism.models import ApiToken, AuditEvent, User, UserTenant


def times(create: datetime, update: datetime) -> dict[str, Any]:
    return {
        "create_time": int(create.timestamp() * 1000),
        "create_date": create.strftime("%Y-%m-%d %H:%M:%S"),
        "update_time": int(update.timestamp() * 1000),
        "update_date": update.strftime("%Y-%m-%d %H:%M:%S"),
    }


def user_json(user: User) -> dict[str, Any]:
    """A user's profile; never the password hash."""
    return {
        "id": user.id,
        "email": user.email,
        "nickname": user.nickname,
        "avatar": None,
        "language": "English",
        "is_superuser": user.is_superuser,
        "is_active": "1" if user.is_active else "0",
        "status": "1",
        **times(user.create_time, user.update_time),
    }


def api_token_json(token: ApiToken, plaintext: str | None = None) -> dict[str, Any]:
    """An API key; the full key only at creation, afterwards its masked form."""
    return {
        "id": token.id,
        "tenant_id": token.tenant_id,
        "token": plaintext or token.masked,
        "dialog_id": token.dialog_id,
        "source": token.source,
        "beta": None,
        **times(token.create_time, token.update_time),
    }


def audit_event_json(event: AuditEvent) -> dict[str, Any]:
    """An audit log entry: who, when, what changed."""
    return {
        "id": event.id,
        "action": event.action,
        "target": event.target,
        "changes": event.changes,
        "actor": {"id": event.actor_id, "email": event.actor_email},
        "via_api_key": event.via_api_key,
        "create_time": int(event.create_time.timestamp() * 1000),
        "create_date": event.create_time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def member_json(link: UserTenant, user: User) -> dict[str, Any]:
    return {
        "user_id": user.id,
        "tenant_id": link.tenant_id,
        "email": user.email,
        "nickname": user.nickname,
        "avatar": None,
        "role": link.role,
        "is_active": "1" if user.is_active else "0",
        **times(link.create_time, link.update_time),
    }
