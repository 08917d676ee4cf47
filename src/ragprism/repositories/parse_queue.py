"""Claiming queued documents fairly across tenants (the parse queue's scheduler).

A document is queued when its ``run`` is RUNNING and nobody holds a live claim on it.
Workers of every process call `claim_next_document`; it serves tenants round-robin, not
documents first-come-first-served, so one tenant's hundred queued files do not stand
before another tenant's one:

1. tenants holding fewer live claims go first (a tenant at ``per_tenant_limit`` waits);
2. among those, the tenant whose last parse began longest ago (never: first);
3. within a tenant, its oldest queued document.

On PostgreSQL and MariaDB the tenant's row is locked (``FOR UPDATE SKIP LOCKED``: a
tenant being claimed for by another worker is passed by) while its live claims are
counted and one of its documents is claimed, so concurrent workers never take a tenant
past its limit; documents are picked with ``SKIP LOCKED``. On SQLite, which
serialises writers, the claim is a compare-and-set whose condition re-counts the claims.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from ragprism.db.base import utcnow
from ragprism.models import Document, DocumentRun, Tenant


def claimable(now: datetime) -> ColumnElement[bool]:
    """Queued for parsing and not held by a live claim."""
    return and_(
        Document.run == DocumentRun.RUNNING.value,
        or_(Document.claim_expires_at.is_(None), Document.claim_expires_at < now),
    )


def _live(now: datetime) -> ColumnElement[bool]:
    """Being parsed: held by a claim that has not expired."""
    return and_(Document.run == DocumentRun.RUNNING.value, Document.claim_expires_at >= now)


def claim_next_document(
    session: Session,
    worker_id: str,
    lease_seconds: float,
    *,
    per_tenant_limit: int | None = None,
) -> Document | None:
    """Atomically claim one queued document for ``worker_id``, the next tenant's in turn.

    The claim lasts ``lease_seconds`` unless renewed; a worker that dies loses it when it
    expires and another worker takes the document over. ``parse_attempts`` counts claims.
    ``per_tenant_limit`` caps how many documents of one tenant are parsed at once, by all
    workers of all processes (None: no cap). Commit soon after: on PostgreSQL and MariaDB
    the claimed row and the tenant's row stay locked until then. Call it first in a
    session: on MariaDB it sets the transaction's isolation level.
    """
    now = utcnow()
    expires = now + timedelta(seconds=lease_seconds)
    dialect = session.get_bind().dialect.name
    sqlite = dialect == "sqlite"
    if dialect in ("mysql", "mariadb"):
        # Read what others committed (PostgreSQL's default): a claim counts the claims
        # committed after it began, and InnoDB takes no gap locks that deadlock workers.
        session.connection(execution_options={"isolation_level": "READ COMMITTED"})
    for tenant_id in tenants_in_turn(session, now, per_tenant_limit):
        if sqlite:
            document = _claim_compare_and_set(
                session, worker_id, tenant_id, now, expires, per_tenant_limit
            )
        else:
            document = _claim_locked(session, worker_id, tenant_id, now, expires, per_tenant_limit)
        if document is not None:
            return document
    return None


def tenants_in_turn(session: Session, now: datetime, per_tenant_limit: int | None) -> list[str]:
    """Tenants with queued documents, in the order they should be served."""
    rows = session.execute(
        select(
            Document.tenant_id,
            func.sum(case((_live(now), 1), else_=0)).label("live"),
            func.sum(case((claimable(now), 1), else_=0)).label("queued"),
            func.min(Document.create_time).label("oldest"),
        )
        .where(Document.run == DocumentRun.RUNNING.value)
        .group_by(Document.tenant_id)
    ).all()
    waiting = [
        row
        for row in rows
        if row.queued and (per_tenant_limit is None or row.live < per_tenant_limit)
    ]
    if not waiting:
        return []
    # When each tenant last had a parse begin, over all its documents (finished ones too).
    last_begun = session.execute(
        select(Document.tenant_id, func.max(Document.process_begin_at))
        .where(Document.tenant_id.in_([row.tenant_id for row in waiting]))
        .group_by(Document.tenant_id)
    ).all()
    served: dict[str, datetime | None] = {row[0]: row[1] for row in last_begun}
    never = datetime.min

    def turn(row: object) -> tuple[int, datetime, datetime, str]:
        tenant_id: str = row.tenant_id  # type: ignore[attr-defined]
        last = served.get(tenant_id)
        last = last.replace(tzinfo=None) if last is not None else never
        oldest: datetime = row.oldest  # type: ignore[attr-defined]
        return int(row.live), last, oldest.replace(tzinfo=None), tenant_id  # type: ignore[attr-defined]

    return [turn(row)[3] for row in sorted(waiting, key=turn)]


def _claim_locked(
    session: Session,
    worker_id: str,
    tenant_id: str,
    now: datetime,
    expires: datetime,
    per_tenant_limit: int | None,
) -> Document | None:
    if per_tenant_limit is not None:
        # Serialise the claims of one tenant, then count its claims as committed now. A
        # tenant another worker is claiming for right now is passed by, not waited for: a
        # worker holds the locks of the tenants it tried until it commits, so waiting
        # could deadlock two workers trying the same tenants in a different order.
        locked = session.scalar(
            select(Tenant.id).where(Tenant.id == tenant_id).with_for_update(skip_locked=True)
        )
        if locked is None:
            return None
        if _live_count(session, tenant_id, now) >= per_tenant_limit:
            return None
    document = session.scalars(
        select(Document)
        .where(Document.tenant_id == tenant_id, claimable(now))
        .order_by(Document.create_time, Document.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if document is None:
        return None
    document.claimed_by = worker_id
    document.claim_expires_at = expires
    document.parse_attempts += 1
    document.process_begin_at = now
    session.flush()
    return document


def _claim_compare_and_set(
    session: Session,
    worker_id: str,
    tenant_id: str,
    now: datetime,
    expires: datetime,
    per_tenant_limit: int | None,
) -> Document | None:
    other = aliased(Document)
    while True:
        candidate = session.execute(
            select(Document.id, Document.claimed_by, Document.claim_expires_at)
            .where(Document.tenant_id == tenant_id, claimable(now))
            .order_by(Document.create_time, Document.id)
            .limit(1)
        ).first()
        if candidate is None:
            return None
        conditions = [
            Document.id == candidate.id,
            Document.run == DocumentRun.RUNNING.value,
            Document.claimed_by.is_(None)
            if candidate.claimed_by is None
            else Document.claimed_by == candidate.claimed_by,
            Document.claim_expires_at.is_(None)
            if candidate.claim_expires_at is None
            else Document.claim_expires_at == candidate.claim_expires_at,
        ]
        if per_tenant_limit is not None:
            live = (
                select(func.count())
                .select_from(other)
                .where(
                    other.tenant_id == tenant_id,
                    other.run == DocumentRun.RUNNING.value,
                    other.claim_expires_at >= now,
                )
                .scalar_subquery()
            )
            conditions.append(live < per_tenant_limit)
        # Succeeds only if nobody changed the claim (or the tenant's count) since we read.
        result = session.execute(
            update(Document)
            .where(*conditions)
            .values(
                claimed_by=worker_id,
                claim_expires_at=expires,
                parse_attempts=Document.parse_attempts + 1,
                process_begin_at=now,
                update_time=now,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return session.get(Document, candidate.id, populate_existing=True)
        if (
            per_tenant_limit is not None
            and _live_count(session, tenant_id, now) >= per_tenant_limit
        ):
            return None


def _live_count(session: Session, tenant_id: str, now: datetime) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(Document)
        .where(Document.tenant_id == tenant_id, _live(now))
    )
    return int(count or 0)
