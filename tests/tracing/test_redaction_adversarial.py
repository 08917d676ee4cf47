"""Redaction on adversarial text at the field cap: every redactor runs in linear time.

How this is checked without asserting on wall-clock time: a redactor that is quadratic on
some input shape (as ``ip_address`` was on runs of ``:``, and ``api_key`` on "sk-sk-..."
or "token:token:...") takes seconds to minutes on 20,000 such characters, and the whole
set below then cannot finish within the test's pytest-timeout (60 s, with 10-30x headroom
over what linear redactors need even on a loaded machine: old main needed minutes here).
So the timeout is a tripwire, not a measurement; each case's outcome is asserted exactly.
The scaling itself (CPU time at n and 8n for every redactor and shape) is measured by
``bench/redaction_scaling.py``, with its figures in docs/benchmarks.md.

Dense *matches* are included too: replacing thousands of matches must stay linear.
"""

from __future__ import annotations

import pytest

from ragprism.tracing.masking import PLACEHOLDERS, REDACTORS, mask_value, redact_text

CAP = 20_000  # the default RAGPRISM_TRACE_MAX_FIELD_CHARS
KEY = PLACEHOLDERS["api_key"]

# Shapes that match nothing: the text comes back unchanged from every redactor.
NOTHING = [
    ":",
    "::",
    "1::",
    "abcd:",
    "fe80::1:",
    "\\n:",
    "\\nab:",
    "1.",
    "1.1.1.",
    "1",
    "1 ",
    "1-",
    "1/",
    "0 ",
    "01",
    "+1 ",
    "+1-",
    "(0) ",
    "(1)",
    "1-800-",
    "415-555-",
    "4111 ",
    "4111-",
    "@",
    "a@",
    "a.b@",
    "@a.",
    "@a-",
    "a-",
    "sk-",
    "ragflow-",
    "ghp_",
    "bearer ",
    "AKIA",
    "\\",
    '\\"',
    "'",
    "=",
    "x=",
]
# Shapes in which the first key prefix or key name starts a secret running to the end.
ONE_SECRET = ["sk-a1", "pk-lf-", "xoxb-", "github_pat_", "-AIza", "ragflow-A1"]
# "key: value" pairs, each value redacted.
EVERY_VALUE = ["token:", "token=", "password=", 'token:"a ', "api-key: ", "secret: x "]
# Thousands of real matches.
DENSE = {
    "email": "a@b.co ",
    "ip_address": "10.1.2.3 ",
    "phone": "+1 415 555 0100, ",
    "credit_card": "4111 1111 1111 1111 ",
}


def repeat(pattern: str, size: int = CAP) -> str:
    return (pattern * (size // len(pattern) + 1))[:size]


@pytest.mark.timeout(60)
def test_shapes_without_secrets_come_back_unchanged() -> None:
    for pattern in NOTHING:
        text = repeat(pattern)
        for name in REDACTORS:
            assert redact_text(text, [name]) == text, (pattern, name)
        assert redact_text(text, REDACTORS) == text, pattern


@pytest.mark.timeout(60)
def test_a_run_of_key_prefixes_is_one_secret() -> None:
    for pattern in ONE_SECRET:
        text = repeat(pattern)
        redacted = redact_text(text, ["api_key"])
        assert redacted.endswith(KEY), pattern
        assert len(redacted) < len(pattern) + len(KEY), pattern  # everything after a prefix
        assert redact_text(text, REDACTORS) == redacted, pattern


@pytest.mark.timeout(60)
def test_runs_of_assignments_redact_every_value() -> None:
    for pattern in EVERY_VALUE:
        text = repeat(pattern)
        redacted = redact_text(text, ["api_key"])
        assert KEY in redacted, pattern
        assert redact_text(redacted, ["api_key"]) == redacted, pattern  # idempotent
        assert redact_text(text, REDACTORS) == redacted, pattern


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sorted(DENSE))
def test_thousands_of_matches(name: str) -> None:
    pattern = DENSE[name]
    count = CAP // len(pattern)
    text = pattern * count
    redacted = redact_text(text, [name])
    assert redacted.count(PLACEHOLDERS[name]) == count
    assert redact_text(text, REDACTORS) == redacted


@pytest.mark.timeout(60)
def test_mask_value_at_the_cap_on_every_shape() -> None:
    """Through ``mask_value`` (redaction, then the cut at the cap, which may redact again)
    with all redactors, on text longer than the cap: the result respects the cap."""
    for pattern in [*NOTHING, *ONE_SECRET, *EVERY_VALUE, *DENSE.values()]:
        text = repeat(pattern, CAP + 5_000)
        masked = mask_value(text, capture="full", redact=REDACTORS, max_chars=CAP)
        assert masked is not None
        assert len(masked) <= CAP + 30, pattern
        assert mask_value(masked, capture="full", redact=REDACTORS, max_chars=CAP) == masked
