"""Queries on answer records: one per stored answer, scoped to the tenant.

Usage reads two things, both from one covering index (tenant, day, chat, model, latency,
status, tokens, cost, thumbup), so neither touches the table: the sums per day, assistant
and model (``GROUP BY`` in the index's order, no sort), and the latency of each finished
answer, from which the service takes exact percentiles. Portable to SQLite, PostgreSQL
and MariaDB, and faster than ranking with window functions (see docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import String, case, delete, func, select, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ragprism.models import AnswerRecord, UsageDay

UsageKey = tuple[Any, ...]


def get(session: Session, tenant_id: str, message_id: str) -> AnswerRecord | None:
    return session.scalars(
        select(AnswerRecord).where(
            AnswerRecord.tenant_id == tenant_id, AnswerRecord.id == message_id
        )
    ).first()


def set_feedback(session: Session, tenant_id: str, message_id: str, thumbup: bool) -> None:
    """Copy a message's feedback onto its record (its day's usage summary is dropped)."""
    day = session.scalar(
        select(AnswerRecord.day).where(
            AnswerRecord.tenant_id == tenant_id, AnswerRecord.id == message_id
        )
    )
    if day is None:
        return
    session.execute(
        update(AnswerRecord)
        .where(AnswerRecord.tenant_id == tenant_id, AnswerRecord.id == message_id)
        .values(thumbup=thumbup)
    )
    forget_days(session, [(tenant_id, day)])


def delete_for_sessions(session: Session, session_ids: Any) -> None:
    """Delete the records of these sessions (ids, or a select of them), and the usage
    summaries of their days."""
    scope = AnswerRecord.session_id.in_(session_ids)
    days = session.execute(select(AnswerRecord.tenant_id, AnswerRecord.day).where(scope).distinct())
    forget_days(session, [(tenant_id, day) for tenant_id, day in days])
    session.execute(delete(AnswerRecord).where(scope))


# -- finished days' usage ----------------------------------------------------------------


def forget_days(session: Session, days: Iterable[tuple[str, date]]) -> None:
    for tenant_id, day in days:
        session.execute(
            delete(UsageDay).where(UsageDay.tenant_id == tenant_id, UsageDay.day == day)
        )


def summarised_days(
    session: Session, tenant_id: str, first: date, last: date
) -> dict[date, list[Any]]:
    """The stored summaries of the tenant's days from ``first`` to ``last``."""
    rows = session.execute(
        select(UsageDay.day, UsageDay.groups).where(
            UsageDay.tenant_id == tenant_id, UsageDay.day >= first, UsageDay.day <= last
        )
    )
    return {day: list(groups or []) for day, groups in rows}


def store_summary(session: Session, tenant_id: str, day: date, groups: list[Any]) -> None:
    """Keep a finished day's summary; another request storing it first is fine."""
    try:
        with session.begin_nested():
            session.add(UsageDay(tenant_id=tenant_id, day=day, groups=groups))
            session.flush()
    except IntegrityError:
        pass


@dataclass(frozen=True)
class UsageSums:
    """Additive figures of a group of answers (``done``: how many finished normally)."""

    requests: int = 0
    errors: int = 0
    done: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    feedback: int = 0
    negative_feedback: int = 0

    def __add__(self, other: UsageSums) -> UsageSums:
        costs = [c for c in (self.cost, other.cost) if c is not None]
        return UsageSums(
            self.requests + other.requests,
            self.errors + other.errors,
            self.done + other.done,
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            sum(costs) if costs else None,
            self.feedback + other.feedback,
            self.negative_feedback + other.negative_feedback,
        )


@dataclass(frozen=True)
class Scope:
    """Which records: a tenant's, from ``first`` to ``last`` but not on ``skip`` days,
    of one assistant if ``chat_id``."""

    tenant_id: str
    first: date
    last: date
    chat_id: str | None = None
    skip: frozenset[date] = frozenset()

    def where(self) -> list[Any]:
        where = [
            AnswerRecord.tenant_id == self.tenant_id,
            AnswerRecord.day >= self.first,
            AnswerRecord.day <= self.last,
        ]
        if self.chat_id:
            where.append(AnswerRecord.chat_id == self.chat_id)
        if self.skip:
            where.append(AnswerRecord.day.notin_(sorted(self.skip)))
        return where


def usage_sums(session: Session, scope: Scope) -> dict[UsageKey, UsageSums]:
    """The sums per (day as ISO text, chat id, model), in the covering index's order."""
    columns = (AnswerRecord.day, AnswerRecord.chat_id, AnswerRecord.model)
    query = (
        select(
            *columns,
            func.count(),
            func.sum(case((AnswerRecord.status == "error", 1), else_=0)),
            func.sum(case((AnswerRecord.status == "done", 1), else_=0)),
            func.coalesce(func.sum(AnswerRecord.input_tokens), 0),
            func.coalesce(func.sum(AnswerRecord.output_tokens), 0),
            func.sum(AnswerRecord.cost),
            func.count(AnswerRecord.thumbup),
            func.sum(case((AnswerRecord.thumbup.is_(False), 1), else_=0)),
        )
        .where(*scope.where())
        .group_by(*columns)
    )
    found: dict[UsageKey, UsageSums] = {}
    for row in session.execute(query):
        day, chat, model, *figures = tuple(row)
        requests, errors, done, tokens_in, tokens_out, cost, feedback, negative = figures
        found[(day.isoformat(), chat, model)] = UsageSums(
            requests=int(requests),
            errors=int(errors or 0),
            done=int(done or 0),
            input_tokens=int(tokens_in),
            output_tokens=int(tokens_out),
            cost=None if cost is None else float(cost),
            feedback=int(feedback),
            negative_feedback=int(negative or 0),
        )
    return found


def latencies(session: Session, scope: Scope) -> Iterable[tuple[Any, str, str, float]]:
    """(day, chat id, model, latency in ms) of every finished answer, from the covering
    index alone. The day is left as the driver gives it (ISO text on SQLite, a ``date``
    elsewhere; ``str`` of either is the ISO date): converting 100k values costs more than
    the query."""
    query = select(
        type_coerce(AnswerRecord.day, String),
        AnswerRecord.chat_id,
        AnswerRecord.model,
        AnswerRecord.latency_ms,
    ).where(*scope.where(), AnswerRecord.status == "done")
    return session.execute(query)
