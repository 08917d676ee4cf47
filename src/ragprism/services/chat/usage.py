"""Usage per day and per assistant/model, from the server's own answer records.

Requests, errors, tokens in/out, cost, answer latency p50/p95 (finished answers only,
exact, by nearest rank) and the share of negative feedback, over a range of UTC days.
The database sums per day, assistant and model; rolling those up to the groups asked
for, and ranking the latencies, happens here. Nothing is read from Langfuse: the figures
exist with or without it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import astuple, dataclass
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


Group = tuple[str, str, str]  # (day as ISO text, chat id, model)
Figures = dict[Group, tuple[repo.UsageSums, list[float]]]


def usage(
    session: Session, tenant_id: str, query: UsageQuery, today: date | None = None
) -> dict[str, Any]:
    """The usage rows of the query's groups (ordered by their keys) and the totals."""
    positions = [GROUPS.index(k) for k in query.group_by]  # of day, chat, model
    sums: dict[tuple[str, ...], repo.UsageSums] = {}
    times: dict[tuple[str, ...], list[float]] = {}
    total, every = repo.UsageSums(), []
    for key, (figures, latencies) in _by_day_chat_model(session, tenant_id, query, today).items():
        group = tuple(key[i] for i in positions)
        sums[group] = sums.get(group, repo.UsageSums()) + figures
        times.setdefault(group, []).extend(latencies)
        total = total + figures
        every.extend(latencies)
    names: dict[str, str] = {}
    if "chat" in query.group_by:
        at = query.group_by.index("chat")
        names = _chat_names(session, tenant_id, {group[at] for group in sums})
    rows = []
    for group in sorted(sums):
        row: dict[str, Any] = {}
        for name, value in zip(query.group_by, group, strict=True):
            if name == "chat":
                row["chat_id"] = value
                row["chat_name"] = names.get(value, "")
            else:
                row[name] = value
        rows.append(row | _figures(sums[group], times.get(group, [])))
    return {
        "from": query.first.isoformat(),
        "to": query.last.isoformat(),
        "group_by": list(query.group_by),
        "rows": rows,
        "total": _figures(total, every),
    }


def _by_day_chat_model(
    session: Session, tenant_id: str, query: UsageQuery, today: date | None
) -> Figures:
    """Sums and latencies per day, assistant and model: settled days (before yesterday,
    UTC: no answer is stored for them any more) from their summaries, made here on first
    use; the other days from the records."""
    settled = min(query.last, (today or datetime.now(UTC).date()) - timedelta(days=2))
    stored = (
        repo.summarised_days(session, tenant_id, query.first, settled)
        if query.first <= settled
        else {}
    )
    found: Figures = {}
    for day, groups in stored.items():
        for chat, model, *numbers, latencies in groups:
            if query.chat_id is None or chat == query.chat_id:
                found[(day.isoformat(), chat, model)] = (repo.UsageSums(*numbers), latencies)
    scope = repo.Scope(tenant_id, query.first, query.last, query.chat_id, frozenset(stored))
    live = _from_records(session, scope)
    found.update(live)
    if query.chat_id is None and query.first <= settled:
        per_day: dict[str, list[Any]] = {}
        for (iso, chat, model), (figures, latencies) in live.items():
            per_day.setdefault(iso, []).append([chat, model, *astuple(figures), latencies])
        day = query.first
        while day <= settled:
            if day not in stored:
                repo.store_summary(session, tenant_id, day, per_day.get(day.isoformat(), []))
            day += timedelta(days=1)
    return found


def _from_records(session: Session, scope: repo.Scope) -> Figures:
    """Sums per day, assistant and model, with the sorted latencies of finished answers."""
    sums = repo.usage_sums(session, scope)
    # The hot loop (one pass per finished answer) only appends; the rest is per group.
    by_key: defaultdict[tuple[Any, str, str], list[float]] = defaultdict(list)
    for day, chat, model, latency in repo.latencies(session, scope):
        by_key[(day, chat, model)].append(latency)
    latencies = {(str(day), chat, model): sorted(v) for (day, chat, model), v in by_key.items()}
    return {key: (figures, latencies.get(key, [])) for key, figures in sums.items()}


def nearest_rank(ordered: Sequence[float], percent: int) -> float | None:
    """The ``percent``-th percentile of sorted values by nearest rank (None if empty)."""
    if not ordered:
        return None
    return ordered[max(math.ceil(percent * len(ordered) / 100), 1) - 1]


def _figures(sums: repo.UsageSums, latencies: list[float]) -> dict[str, Any]:
    latencies.sort()
    share = sums.negative_feedback / sums.feedback if sums.feedback else None
    return {
        "requests": sums.requests,
        "errors": sums.errors,
        "input_tokens": sums.input_tokens,
        "output_tokens": sums.output_tokens,
        "cost": None if sums.cost is None else round(sums.cost, 12),
        "latency_p50_ms": nearest_rank(latencies, 50),
        "latency_p95_ms": nearest_rank(latencies, 95),
        "feedback": sums.feedback,
        "negative_feedback": sums.negative_feedback,
        "negative_feedback_share": share,
    }


def _chat_names(session: Session, tenant_id: str, ids: set[str]) -> dict[str, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Chat.id, Chat.name).where(Chat.tenant_id == tenant_id, Chat.id.in_(wanted))
    )
    return {row.id: row.name for row in rows}
