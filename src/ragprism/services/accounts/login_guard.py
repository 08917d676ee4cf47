"""Brute-force and memory limits on login (SPEC §2, issue 13).

Two pieces, composed by ``LoginGuard``:

* ``FailureWindow`` counts failed logins per key in a sliding window; past its limit a key
  is refused with HTTP 429 and ``Retry-After`` until its oldest failure leaves the window.
  Keys are the account (the e-mail as typed, normalised) and the client address.
* ``HashingSlots`` bounds how many password hashes run at once: each Argon2 hash takes
  64 MiB, so 24 concurrent logins would take 1.5 GiB. A login that finds no free slot
  within a short wait is refused with 429, whether or not the e-mail exists.

The counts live in the process: with several server processes each counts its own share
(the limits then apply per process).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from ragprism.errors import AuthenticationFailed, TooManyRequests
from ragprism.models import User
from ragprism.services.accounts import accounts

# Keys remembered at most; the least recently failed beyond it are forgotten, so a flood of
# made-up e-mails or addresses cannot grow memory without bound.
MAX_TRACKED_KEYS = 100_000


class FailureWindow:
    """Failed attempts per key within the last ``window`` seconds, at most ``limit``."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int | None:
        """Seconds until ``key`` may try again, or None if it may now."""
        if self.limit <= 0:
            return None
        now = self._clock()
        with self._lock:
            failures = self._failures.get(key)
            if failures is None:
                return None
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if not failures:
                del self._failures[key]
                return None
            if len(failures) < self.limit:
                return None
            return max(1, math.ceil(failures[0] + self.window - now))

    def record_failure(self, key: str) -> None:
        if self.limit <= 0:
            return
        with self._lock:
            failures = self._failures.pop(key, None) or deque(maxlen=self.limit)
            failures.append(self._clock())
            self._failures[key] = failures
            while len(self._failures) > MAX_TRACKED_KEYS:
                self._failures.popitem(last=False)

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class HashingSlots:
    """At most ``size`` password hashes at once; a caller waits up to ``wait`` seconds."""

    def __init__(self, size: int, wait: float) -> None:
        self.size = size
        self.wait = wait
        self._slots = threading.BoundedSemaphore(size)

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self.wait):
            raise TooManyRequests(
                "Too many logins in progress on this server; try again in a moment.", 1
            )
        try:
            yield
        finally:
            self._slots.release()


class LoginGuard:
    """Login and registration under the failure windows and the hashing slots."""

    def __init__(
        self, per_account: FailureWindow, per_address: FailureWindow, slots: HashingSlots
    ) -> None:
        self.per_account = per_account
        self.per_address = per_address
        self.slots = slots

    def login(
        self, session: Session, email: str, password: str, ttl_seconds: int, address: str
    ) -> tuple[User, str]:
        """``accounts.login`` unless the account or address is over its failure limit."""
        account = "account:" + email.strip().lower()
        client = "address:" + address
        for window, key, what in (
            (self.per_account, account, "this account"),
            (self.per_address, client, "this address"),
        ):
            wait = window.retry_after(key)
            if wait is not None:
                raise TooManyRequests(
                    f"Too many failed logins for {what}; try again in {wait} s.", wait
                )
        try:
            with self.slots.slot():
                result = accounts.login(session, email, password, ttl_seconds)
        except AuthenticationFailed:
            self.per_account.record_failure(account)
            self.per_address.record_failure(client)
            raise
        self.per_account.clear(account)
        return result

    def create_user(self, session: Session, email: str, password: str, nickname: str) -> User:
        """``accounts.create_user`` with its password hash inside a hashing slot."""
        with self.slots.slot():
            return accounts.create_user(session, email, password, nickname)
