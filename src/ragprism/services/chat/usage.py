"""Usage per day and per assistant/model, from the server's own answer records.

Requests, errors, tokens in/out, cost, answer latency p50/p95 (finished answers only)
and the share of negative feedback, over a range of UTC days. Nothing is read from
Langfuse: the figures exist with or without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ragprism.errors import InvalidArgument
from ragprism.models import Chat
from ragprism.repositories import answer_records as repo

GROUPS = ("day", "chat", "model")
DEFAULT_DAYS = 30
MAX_DAYS = 366
PERCENTS = (50, 95)


@dataclass(frozen=True)
class UsageQuery:
    """A checked usage request: an inclusive range of UTC days, the grouping, a filter."""

    first: date
    last: date
    group_by: tuple[str, ...]
    chat_id: str | None = None


def _day(field: str, value: str | None) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidArgument(f"`{field}`: must be a date as YYYY-MM-DD") from None


def parse_query(
    first: str | None,
    last: str | None,
    group_by: str | None = None,
    chat_id: str | None = None,
    today: date | None = None,
) -> UsageQuery:
    """``from``/``to`` (default: the last 30 days up to today, UTC), ``group_by`` (a comma
    list of day, chat, model; default all three); ``InvalidArgument`` naming the field."""
    to_day = _day("to", last) or today or datetime.now(UTC).date()
    from_day = _day("from", first) or to_day - timedelta(days=DEFAULT_DAYS - 1)
    if from_day > to_day:
        raise InvalidArgument("`from`: must not be after `to`")
    if (to_day - from_day).days + 1 > MAX_DAYS:
        raise InvalidArgument(f"`from`: the range may span at most {MAX_DAYS} days")
    if group_by is None:
        keys: tuple[str, ...] = GROUPS
    else:
        keys = tuple(dict.fromkeys(k.strip() for k in group_by.split(",") if k.strip()))
        unknown = [k for k in keys if k not in GROUPS]
        if unknown:
            raise InvalidArgument(f"`group_by`: unknown {unknown[0]!r} (day, chat, model)")
    return UsageQuery(from_day, to_day, keys, chat_id or None)


def usage(session: Session, tenant_id: str, query: UsageQuery) -> dict[str, Any]:
    """The usage rows of the query's groups (ordered by their keys) and the totals."""
    rows = _groups(session, tenant_id, query, query.group_by)
    total = _groups(session, tenant_id, query, ())
    names = _chat_names(session, tenant_id, [r["chat_id"] for r in rows if "chat_id" in r])
    for row in rows:
        if "chat_id" in row:
            row["chat_name"] = names.get(row["chat_id"], "")
    return {
        "from": query.first.isoformat(),
        "to": query.last.isoformat(),
        "group_by": list(query.group_by),
        "rows": rows,
        "total": total[0] if total else _figures(None, {}),
    }


def _groups(
    session: Session, tenant_id: str, query: UsageQuery, keys: Sequence[str]
) -> list[dict[str, Any]]:
    args = (session, tenant_id, query.first, query.last, keys)
    sums = repo.usage_sums(*args, chat_id=query.chat_id)
    latencies = repo.latency_percentiles(*args, PERCENTS, chat_id=query.chat_id)
    rows = []
    for key in sorted(sums, key=lambda k: tuple("" if v is None else str(v) for v in k)):
        row: dict[str, Any] = {}
        for name, value in zip(keys, key, strict=True):
            if name == "day":
                row["day"] = value.isoformat() if isinstance(value, date) else str(value)
            elif name == "chat":
                row["chat_id"] = value
            else:
                row["model"] = value
        rows.append(row | _figures(sums[key], latencies.get(key, {})))
    return rows


def _figures(sums: repo.UsageSums | None, latency: dict[int, float]) -> dict[str, Any]:
    if sums is None:
        sums = repo.UsageSums(0, 0, 0, 0, None, 0, 0)
    share = sums.negative_feedback / sums.feedback if sums.feedback else None
    return {
        "requests": sums.requests,
        "errors": sums.errors,
        "input_tokens": sums.input_tokens,
        "output_tokens": sums.output_tokens,
        "cost": None if sums.cost is None else round(sums.cost, 12),
        "latency_p50_ms": latency.get(50),
        "latency_p95_ms": latency.get(95),
        "feedback": sums.feedback,
        "negative_feedback": sums.negative_feedback,
        "negative_feedback_share": share,
    }


def _chat_names(session: Session, tenant_id: str, ids: Sequence[str]) -> dict[str, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Chat.id, Chat.name).where(Chat.tenant_id == tenant_id, Chat.id.in_(wanted))
    )
    return {row.id: row.name for row in rows}
