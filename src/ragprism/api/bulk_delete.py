"""How a bulk ``DELETE`` body names what to delete, in both RAGFlow dialects.

RAGFlow's API up to ``ragflow-sdk`` 0.24 sends ``{"ids": [...]}`` and reads ``ids: null``
(or no ids) as "all of them". Later releases always send ``delete_all`` too, and there no
ids mean nothing unless ``delete_all`` is true. A body carrying ``delete_all`` speaks the
later dialect, so its reading is the safer one; a body without it keeps the old reading.
"""

from __future__ import annotations

from collections.abc import Sequence

ALL = None
"""What :func:`ids_to_delete` returns for "every one" (the services' ``None``)."""


def ids_to_delete(ids: Sequence[str] | None, delete_all: bool | None) -> list[str] | None:
    """The ids to delete, or ``None`` for all of them."""
    if ids:
        return list(ids)
    if delete_all is None:
        return ALL if ids is None else []
    return ALL if delete_all else []
