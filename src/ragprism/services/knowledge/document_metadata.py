"""A dataset's document metadata as a whole: RAGFlow's metadata summary and bulk update.

The summary counts, per ``meta_fields`` key, how many documents hold each value. The
update chooses documents (ids and/or a ``metadata_condition``; none: all of the dataset)
and sets or deletes keys, or single values of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ragprism.errors import InvalidArgument
from ragprism.models import Document
from ragprism.services.knowledge.datasets import get as get_dataset
from ragprism.services.knowledge.metadata_filter import MetadataCondition

_SCALARS = (str, int, float, bool)


def _documents(
    session: Session, tenant_id: str, dataset_id: str, document_ids: Sequence[str] | None
) -> list[Document]:
    get_dataset(session, tenant_id, dataset_id)
    query = select(Document).where(
        Document.tenant_id == tenant_id, Document.dataset_id == dataset_id
    )
    if document_ids is not None:
        query = query.where(Document.id.in_(list(document_ids)))
    return list(session.scalars(query.order_by(Document.create_time, Document.id)))


def _type(values: Sequence[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "number"
    return "string"


def summary(
    session: Session, tenant_id: str, dataset_id: str, document_ids: Sequence[str] | None
) -> dict[str, dict[str, Any]]:
    """``{key: {"type", "values": [[value, documents], ...]}}``, most frequent first, equal
    counts in the order of their text (not the order the database happened to return)."""
    counts: dict[str, Counter[Any]] = {}
    for document in _documents(session, tenant_id, dataset_id, document_ids):
        for key, value in (document.meta_fields or {}).items():
            values = value if isinstance(value, list) else [value]
            counts.setdefault(key, Counter()).update(dict.fromkeys(values, 1))
    return {
        key: {
            "type": _type(list(counter)),
            "values": [
                [value, n] for value, n in sorted(counter.items(), key=lambda i: (-i[1], str(i[0])))
            ],
        }
        for key, counter in sorted(counts.items())
    }


@dataclass(frozen=True)
class MetadataChange:
    """Set ``key`` to ``value`` (only where it equals ``match``, when given), or delete it
    (``value`` None: the whole key; else only that value)."""

    key: str
    value: Any = None
    match: Any = None


def _check_value(value: Any, field: str) -> None:
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, _SCALARS) for v in values):
        raise InvalidArgument(f"`{field}` must be a string, number, boolean or a list of them")


def _set(meta: dict[str, Any], change: MetadataChange) -> None:
    if change.match is None:
        meta[change.key] = change.value
        return
    current = meta.get(change.key)
    if isinstance(current, list):
        meta[change.key] = [change.value if v == change.match else v for v in current]
    elif current == change.match:
        meta[change.key] = change.value


def _delete(meta: dict[str, Any], change: MetadataChange) -> None:
    if change.key not in meta:
        return
    current = meta[change.key]
    if change.value is None:
        del meta[change.key]
    elif isinstance(current, list):
        meta[change.key] = [v for v in current if v != change.value]
    elif current == change.value:
        del meta[change.key]


def update(
    session: Session,
    tenant_id: str,
    dataset_id: str,
    *,
    document_ids: Sequence[str] | None,
    condition: MetadataCondition | None,
    updates: Sequence[MetadataChange],
    deletes: Sequence[MetadataChange],
) -> tuple[int, int]:
    """Apply the changes to the chosen documents: (documents changed, documents chosen)."""
    for index, change in enumerate(updates):
        _check_value(change.value, f"updates[{index}].value")
    chosen = [
        d
        for d in _documents(session, tenant_id, dataset_id, document_ids)
        if condition is None or condition.matches(dict(d.meta_fields or {}))
    ]
    changed = 0
    for document in chosen:
        before = dict(document.meta_fields or {})
        meta = dict(before)
        for change in updates:
            _set(meta, change)
        for change in deletes:
            _delete(meta, change)
        if meta != before:
            document.meta_fields = meta
            changed += 1
    session.flush()
    return changed, len(chosen)
