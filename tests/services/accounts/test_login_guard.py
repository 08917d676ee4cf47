"""The sliding failure window behind the login limits, on a controlled clock."""

from __future__ import annotations

from ragprism.services.accounts.login_guard import FailureWindow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_retry_after_counts_down_to_the_oldest_failure_leaving_the_window() -> None:
    clock = Clock()
    window = FailureWindow(limit=2, window=60, clock=clock)
    window.record_failure("k")
    assert window.retry_after("k") is None
    clock.now += 10
    window.record_failure("k")
    assert window.retry_after("k") == 50
    clock.now += 49.5
    assert window.retry_after("k") == 1
    clock.now += 0.5
    assert window.retry_after("k") is None  # the first failure left the window
    window.record_failure("k")
    assert window.retry_after("k") == 10
    window.clear("k")
    assert window.retry_after("k") is None


def test_a_zero_limit_disables_the_window() -> None:
    window = FailureWindow(limit=0, window=60)
    for _ in range(5):
        window.record_failure("k")
    assert window.retry_after("k") is None
