"""Engine, sessions and the declarative base."""

from ragprism.db.base import Base, new_id, utcnow
from ragprism.db.engine import Database

__all__ = ["Base", "Database", "new_id", "utcnow"]
