"""When to try a failing destination again: exponential backoff, full jitter, Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_RETRY_AFTER = 600.0


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` sends of a batch before it is spooled; delays grow from ``base`` to
    ``cap`` with full jitter, and never undercut the server's ``Retry-After``.
    Refused credentials are probed again every ``unauthorized_probe`` seconds.
    A batch that failed ``max_attempts`` times, or first failed more than ``max_age``
    seconds ago, is dropped ("expired"): one that Langfuse keeps refusing must not hold
    up the batches behind it for ever."""

    base: float = 0.5
    # A failing destination is probed at least this often, so that delivery resumes within
    # ~2 s of its recovery (a longer backoff carried over made it 3.5-13.9 s late); the
    # load on a failing host stays bounded by one request per tenant in flight.
    cap: float = 1.5
    attempts: int = 3
    unauthorized_probe: float = 60.0
    max_attempts: int = 100
    max_age: float = 24 * 3600.0

    def expired(self, attempts: int, first_failed: float | None, now: float) -> bool:
        """Whether a batch that failed ``attempts`` times is given up."""
        if attempts >= self.max_attempts:
            return True
        return first_failed is not None and now - first_failed > self.max_age

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the ``failures``-th consecutive failure (1-based)."""
        ceiling = min(self.cap, self.base * (2 ** max(failures - 1, 0)))
        jittered = random.uniform(0, ceiling)
        return max(jittered, retry_after or 0.0)
