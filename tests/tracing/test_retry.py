"""Retry-After parsing and backoff bounds."""

from __future__ import annotations

from datetime import UTC, datetime

from ragprism.tracing.retry import RetryPolicy, parse_retry_after

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def test_retry_after_seconds_and_http_dates() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Sun, 01 Jun 2025 12:00:30 GMT", now=NOW) == 30.0
    assert parse_retry_after("Sun, 01 Jun 2025 11:59:00 GMT", now=NOW) == 0.0  # in the past
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after("999999") == 600.0  # capped
    for bad in (None, "", "soon", "nan"):
        assert parse_retry_after(bad) is None


def test_backoff_is_jittered_capped_and_honours_retry_after() -> None:
    policy = RetryPolicy(base=0.5, cap=4.0)
    for failures in range(1, 12):
        delay = policy.delay(failures)
        assert 0.0 <= delay <= min(4.0, 0.5 * 2 ** (failures - 1))
    assert policy.delay(1, retry_after=10.0) >= 10.0


def test_a_failing_destination_is_probed_often_enough_to_resume_within_2_s() -> None:
    policy = RetryPolicy()
    assert max(policy.delay(failures) for failures in range(1, 60) for _ in range(20)) <= 1.5
    assert policy.delay(30, retry_after=5.0) >= 5.0  # the server may still ask for more
