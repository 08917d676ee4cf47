"""RAGFlow's ``metadata_condition``: choosing documents by their ``meta_fields``.

A condition is ``{"logic": "and" | "or", "conditions": [{"name", "comparison_operator",
"value"}, ...]}``, as RAGFlow's retrieval and document list take it. Text compares without
regard to case; ``>``/``<``/``≥``/``≤`` compare numbers as numbers and ``YYYY-MM-DD``
dates as dates. A document without the named field matches no condition on it. A list
value matches a positive operator when one of its items does, a negative one
(``not contains``, ``≠``, ``not in``) when all of them do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ragprism.errors import InvalidArgument
from ragprism.models import Document

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# RAGFlow's spellings of the same operator.
_ALIASES = {
    "is": "=",
    "==": "=",
    "not is": "≠",
    "!=": "≠",
    ">=": "≥",
    "<=": "≤",
    "start with": "starts with",
    "end with": "ends with",
}
_NEGATIVE = {"not contains", "≠", "not in"}
MAX_CONDITIONS = 100


@dataclass(frozen=True)
class Condition:
    name: str
    operator: str
    value: Any


@dataclass(frozen=True)
class MetadataCondition:
    logic: str
    conditions: tuple[Condition, ...]

    def matches(self, meta: dict[str, Any]) -> bool:
        results = (_matches(meta, c) for c in self.conditions)
        return all(results) if self.logic == "and" else any(results)


def _text(value: Any) -> str:
    return str(value).strip().lower()


def _ordered(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Both sides as numbers, or both as dates (strings in ISO order); None otherwise."""
    if isinstance(left, str) and isinstance(right, str) and _DATE.match(left.strip()):
        return (left.strip(), right.strip()) if _DATE.match(right.strip()) else None
    try:
        return float(left), float(right)
    except (TypeError, ValueError):
        return None


def _compare(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def check(item: Any, value: Any) -> bool:
        pair = _ordered(item, value)
        return pair is not None and op(*pair)

    return check


def _equal(item: Any, value: Any) -> bool:
    pair = _ordered(item, value)
    return pair[0] == pair[1] if pair is not None else _text(item) == _text(value)


def _within(item: Any, value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(_equal(item, v) for v in values)


_CHECKS: dict[str, Callable[[Any, Any], bool]] = {
    "contains": lambda item, value: _text(value) in _text(item),
    "not contains": lambda item, value: _text(value) not in _text(item),
    "starts with": lambda item, value: _text(item).startswith(_text(value)),
    "ends with": lambda item, value: _text(item).endswith(_text(value)),
    "=": _equal,
    "≠": lambda item, value: not _equal(item, value),
    "in": _within,
    "not in": lambda item, value: not _within(item, value),
    ">": _compare(lambda a, b: a > b),
    "<": _compare(lambda a, b: a < b),
    "≥": _compare(lambda a, b: a >= b),
    "≤": _compare(lambda a, b: a <= b),
}
OPERATORS = (*_CHECKS, "empty", "not empty")


def _matches(meta: dict[str, Any], condition: Condition) -> bool:
    if condition.name not in meta:
        return False
    found = meta[condition.name]
    if condition.operator == "empty":
        return found in (None, "", [])
    if condition.operator == "not empty":
        return found not in (None, "", [])
    items = found if isinstance(found, list) else [found]
    check = _CHECKS[condition.operator]
    if condition.operator in _NEGATIVE:
        return all(check(item, condition.value) for item in items)
    return any(check(item, condition.value) for item in items)


def parse_condition(raw: Any, field: str = "metadata_condition") -> MetadataCondition | None:
    """``raw`` checked; None when it asks for nothing (absent or empty), ``InvalidArgument``
    (101) naming the part of ``field`` that is wrong."""
    if raw is None or raw == {}:
        return None
    if not isinstance(raw, dict):
        raise InvalidArgument(f"`{field}` must be an object with `logic` and `conditions`")
    logic = raw.get("logic", "and")
    if not isinstance(logic, str) or logic.lower() not in ("and", "or"):
        raise InvalidArgument(f"`{field}.logic` must be 'and' or 'or'")
    items = raw.get("conditions", [])
    if not isinstance(items, list) or len(items) > MAX_CONDITIONS:
        raise InvalidArgument(f"`{field}.conditions` must be a list (at most {MAX_CONDITIONS})")
    conditions = []
    for index, item in enumerate(items):
        where = f"{field}.conditions[{index}]"
        if not isinstance(item, dict):
            raise InvalidArgument(f"`{where}` must be an object")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgument(f"`{where}.name` is required")
        operator = item.get("comparison_operator")
        operator = _ALIASES.get(operator, operator) if isinstance(operator, str) else None
        if operator not in OPERATORS:
            known = ", ".join(OPERATORS)
            raise InvalidArgument(f"`{where}.comparison_operator` must be one of: {known}")
        value = item.get("value")
        if operator not in ("empty", "not empty") and value is None:
            raise InvalidArgument(f"`{where}.value` is required")
        if value is not None and not isinstance(value, str | int | float | bool | list):
            raise InvalidArgument(f"`{where}.value` must be a string, a number or a list")
        conditions.append(Condition(name.strip(), operator, value))
    if not conditions:
        return None
    return MetadataCondition(logic.lower(), tuple(conditions))


def matching_document_ids(
    session: Session, tenant_id: str, dataset_ids: Sequence[str], condition: MetadataCondition
) -> list[str]:
    """The tenant's documents in ``dataset_ids`` whose ``meta_fields`` meet ``condition``."""
    rows = session.execute(
        select(Document.id, Document.meta_fields).where(
            Document.tenant_id == tenant_id, Document.dataset_id.in_(list(dataset_ids))
        )
    )
    return [row.id for row in rows if condition.matches(dict(row.meta_fields or {}))]
