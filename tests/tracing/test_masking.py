"""mask_value: the ``capture`` and ``redact`` options and the size cap (SPEC §3, §5)."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragprism.tracing.masking import (
    PLACEHOLDERS,
    REDACTORS,
    PendingMask,
    mask_later,
    mask_value,
    redact_text,
    truncation_marker,
    validate_redactors,
)

ALL = list(REDACTORS)
EMAIL, PHONE, CARD, KEY, IP = (
    PLACEHOLDERS[name] for name in ("email", "phone", "credit_card", "api_key", "ip_address")
)
MARKER_AT_END = re.compile(r"…\[truncated [1-9][0-9]* chars\]\Z")


def full(value: str, redact: list[str] | None = None, max_chars: int = 0) -> str:
    result = mask_value(
        value, capture="full", redact=ALL if redact is None else redact, max_chars=max_chars
    )
    assert result is not None
    return result


def only(name: str, value: str) -> str:
    """``value`` through one redactor."""
    return full(value, [name])


def assert_redacted(name: str, secret: str, context: str = "see {} now") -> None:
    """``secret`` in ``context`` becomes exactly the placeholder, alone and with all five."""
    text = context.format(secret)
    expected = context.format(PLACEHOLDERS[name])
    assert only(name, text) == expected
    assert full(text) == expected


def assert_kept(name: str, text: str) -> None:
    assert only(name, text) == text


# ------------------------------------------------------------------ capture and options


def test_metadata_capture_omits_the_value() -> None:
    for value in ("", "jane@example.com", "x" * 100_000):
        assert mask_value(value, capture="metadata", redact=ALL, max_chars=10) is None
        assert mask_value(value, capture="metadata", redact=[], max_chars=0) is None


def test_full_capture_without_redactors_or_cap_is_the_identity() -> None:
    value = "jane@example.com +1 415-555-0100 4111 1111 1111 1111 sk-proj-Abc123 10.0.0.1"
    assert mask_value(value, capture="full", redact=[], max_chars=0) == value
    assert mask_value(value, capture="full", redact=(), max_chars=-5) == value


def test_unknown_redactor_is_a_value_error_naming_it() -> None:
    for capture in ("full", "metadata"):
        with pytest.raises(ValueError, match="'ssn'"):
            mask_value("x", capture=capture, redact=["email", "ssn"], max_chars=0)
    with pytest.raises(ValueError, match="'Email'"):
        redact_text("x", ["Email"])


def test_a_single_string_is_not_a_list_of_redactors() -> None:
    with pytest.raises(TypeError, match="sequence of redactor names"):
        mask_value("x", capture="full", redact="email", max_chars=0)


def test_unknown_capture_mode_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="'none'"):
        mask_value("x", capture="none", redact=[], max_chars=0)  # type: ignore[arg-type]


def test_redactor_names_are_deduplicated_and_their_order_does_not_matter() -> None:
    assert validate_redactors(["phone", "email", "phone"]) == ("email", "phone")
    assert validate_redactors(REDACTORS) == (
        "api_key",
        "email",
        "credit_card",
        "ip_address",
        "phone",
    )
    text = "password=jane@example.com mail jane@example.com call +1 415-555-0100"
    assert full(text, ["phone", "email", "api_key"]) == full(text, ["api_key", "email", "phone"])
    assert full(text) == f"password={KEY} mail {EMAIL} call {PHONE}"


def test_placeholders_are_never_redacted_again() -> None:
    for placeholder in PLACEHOLDERS.values():
        for context in ("{}", "x {} y", "password={}", "Bearer {}", '"apiKey": "{}"'):
            text = context.format(placeholder)
            assert full(text) == full(full(text))


# ------------------------------------------------------------------------------- email


@pytest.mark.parametrize(
    "address",
    [
        "jane@example.com",
        "jane.doe+tag@mail.example.co.uk",
        "first_last%x@sub-domain.example.io",
        "JOHN.SMITH@EXAMPLE.ORG",
        "a1@xn--bcher-kva.de",
    ],
)
def test_email_addresses_are_redacted(address: str) -> None:
    assert_redacted("email", address)
    assert_redacted("email", address, "<{}>")
    assert_redacted("email", address, '{{"to": "{}"}}')
    assert_redacted("email", address, "mailto:{}.")
    assert_redacted("email", address, "联系{}谢谢")


def test_email_after_a_json_escape_keeps_the_escape() -> None:
    assert only("email", "line\\njane@example.com") == f"line\\n{EMAIL}"
    assert only("email", "tab\\tjane@example.com") == f"tab\\t{EMAIL}"


@pytest.mark.parametrize(
    "text",
    [
        "@jane on social media",
        "user@localhost",
        "jane@example",
        "a@b.c",
        "email me at jane at example dot com",
        "x@@y.com",
        "a@b.com1",
        "decorator @dataclass.field",
    ],
)
def test_not_email_addresses(text: str) -> None:
    assert_kept("email", text)


# ------------------------------------------------------------------------------- phone


@pytest.mark.parametrize(
    "number",
    [
        "+1 415-555-0100",
        "+1 (415) 555-0100",
        "+14155550100",
        "+44 20 7946 0958",
        "+44 (0)20 7946 0958",
        "+49 170 1234567",
        "+33 1 23 45 67 89",
        "+1.415.555.0100",
        "(415) 555-0100",
        "(020) 7946 0958",
        "415-555-0100",
        "415.555.0100",
        "1-800-555-0199",
        "0170 1234567",
        "020 7946 0958",
        "030/1234567",
        "06 12 34 56 78",
        "0800-123-4567",
    ],
)
def test_phone_numbers_are_redacted(number: str) -> None:
    assert_redacted("phone", number)
    assert_redacted("phone", number, "call {}.")
    assert_redacted("phone", number, '{{"phone": "{}"}}')
    assert_redacted("phone", number, "电话{}。")
    assert_redacted("phone", number, "first line\\n{}")


@pytest.mark.parametrize(
    "text",
    [
        "in 2026 we shipped",
        "1999-2026",
        "2026-11-27",
        "2026-11-27T10:00:00Z",
        "27.11.2026",
        "01.02.2026",
        "01-02-2026",
        "11/27/2026",
        "12:30:45",
        "at 09:30",
        "version 1.2.3",
        "v10.0.19045",
        "192.168.1.1",
        "10.0.0.1",
        "12345",
        "1234567",
        "1732665600",
        "page 12 of 345",
        "12 345 6789",
        "sizes 128 256 1024",
        "$1,234,567.89",
        "ISBN 978-3-16-148410-0",
        "415-555.0100",
        "3+1234567",
        "+1 23",
        "order #123-456",
    ],
)
def test_not_phone_numbers(text: str) -> None:
    assert_kept("phone", text)


# ------------------------------------------------------------------------- credit_card


@pytest.mark.parametrize(
    "number",
    [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "5555 5555 5555 4444",
        "6011 0009 9013 9424",
        "3782 822463 10005",
        "378282246310005",
        "4222222222222",
        "6304000000000000000",
        "4111 1111 1111 1111 110",
    ],
)
def test_card_numbers_passing_luhn_are_redacted(number: str) -> None:
    assert_redacted("credit_card", number)
    assert_redacted("credit_card", number, '{{"card": "{}"}}')
    assert_redacted("credit_card", number, "card: {}, thanks")


def test_card_followed_by_expiry_and_cvv() -> None:
    assert only("credit_card", "4111 1111 1111 1111 12/28 123") == f"{CARD} 12/28 123"
    # 4-4-4-4 then a 3-digit CVV: the 19 digits fail Luhn, the first 16 pass
    assert only("credit_card", "4111 1111 1111 1111 123") == f"{CARD} 123"


def test_card_after_a_number_that_fails() -> None:
    assert only("credit_card", "ref 1234 4111 1111 1111 1111") == f"ref 1234 {CARD}"


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # Luhn fails
        "4111111111111112",
        "1234567890123456",
        "12345678901234567890",  # 20 digits
        "411111111111",  # 12 digits
        "4111.1111.1111.1111",
        "4111 1111 1111",
        "+4111111111111111",  # a phone-like number
        "2026-11-27 12:30:45 1234",
    ],
)
def test_not_card_numbers(text: str) -> None:
    assert_kept("credit_card", text)


# ----------------------------------------------------------------------------- api_key


@pytest.mark.parametrize(
    "key",
    [
        "sk-proj-" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv" * 2,
        "sk-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v2W3x4",
        "sk-lf-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
        "pk-lf-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
        "sk-ant-api03-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8",
        "ragflow-Yz3Kq8Lm2Np7Rs4Tv9Wx1Ab5Cd6Ef0Gh",
        "AKIAIOSFODNN7EXAMPLE",
        "ASIAY34FZKBOKMUTVV7A",
        "ghp_" + "Ab1" * 12,
        "gho_" + "Ab1" * 12,
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxp-1234-5678-abcdef",
        "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    ],
)
def test_prefixed_keys_are_redacted(key: str) -> None:
    assert_redacted("api_key", key)
    assert_redacted("api_key", key, '{{"key": "{}"}}')
    assert_redacted("api_key", key, "export OPENAI={}\n")
    assert_redacted("api_key", key, "line\\n{}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("api_key=abc123 next", f"api_key={KEY} next"),
        ("API_KEY = 'abc 123'", f"API_KEY = '{KEY}'"),
        ("OPENAI_API_KEY=whatever", f"OPENAI_API_KEY={KEY}"),
        ("x-api-key: abc123", f"x-api-key: {KEY}"),
        ('{"apiKey": "s3cr3t value", "n": 1}', f'{{"apiKey": "{KEY}", "n": 1}}'),
        ('{"apiKey":"a\\"b"}', f'{{"apiKey":"{KEY}"}}'),
        ('{\\"password\\": \\"hunter2\\"}', f'{{\\"password\\": \\"{KEY}\\"}}'),
        ("password=hunter2&user=bob", f"password={KEY}&user=bob"),
        ("db_password: hunter2", f"db_password: {KEY}"),
        ("PASSWORD := hunter2", f"PASSWORD := {KEY}"),
        ("'passwd' => 'x y z'", f"'passwd' => '{KEY}'"),
        ("secret=abc", f"secret={KEY}"),
        ("client_secret: abc", f"client_secret: {KEY}"),
        ("SECRET_KEY='django-insecure-x'", f"SECRET_KEY='{KEY}'"),
        ("access_token=abc.def.ghi", f"access_token={KEY}"),
        ("https://x.org/cb?token=abc123&state=1", f"https://x.org/cb?token={KEY}&state=1"),
        ("connect(password=pw)", f"connect(password={KEY})"),
        ("Authorization: Bearer abc123", f"Authorization: Bearer {KEY}"),
        ('"authorization": "Basic dXNlcjpwYXNz"', f'"authorization": "Basic {KEY}"'),
        ("Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc", f"Bearer {KEY}"),
        (
            "-H 'Authorization: Bearer ragflow-Yz3Kq8Lm2Np7Rs4Tv9Wx1Ab5'",
            f"-H 'Authorization: Bearer {KEY}'",
        ),
    ],
)
def test_secret_assignments_redact_the_value_only(text: str, expected: str) -> None:
    assert only("api_key", text) == expected
    assert full(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        '"max_tokens": 512',
        "max_tokens=512",
        "token_count: 5",
        '"prompt_tokens": 10, "total_tokens": 20',
        "each token is a piece of text",
        "the password is strong",
        "password:",
        'password: ""',
        "if password == other:",
        "ragflow-chat",
        "ragflow-retrieval-and-generation-notes",
        "sk-learn",
        "task-abcdefghijklmnopqrstuvwxyz0123",
        "the Bearer authentication scheme",
        "AKIA is a prefix",
        "AKIAIOSFODNN7EXAMPLEX",
        "std::string secret_name;",
        "passwords: many",
    ],
)
def test_not_secrets(text: str) -> None:
    assert_kept("api_key", text)


# -------------------------------------------------------------------------- ip_address


@pytest.mark.parametrize(
    "address",
    [
        "192.168.0.1",
        "10.0.0.255",
        "8.8.8.8",
        "255.255.255.255",
        "0.0.0.0",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "2001:db8:85a3:0:0:8a2e:370:7334",
        "2001:db8::1",
        "2001:db8::",
        "fe80::1ff:fe23:4567:890a",
        "::ffff:192.0.2.1",
    ],
)
def test_ip_addresses_are_redacted(address: str) -> None:
    assert_redacted("ip_address", address)
    assert_redacted("ip_address", address, "host {}.")
    assert_redacted("ip_address", address, '{{"ip": "{}"}}')
    assert_redacted("ip_address", address, "line\\n{}")


def test_ip_address_with_port_or_zone_or_in_a_range() -> None:
    assert only("ip_address", "127.0.0.1:8080") == f"{IP}:8080"
    assert only("ip_address", "IP:10.0.0.1") == f"IP:{IP}"
    assert only("ip_address", "10.0.0.1-10.0.0.255") == f"{IP}-{IP}"
    assert only("ip_address", "fe80::1ff:fe23:4567:890a%eth0") == f"{IP}%eth0"


@pytest.mark.parametrize(
    "text",
    [
        "256.1.1.1",
        "999.999.999.999",
        "1.2.3",
        "1.2.3.4.5",
        "v1.2.3.4",
        "01.02.03.04",
        "10-0-0-1",
        "12:30:45",
        "std::vector<int>",
        "f :: Int -> Int",
        "x[1::2]",
        "::1",
        "a::b",
        "2026-11-27",
        "1.5 million",
    ],
)
def test_not_ip_addresses(text: str) -> None:
    assert_kept("ip_address", text)


# ---------------------------------------------------------------------------- together


def test_all_redactors_together() -> None:
    text = (
        '{"role": "user", "content": "I am jane.doe@example.com, call +44 20 7946 0958 or '
        "(415) 555-0100. Card 4111 1111 1111 1111, key sk-proj-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8, "
        'from 203.0.113.7 / 2001:db8::7. Meeting on 2026-11-27 at 12:30, v1.2.3.", '
        '"api_key": "hunter2", "max_tokens": 512}'
    )
    assert full(text) == (
        f'{{"role": "user", "content": "I am {EMAIL}, call {PHONE} or '
        f"{PHONE}. Card {CARD}, key {KEY}, "
        f'from {IP} / {IP}. Meeting on 2026-11-27 at 12:30, v1.2.3.", '
        f'"api_key": "{KEY}", "max_tokens": 512}}'
    )


def test_a_secret_containing_other_kinds_is_one_secret() -> None:
    assert full("password=jane@example.com") == f"password={KEY}"
    assert full("token: 192.168.0.1") == f"token: {KEY}"


def test_redaction_is_idempotent() -> None:
    text = (
        "jane@example.com +1 415-555-0100 4111 1111 1111 1111 password=x "
        "10.0.0.1 fe80::1ff:fe23:4567:890a 0170 1234567 Bearer eyJhbGciOiJIUzI1NiJ9.e30"
    )
    once = full(text)
    assert once != text
    assert full(once) == once
    for cap in (1, 10, 17, 40, 100):
        once = full(text, max_chars=cap)
        assert full(once, max_chars=cap) == once


def test_non_ascii_and_lone_surrogates_survive() -> None:
    text = "café 中文 \ud800 jane@example.com 🙂 \udfff"
    assert full(text) == f"café 中文 \ud800 {EMAIL} 🙂 \udfff"
    assert full("\x00\ud83d") == "\x00\ud83d"


# -------------------------------------------------------------------------- truncation


def test_truncation_marker_counts_the_characters_removed() -> None:
    result = full("abcdefghij", [], max_chars=4)
    assert result == "abcd" + truncation_marker(6) == "abcd…[truncated 6 chars]"
    assert len(result) == 4 + len(truncation_marker(6)) == 4 + 19 + len("6")
    assert full("abcdefghij", [], max_chars=9) == "abcdefghi…[truncated 1 chars]"


def test_no_truncation_at_or_under_the_cap_or_without_one() -> None:
    assert full("abcd", [], max_chars=4) == "abcd"
    assert full("abc", [], max_chars=4) == "abc"
    assert full("abcdefghij", [], max_chars=0) == "abcdefghij"
    assert full("abcdefghij", [], max_chars=-1) == "abcdefghij"


def test_truncation_counts_characters_not_bytes() -> None:
    assert full("éééééé", [], max_chars=2) == "éé…[truncated 4 chars]"
    assert full("🙂" * 5, [], max_chars=3) == "🙂🙂🙂…[truncated 2 chars]"


def test_redaction_happens_before_the_cap_and_counts_in_it() -> None:
    # "a@b.co" (6 chars) fits a cap of 10, its placeholder (16) does not
    redacted = f"{EMAIL} x"
    assert full("a@b.co x", ["email"], max_chars=10) == (
        # cutting at 10 would split the placeholder: the cut moves before it
        truncation_marker(len(redacted))
    )
    assert full("hello a@b.co x", ["email"], max_chars=30) == f"hello {EMAIL} x"
    result = full("hello a@b.co and more text here", ["email"], max_chars=30)
    assert result == f"hello {EMAIL} and mor" + truncation_marker(11)  # of 41 chars


def test_cut_that_would_create_a_match_moves_before_it() -> None:
    # "jane@example.com1" is no address; its first 16 characters are one
    text = "x jane@example.com1 tail"
    assert full(text, ["email"]) == text
    result = full(text, ["email"], max_chars=18)
    assert result == "x " + truncation_marker(len(text) - 2)
    assert full(result, ["email"], max_chars=18) == result


def test_truncated_text_is_not_truncated_again() -> None:
    once = full("abcdefghij", [], max_chars=4)
    assert full(once, [], max_chars=4) == once
    assert full(once, ALL, max_chars=4) == once


def test_huge_values_are_cut_before_redaction() -> None:
    value = "jane@example.com " * 100_000  # 1.7 MB; address and placeholder are 16 chars
    result = full(value, max_chars=1000)
    body = result[: result.index("…")]
    assert body == f"{EMAIL} " * 58  # 986 chars: a cut at 1000 would split the 59th
    assert result == body + truncation_marker(len(value) - len(body))


# --------------------------------------------------------------------------- properties

FRAGMENTS = [
    "jane@example.com",
    "@",
    "+1 415-555-0100",
    "(415) 555-0100",
    "0170 1234567",
    "415-555-0100",
    "4111 1111 1111 1111",
    "4111111111111111",
    "2026-11-27",
    "12:30:45",
    "1.2.3",
    "192.168.1.1",
    "fe80::1ff:fe23:4567:890a",
    "::",
    "sk-proj-Ab1Cd2Ef3Gh4Ij5Kl6Mn7",
    "AKIAIOSFODNN7EXAMPLE",
    "Bearer abcDEF0123456789xyz",
    "password",
    "apiKey",
    "token",
    "=",
    ":",
    '"',
    "\\n",
    "\\",
    " ",
    "\n",
    "-",
    ".",
    "0",
    "7",
    "[",
    "]",
    "…[truncated 5 chars]",
    *PLACEHOLDERS.values(),
]
TEXTS = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        st.text(st.characters(exclude_categories=()), max_size=4),  # any code point
    ),
    max_size=30,
).map("".join)
PROPERTIES = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@PROPERTIES
@given(st.text(st.characters(exclude_categories=())))
def test_property_identity_without_redactors_or_cap(value: str) -> None:
    assert mask_value(value, capture="full", redact=[], max_chars=0) == value


@PROPERTIES
@given(TEXTS, st.lists(st.sampled_from(REDACTORS), unique=True), st.integers(-3, 80))
def test_property_never_raises_and_respects_the_cap(
    value: str, redact: list[str], max_chars: int
) -> None:
    result = mask_value(value, capture="full", redact=redact, max_chars=max_chars)
    assert isinstance(result, str)
    if max_chars > 0 and len(result) > max_chars:
        marker = MARKER_AT_END.search(result)
        assert marker is not None
        assert marker.start() <= max_chars  # len(result) <= max_chars + len(marker)
    if not redact and max_chars > 0 and len(value) > max_chars and result != value:
        assert result == value[:max_chars] + truncation_marker(len(value) - max_chars)
    assert mask_value(value, capture="metadata", redact=redact, max_chars=max_chars) is None


@PROPERTIES
@given(TEXTS, st.lists(st.sampled_from(REDACTORS), unique=True), st.integers(-3, 80))
def test_property_masking_twice_is_masking_once(
    value: str, redact: list[str], max_chars: int
) -> None:
    once = full(value, redact, max_chars)
    assert full(once, redact, max_chars) == once


@PROPERTIES
@given(TEXTS, st.lists(st.sampled_from(REDACTORS), unique=True), st.integers(-3, 80))
def test_property_masking_later_is_masking_now(
    value: str, redact: list[str], max_chars: int
) -> None:
    later = mask_later(value, capture="full", redact=redact, max_chars=max_chars)
    now = mask_value(value, capture="full", redact=redact, max_chars=max_chars)
    if redact:
        assert isinstance(later, PendingMask)
        assert later.resolve() == now
    else:  # nothing to leave to the export worker: the cut is made at once
        assert later == now
    assert mask_later(value, capture="metadata", redact=redact, max_chars=max_chars) is None


def test_masking_later_keeps_only_what_the_cap_lets_through() -> None:
    value = "mail alice@example.com " * 2_000  # 46,000 characters
    later = mask_later(value, capture="full", redact=["email"], max_chars=1_000)
    assert isinstance(later, PendingMask)
    assert len(later.text) == 1_000 + 2_048  # the request thread keeps no more
    resolved = later.resolve()
    assert resolved == mask_value(value, capture="full", redact=["email"], max_chars=1_000)
    assert "alice@example.com" not in resolved
    assert MARKER_AT_END.search(resolved) is not None
    # Its repr, like a log line or a traceback, never shows the text.
    assert "alice" not in repr(later)
    assert "alice" not in str(later)
    with pytest.raises(ValueError, match="unknown redactor 'ssn'"):
        mask_later("x", capture="full", redact=["ssn"], max_chars=0)
