"""Helpers shared by the repositories."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ragprism.errors import Conflict


def flush_unique(session: Session, message: str, new: object | None = None) -> None:
    """Flush (adding ``new`` first); a unique-constraint violation becomes ``Conflict``.

    A savepoint keeps the caller's transaction usable when a concurrent write won (and,
    rolled back, takes ``new`` out of the session again).
    """
    try:
        with session.begin_nested():
            if new is not None:
                session.add(new)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(message) from exc
