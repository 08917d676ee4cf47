"""Queries on answer records: one per stored answer, scoped to the tenant.

The usage figures are computed in the database on all three backends: sums and counts
with ``GROUP BY``, and latency percentiles by nearest rank with ``ROW_NUMBER()`` and
``COUNT(*)`` windows (SQLite ≥ 3.25, PostgreSQL, MariaDB ≥ 10.2), so only the rows at
the ranks wanted leave the database, whatever the number of answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from ragprism.models import AnswerRecord

UsageKey = tuple[Any, ...]
GROUP_COLUMNS = {"day": AnswerRecord.day, "chat": AnswerRecord.chat_id, "model": AnswerRecord.model}


def get(session: Session, tenant_id: str, message_id: str) -> AnswerRecord | None:
    return session.scalars(
        select(AnswerRecord).where(
            AnswerRecord.tenant_id == tenant_id, AnswerRecord.id == message_id
        )
    ).first()


def set_feedback(session: Session, tenant_id: str, message_id: str, thumbup: bool) -> None:
    session.execute(
        update(AnswerRecord)
        .where(AnswerRecord.tenant_id == tenant_id, AnswerRecord.id == message_id)
        .values(thumbup=thumbup)
    )


def delete_for_sessions(session: Session, session_ids: Any) -> None:
    """Delete the records of these sessions (ids, or a select of them)."""
    session.execute(delete(AnswerRecord).where(AnswerRecord.session_id.in_(session_ids)))


@dataclass(frozen=True)
class UsageSums:
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost: float | None
    feedback: int
    negative_feedback: int


def _scope(tenant_id: str, first: date, last: date, chat_id: str | None) -> list[Any]:
    where = [
        AnswerRecord.tenant_id == tenant_id,
        AnswerRecord.day >= first,
        AnswerRecord.day <= last,
    ]
    if chat_id:
        where.append(AnswerRecord.chat_id == chat_id)
    return where


def usage_sums(
    session: Session,
    tenant_id: str,
    first: date,
    last: date,
    keys: Sequence[str],
    chat_id: str | None = None,
) -> dict[UsageKey, UsageSums]:
    """Requests, errors, tokens, cost and feedback per group of ``keys`` (``GROUP_COLUMNS``)."""
    columns = [GROUP_COLUMNS[k] for k in keys]
    query = select(
        *columns,
        func.count(),
        func.sum(case((AnswerRecord.status == "error", 1), else_=0)),
        func.coalesce(func.sum(AnswerRecord.input_tokens), 0),
        func.coalesce(func.sum(AnswerRecord.output_tokens), 0),
        func.sum(AnswerRecord.cost),
        func.count(AnswerRecord.thumbup),
        func.sum(case((AnswerRecord.thumbup.is_(False), 1), else_=0)),
    ).where(*_scope(tenant_id, first, last, chat_id))
    if columns:
        query = query.group_by(*columns)
    found: dict[UsageKey, UsageSums] = {}
    n = len(columns)
    for row in session.execute(query):
        figures: tuple[Any, ...] = tuple(row[n:])
        requests, errors, tokens_in, tokens_out, cost, feedback, negative = figures
        if not requests:
            continue
        found[tuple(row[:n])] = UsageSums(
            requests=int(requests),
            errors=int(errors or 0),
            input_tokens=int(tokens_in),
            output_tokens=int(tokens_out),
            cost=None if cost is None else float(cost),
            feedback=int(feedback),
            negative_feedback=int(negative or 0),
        )
    return found


def latency_percentiles(
    session: Session,
    tenant_id: str,
    first: date,
    last: date,
    keys: Sequence[str],
    percents: Sequence[int],
    chat_id: str | None = None,
) -> dict[UsageKey, dict[int, float]]:
    """Nearest-rank percentiles of the latency of finished answers, per group: the
    smallest latency whose rank r satisfies r * 100 >= p * n (integers only, so the
    same on every backend)."""
    columns = [GROUP_COLUMNS[k] for k in keys]
    ordered = AnswerRecord.latency_ms
    ranked = (
        select(
            *columns,
            ordered.label("latency"),
            func.row_number()
            .over(partition_by=columns or None, order_by=(ordered, AnswerRecord.id))
            .label("rank"),
            func.count().over(partition_by=columns or None).label("n"),
        )
        .where(*_scope(tenant_id, first, last, chat_id), AnswerRecord.status == "done")
        .subquery()
    )
    rank, n = ranked.c["rank"], ranked.c["n"]
    # Rank r is the nearest rank of p when (r - 1) * 100 < p * n <= r * 100.
    wanted = [and_(rank * 100 >= p * n, (rank - 1) * 100 < p * n) for p in percents]
    group = [ranked.c[c.key] for c in columns]
    query = select(*group, ranked.c["latency"], rank, n).where(or_(*wanted))
    found: dict[UsageKey, dict[int, float]] = {}
    for row in session.execute(query):
        key = tuple(row[: len(group)])
        latency, r, count = row[len(group) :]
        for p in percents:
            if r * 100 >= p * count and (r - 1) * 100 < p * count:
                found.setdefault(key, {})[p] = float(latency)
    return found
