"""The built-in redactors of a tenant's ``redact`` option (SPEC §3), used by
:mod:`ragprism.tracing.masking` on every traced input/output.

Redaction runs in the export workers (it used to run on the request path), on every span
of a tenant with redactors, and is built for speed. Python's ``re`` jumps to a literal
prefix an order of magnitude faster than it tries a pattern at each position (about
15 µs against 150-600 µs per 20 KB here), so every scan is anchored on a literal:

* Redaction works on the UTF-8 bytes of the text (``surrogatepass``: any ``str``
  round-trips) with ASCII-only patterns compiled at import.
* Numbers are scanned on a copy where every digit is ``0`` and ``.`` is ``-``
  (``bytes.translate``), so that "a digit" is a literal byte and a shape such as
  ``000-000-0000`` a literal prefix; ``key = value`` on a lowercased, reversed copy where
  ``:``, ``=``, ``-`` and ``_`` are NUL, so that the scan stops at separators only and
  reads the key name backwards.
* Each redactor is a fixed, small number of such scans (email 1, credit_card 1,
  ip_address 2, api_key 3, phone 4); checks a pattern cannot do cheaply (Luhn, octet
  ranges, IPv6 syntax, national phone shapes) run on the few candidates only.

About 0.2-0.35 ms for 20 KB of prose and JSON with all five redactors on this project's
2-vCPU machines (0.5-0.6 ms for 20 KB of bare numbers or of code full of ``::``; each
match adds 1-3 µs). ``tests/tracing/test_masking.py`` shows what each redactor does and
does not match.

Redactors run in a fixed order whatever order they are named in: ``api_key`` first
(a secret can contain an email address, digits or an IP address), then ``email``,
``credit_card``, ``ip_address`` and ``phone`` last (the loosest). No redactor matches a
placeholder (:data:`PLACEHOLDERS`) or the truncation marker, so masking is idempotent.
The text is often JSON: a match may directly follow an escape such as ``\\n``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

__all__ = ["PLACEHOLDERS", "REDACTORS", "apply_redactors", "redact_text", "validate_redactors"]

REDACTORS: tuple[str, ...] = ("email", "phone", "credit_card", "api_key", "ip_address")
"""The built-in redactors a tenant can list in its ``redact`` option."""

PLACEHOLDERS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "email": "[REDACTED_EMAIL]",
        "phone": "[REDACTED_PHONE]",
        "credit_card": "[REDACTED_CREDIT_CARD]",
        "api_key": "[REDACTED_API_KEY]",
        "ip_address": "[REDACTED_IP]",
    }
)
"""What each redactor puts in place of a match."""

# The order the redactors run in (see the module docstring).
_ORDER: Final = ("api_key", "email", "credit_card", "ip_address", "phone")

_Span = tuple[int, int]

# --------------------------------------------------------------------------- helpers

# "Not glued to a preceding letter", for text that is often JSON: a value may follow an
# escape such as \n or \t, whose letter does not count.
_ESC = rb"\\[nrt]"
_BACKSLASH: Final = 0x5C
_DOT: Final = 0x2E
_DIGIT: Final = frozenset(b"0123456789")
_HEX: Final = frozenset(b"0123456789abcdefABCDEF")
_LOCAL_PART: Final = frozenset(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-"
)
_ZEROS_TABLE: Final = bytes.maketrans(b"0123456789.", b"0000000000-")
_ZERO_ONES_TABLE: Final = bytes.maketrans(b"123456789", b"111111111")
_SEPARATORS_AS_NUL: Final = bytes.maketrans(b":=-_", b"\x00\x00\x00\x00")


class _Text:
    """The bytes being redacted and the scan copies made of them, each made once."""

    __slots__ = ("_low", "_zero_ones", "_zeros", "buf")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self._low: bytes | None = None
        self._zeros: bytes | None = None
        self._zero_ones: bytes | None = None

    @property
    def low(self) -> bytes:
        """ASCII letters lowercased."""
        if self._low is None:
            self._low = self.buf.lower()
        return self._low

    @property
    def zeros(self) -> bytes:
        """Every digit ``0``, every ``.`` a ``-``."""
        if self._zeros is None:
            self._zeros = self.buf.translate(_ZEROS_TABLE)
        return self._zeros

    @property
    def zero_ones(self) -> bytes:
        """``0`` kept, the other digits ``1``."""
        if self._zero_ones is None:
            self._zero_ones = self.buf.translate(_ZERO_ONES_TABLE)
        return self._zero_ones


def _merge(spans: list[_Span]) -> list[_Span]:
    """Spans from several scans, sorted, each overlap resolved for the earlier (longer)."""
    spans.sort(key=lambda span: (span[0], -span[1]))
    kept: list[_Span] = []
    end = 0
    for span in spans:
        if span[0] >= end:
            kept.append(span)
            end = span[1]
    return kept


def _replace(buf: bytes, spans: Iterable[_Span], placeholder: bytes) -> bytes:
    """``buf`` with every span (ascending, non-overlapping) replaced by ``placeholder``."""
    parts: list[bytes] = []
    last = 0
    for start, end in spans:
        parts.append(buf[last:start])
        parts.append(placeholder)
        last = end
    parts.append(buf[last:])
    return b"".join(parts)


def _escape_length(buf: bytes, pos: int) -> int:
    """How many bytes from ``pos`` belong to a backslash escape that starts at ``pos - 1``.

    ``\\n``: 1, ``\\u00e9``: 5; 0 when the backslashes before ``pos`` escape each other.
    """
    run = 0
    while pos - run > 0 and buf[pos - run - 1] == _BACKSLASH:
        run += 1
    if run % 2 == 0 or pos >= len(buf):
        return 0
    return 5 if buf[pos] == 0x75 else 1  # u


def _trie(words: Iterable[bytes]) -> bytes:
    """A pattern matching any of ``words``, factored as a trie.

    ``re`` then follows one branch per byte instead of trying every word in turn. A
    ``\\x01`` in a word becomes an empty group ``()``, which tells afterwards (through
    ``Match.lastindex``) that a word of that kind matched.
    """
    tree: dict[int | None, Any] = {}
    for word in words:
        node = tree
        for byte in word:
            node = node.setdefault(byte, {})
        node[None] = {}

    def pattern(node: dict[int | None, Any]) -> bytes:
        branches = [
            (b"()" if byte == 1 else b"\\x%02x" % byte) + pattern(child)
            for byte, child in sorted((k, v) for k, v in node.items() if k is not None)
        ]
        if not branches:
            return b""
        body = b"(?:" + b"|".join(branches) + b")"
        return body + b"?" if None in node else body

    return pattern(tree)


# --------------------------------------------------------------------------- api_key
#
# 1. "key = value" (also "key: value", JSON "key": "value", "key => value") and prefixed
#    tokens, on the lowercased copy reversed with ":=-_" as NUL: the scan stops at each
#    separator and reads a key name (or "sk", "ragflow", "xoxb", ...) backwards; the value
#    or token is then matched forwards. Only the value of "key = value" is replaced.
# 2. AWS (AKIA/ASIA + 16) and Google (AIza + 35) keys, case-sensitive, anchored on "A".
# 3. "Bearer <token>", anchored on "bearer"; the token is replaced.
# A key name or prefix must not be glued to a preceding letter ("max_tokens" is not
# "token", "task-" is not "sk-"); a digit, "_" or "-" before it is fine ("OPENAI_API_KEY",
# "x-api-key").

_KEY_NAMES: Final = (
    b"access_key",
    b"access_token",
    b"api_key",
    b"api_secret",
    b"api_token",
    b"auth_token",
    b"authorization",
    b"bearer_token",
    b"client_secret",
    b"id_token",
    b"passphrase",
    b"passwd",
    b"password",
    b"private_key",
    b"pwd",
    b"refresh_token",
    b"secret",
    b"secret_key",
    b"session_token",
    b"token",
)
# Prefixed tokens, the whole token on the lowercased text; a capital or a digit is
# required in "sk-" and "ragflow-" ones (not "ragflow-retrieval-and-generation-notes").
# Each is (prefix, body characters, minimum body length); the body runs as far as its
# characters do (see _Runs).
_TOKENS: Final = {
    b"sk": (re.compile(rb"sk-"), re.compile(rb"[a-z0-9_-]+"), 20),  # OpenAI, Langfuse sk-lf-
    b"pk": (re.compile(rb"pk-lf-"), re.compile(rb"[a-z0-9-]+"), 8),  # Langfuse public key
    b"ragflow": (re.compile(rb"ragflow-"), re.compile(rb"[a-z0-9_-]+"), 20),  # API keys
    b"xox": (re.compile(rb"xox[baprs]-"), re.compile(rb"[a-z0-9-]+"), 10),  # Slack
    b"github": (re.compile(rb"github_pat_"), re.compile(rb"[a-z0-9_]+"), 22),
    b"gh": (re.compile(rb"gh[pousr]_"), re.compile(rb"[a-z0-9]+"), 30),
}
_MIXED: Final = frozenset({b"sk", b"ragflow"})
_TOKEN_PREFIXES_REVERSED: Final = (
    b"ks",  # sk-
    b"fl\x00kp",  # pk-lf-
    b"wolfgar",  # ragflow-
    *(bytes([c]) + b"xox" for c in b"baprs"),  # xoxb- ...
    *(bytes([c]) + b"hg" for c in b"pousr"),  # ghp_ ...
    b"tap\x00buhtig",  # github_pat_
)
_KEY_NAMES_REVERSED: Final = tuple(
    spelling[::-1]
    for name in _KEY_NAMES
    # api_key is also api-key, apiKey, apikey
    for spelling in (
        (name.replace(b"_", b"\x00"), name.replace(b"_", b"")) if b"_" in name else (name,)
    )
)
_API_FIRST_BYTES: Final = bytes(
    sorted({w[0] for w in _TOKEN_PREFIXES_REVERSED + _KEY_NAMES_REVERSED} | set(b" \t\"'\\"))
)
_API_REVERSED: Final = re.compile(
    rb"\x00(?=["
    + b"".join(b"\\x%02x" % byte for byte in _API_FIRST_BYTES)
    + rb"])[ \t]*+[\"']?+\\?+"  # blanks, a closing quote between a key name and ":"
    + _trie([*(w + b"\x01" for w in _TOKEN_PREFIXES_REVERSED), *_KEY_NAMES_REVERSED])
    + rb"(?:(?![a-z\]])|(?=[nrt]\\))"
)
# After "key =": a quoted string (also JSON inside a JSON string, with \" quotes), else
# a bare word. An HTTP auth scheme in front of it is kept.
_SCHEME = rb"(?:(?:bearer|basic|token|digest)[ \t]+)?+"
# A quoted value is at most _QUOTED_MAX characters (or escapes): looking further for the
# closing quote from every "key:" of a text made of them was quadratic. A longer one is
# taken as a bare value (a JWT is still redacted whole: it has no blank or quote).
_QUOTED_MAX = 256
_API_QUOTED: Final = re.compile(
    rb"[ \t]*(?P<q>\\?[\"'])"
    + _SCHEME
    + rb"(?P<quoted>(?!(?P=q))(?:\\.|[^\\\n]){1,%d}?)(?P=q)" % _QUOTED_MAX
)
# Where a bare value starts; it runs to the end of _BARE_RUN (see _Runs).
_API_BARE: Final = re.compile(
    rb"[ \t]*(?:\\?[\"'])?"
    + _SCHEME
    + rb"(?!\[redacted_[a-z_]+\]|\xe2\x80\xa6\[truncated )"  # a placeholder, the cap marker
    + rb"(?=[^\s\"'\\,;&)\]}>])"
)
_BARE_RUN: Final = re.compile(rb"[^\s\"'\\,;&)\]}>]+")
_CLOUD_KEY: Final = re.compile(
    rb"A(?:(?<![A-Za-z\]]A)|(?<=" + _ESC + rb"A))"
    rb"(?:(?:KIA|SIA)[0-9A-Z]{16}(?![0-9A-Za-z_\[-])|Iza[0-9A-Za-z_-]{30,})"
)
_BEARER: Final = re.compile(
    rb"bearer(?:(?<![a-z\]]bearer)|(?<=" + _ESC + rb"bearer))[ \t]+"
    rb"(?!\[redacted_)(?P<token>[a-z0-9._~+/-]{16,}=*)"
)
_DIGIT_OR_CAPITAL: Final = re.compile(rb"[0-9A-Z]")


class _Runs:
    """Where a run of ``pattern``'s characters that starts at ``start`` ends, each run read
    once: a text made of "sk-sk-sk-..." or "token:token:..." has a candidate every few
    characters, all inside one run, and reading it again for each was quadratic.

    Asked in ascending order of ``start`` (a start inside the last run read gets its end).
    Also where the last digit or capital of ``buf`` in the run is (-1: none)."""

    __slots__ = ("_buf", "_end", "_last_dc", "_low", "_pattern", "_start")

    def __init__(self, pattern: re.Pattern[bytes], low: bytes, buf: bytes) -> None:
        self._pattern, self._low, self._buf = pattern, low, buf
        self._start = self._end = 0
        self._last_dc: int | None = None

    def end(self, start: int) -> int:
        if not self._start <= start < self._end:
            m = self._pattern.match(self._low, start)
            self._start, self._end = start, start if m is None else m.end()
            self._last_dc = None
        return self._end if start < self._end else start

    def has_digit_or_capital(self, start: int) -> bool:
        """Whether ``buf[start:end(start)]`` holds a digit or a capital."""
        end = self.end(start)
        if start >= end:
            return False
        if self._last_dc is None:
            m = _DIGIT_OR_CAPITAL.search(self._buf[self._start : self._end][::-1])
            self._last_dc = -1 if m is None else self._end - 1 - m.start()
        return self._last_dc >= start


def _api_key_spans(text: _Text) -> list[_Span]:
    buf, low = text.buf, text.low
    last = len(buf) - 1
    # (separator, token prefix or None), found backwards, then read forwards in order
    found: list[tuple[int, bytes | None]] = []
    for m in _API_REVERSED.finditer(low.translate(_SEPARATORS_AS_NUL)[::-1]):
        at = last - m.start()  # the separator in ``buf``
        # a token prefix, without the blanks or quote before it; None for a key name
        found.append((at, None if m.lastindex is None else m.group().lstrip(b"\x00 \t\"'\\")[::-1]))
    found.reverse()
    bare = _Runs(_BARE_RUN, low, buf)
    bodies = {head: _Runs(body, low, buf) for head, (_, body, _) in _TOKENS.items()}
    spans: list[_Span] = []
    for at, prefix in found:
        if prefix is None:
            span = _assignment_value(low, at, bare)
        else:  # a token prefix: read it forwards
            span = _token(low, at - len(prefix), prefix, bodies)
        if span is not None:
            spans.append(span)
    spans.extend(m.span() for m in _CLOUD_KEY.finditer(buf))
    for m in _BEARER.finditer(low):
        if _DIGIT_OR_CAPITAL.search(buf, *m.span("token")):
            spans.append(m.span("token"))
    return _merge(spans)


def _assignment_value(low: bytes, at: int, bare: _Runs) -> _Span | None:
    sep = low[at]
    after = low[at + 1 : at + 2]
    if sep == 0x3A:  # ":"  (":=" too; "::" is not an assignment)
        if after == b":":
            return None
    elif sep == 0x3D:  # "="  ("=>" too; "==" is a comparison)
        if after == b"=":
            return None
    else:
        return None  # "-" or "_": a longer name, such as "token-count"
    pos = at + 2 if after in (b"=", b">") else at + 1
    m = _API_QUOTED.match(low, pos)
    if m is not None:
        return m.span("quoted")
    m = _API_BARE.match(low, pos)
    if m is None:
        return None
    return m.end(), bare.end(m.end())


def _token(low: bytes, start: int, prefix: bytes, bodies: Mapping[bytes, _Runs]) -> _Span | None:
    head = next(head for head in _TOKENS if prefix.startswith(head))
    pattern, _, shortest = _TOKENS[head]
    m = pattern.match(low, start)
    if m is None:
        return None
    runs = bodies[head]
    end = runs.end(m.end())
    if end - m.end() < shortest:
        return None
    if head in _MIXED and not runs.has_digit_or_capital(m.end()):
        return None
    return start, end


# ----------------------------------------------------------------------------- email
#
# Found from each "@" (a C-speed memchr): the domain forwards, the local part backwards.

_EMAIL_DOMAIN: Final = re.compile(
    rb"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![A-Za-z0-9\[-])"
)


def _email_spans(text: _Text) -> list[_Span]:
    buf = text.buf
    spans: list[_Span] = []
    last = 0
    at = buf.find(b"@")
    while at >= 0:
        m = _EMAIL_DOMAIN.match(buf, at)
        if m is not None:
            start = at
            floor = max(last, at - 64)
            while start > floor and buf[start - 1] in _LOCAL_PART:
                start -= 1
            if start > 0 and buf[start - 1] == _BACKSLASH:
                start += _escape_length(buf, start)  # "\nbob@x.org": the n is the escape
            while start < at and buf[start] == _DOT:
                start += 1
            if start < at:
                last = m.end()
                spans.append((start, last))
        at = buf.find(b"@", max(at + 1, last))
    return spans


# ----------------------------------------------------------------------- credit_card
#
# On the digits-to-"0" copy: 13-19 digits in one run, or the printed groupings 4-4-4-4,
# 4-4-4-4-3 (19 digits) and 4-6-5 / 4-6-4 (Amex, Diners), one separator (space or dash)
# throughout. Luhn decides. A failed candidate does not hide a card starting at one of
# its later groups, and 4-4-4-4 followed by a CVV is still found. Not after a "+" (that
# is a phone number).

_CARD: Final = re.compile(
    rb"0000(?<![0+\]]0000)(?:0{9,15}"
    rb"|(?P<s>[ -])0000(?P=s)0000(?P=s)0000(?:(?P=s)000)?"
    rb"|(?P<a>[ -])000000(?P=a)0{4,5})(?![0\[])"
)
_LUHN_DOUBLED: Final = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _luhn_ok(digits: bytes) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        total += _LUHN_DOUBLED[ch - 48] if i & 1 else ch - 48
    return total % 10 == 0


def _card_spans(text: _Text) -> list[_Span]:
    buf, zeros = text.buf, text.zeros
    spans: list[_Span] = []
    pos = 0
    while (m := _CARD.search(zeros, pos)) is not None:
        start, end = m.span()
        number = buf[start:end]
        if b"." not in number:  # "." reads as "-" on the copy; not a card separator
            digits = number.translate(None, b" -")
            if not _luhn_ok(digits) and len(digits) == 19 and m.start("s") >= 0:
                end -= 4  # 4-4-4-4 and a CVV
                digits = digits[:16]
            if _luhn_ok(digits):
                spans.append((start, end))
                pos = end
                continue
        pos = start + 1
    return spans


# ------------------------------------------------------------------------ ip_address
#
# IPv6 anchored on the first ":" of an address (one with "::" or eight groups) and
# checked with ``ipaddress``; IPv4 on the digits around its first "." on the
# digits-to-"0" copy, octets 0-255. Not an address: one glued to a word, a version
# number like 1.2.3.4.5, "::", "::1" (loopback, nobody's) or short compressed forms like
# "a::b" or the slice "x[1::2]" (a compressed address needs a group of 3+ hex digits).

_NOT_AFTER_WORD = rb"(?:(?<![0-9A-Za-z_.:\]])|(?<=" + _ESC + rb"))"
_HEX_AFTER = rb"(?<=" + _NOT_AFTER_WORD + rb"[0-9A-Fa-f]{%d}:)"
_EIGHT_GROUPS = rb"(?:[0-9A-Fa-f]{1,4}:){6}[0-9A-Fa-f]"
_IPV6: Final = re.compile(
    # First, cheaply, the address's start: this ":" is its first one, after 1-4 hex digits
    # not glued to a word (or it starts the address). Only then the lookaheads, which read
    # to the end of the run of hex digits, ":" and "." -- tried at every ":" of a run, they
    # made the scan quadratic (30,000 ":" took 27 s).
    rb":(?:(?<="
    + _NOT_AFTER_WORD
    + rb":)|"
    + b"|".join(_HEX_AFTER % n for n in (1, 2, 3, 4))
    + rb")(?=[0-9A-Fa-f:])(?=:|(?:[0-9A-Fa-f.]++:)*+:|"  # "::" somewhere, or eight groups
    + _EIGHT_GROUPS
    # a group of 3+ hex digits before the ":" or after it (not "1::2", "a::b")
    + rb")(?:(?<=[0-9A-Fa-f]{3}:)|(?=(?:[0-9A-Fa-f.]{0,2}:)*+[0-9A-Fa-f.]{3}|"
    + _EIGHT_GROUPS
    + rb"))[0-9A-Fa-f:.]*+(?![G-Zg-z_\[])"
)
# A dotted quad on the copy ("." and "-" read alike there); the rest is checked on ``buf``.
_IPV4: Final = re.compile(rb"0-0(?=0{0,2}-0{1,3}-0{1,3}(?![0A-Za-z_\[]))0{0,2}-0{1,3}-0{1,3}")
_GLUED_BEFORE_IPV4: Final = frozenset(
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_.]"
)
_OCTET = rb"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4_STRICT: Final = re.compile(_OCTET + rb"(?:\." + _OCTET + rb"){3}")


def _ip_spans(text: _Text) -> list[_Span]:
    buf = text.buf
    spans: list[_Span] = []
    if b"::" in buf or buf.count(b":") >= 7:
        for m in _IPV6.finditer(buf):
            start = m.start()
            while start > max(0, m.start() - 4) and buf[start - 1] in _HEX:
                start -= 1
            end = m.end()
            while buf[end - 1] == _DOT:  # a sentence's full stop
                end -= 1
            if buf[end - 1] == 0x3A and buf[end - 2] != 0x3A:  # "fe80::1: ..."
                end -= 1
            if _is_ipv6(buf[start:end]):
                spans.append((start, end))
    for m in _IPV4.finditer(text.zeros):
        start, end = m.span()
        while start > 0 and buf[start - 1] in _DIGIT:
            start -= 1
        if not _IPV4_STRICT.fullmatch(buf, start, end):
            continue
        if (
            start > 0
            and buf[start - 1] in _GLUED_BEFORE_IPV4
            and not _escape_length(buf, start - 1)
        ):
            continue  # "v1.2.3.4", "x.1.2.3.4"; "\n1.2.3.4" is fine
        if buf[end : end + 1] == b"." and buf[end + 1 : end + 2].isdigit():
            continue  # 1.2.3.4.5
        spans.append((start, end))
    return _merge(spans)


def _is_ipv6(token: bytes) -> bool:
    if b"::" in token and all(len(group) < 3 for group in token.split(b":")):
        return False
    try:
        ipaddress.IPv6Address(token.decode("ascii"))
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------------------- phone
#
# At least 7 digits, in one of four shapes, each a scan of its own:
#   international  "+" country code, groups separated by " ", "." or "-", an "(area)"
#   parenthesised  "(415) 555-0100", "(020) 7946 0958"
#   trunk prefix   "0" then groups, one separator (" ", "/" or "-") throughout:
#                  "0170 1234567", "020 7946 0958", "06 12 34 56 78", "030/1234567"
#   North American 415-555-0100, 415.555.0100, 1-800-555-0199
# So years, ISO dates (2026-11-27), dd-mm-yyyy dates, times, versions (1.2.3), IPs,
# plain numbers and columns of numbers are not phone numbers.

_AFTER = rb"(?![0A-Za-z_\[])"
_PHONE_INTERNATIONAL: Final = re.compile(
    rb"\+0(?:(?<![0A-Za-z_+\]]\+0)|(?<=" + _ESC + rb"\+0))"
    rb"0{0,2}(?:[ -]?\(0{1,5}\))?[ -]?0++(?:[ -]0++)*+" + _AFTER
)
_PHONE_PARENTHESISED: Final = re.compile(
    rb"\(0(?:(?<![0A-Za-z_\]]\(0)|(?<=" + _ESC + rb"\(0))0{1,4}\)[ -]?0++(?:[ -]0++)*+" + _AFTER
)
_PHONE_TRUNK: Final = re.compile(
    rb"0(?:(?<![01A-Za-z_+\]]0)|(?<=" + _ESC + rb"0))(?<![01][.-]0)"
    rb"[01]{1,4}(?P<sep>[ /-])[01]++(?:(?P=sep)[01]++){0,5}+(?![01A-Za-z_\[])(?![.-][01])"
)
_TWELVE = rb"." * 12
_PHONE_NANP: Final = re.compile(
    rb"000-000-0000(?:(?<![0A-Za-z_\]-]"
    + _TWELVE
    + rb")|(?<="
    + _ESC
    + _TWELVE
    + rb")|(?<=(?<![0A-Za-z_\]-])0-"  # 1-800-...
    + _TWELVE
    + rb")|(?<="
    + _ESC
    + rb"0-"
    + _TWELVE
    + rb"))"
    + _AFTER
    + rb"(?!-0)"
)
_NANP_FIRST: Final = frozenset(b"23456789")


def _digit_count(text: bytes) -> int:
    return len(text) - len(text.translate(None, b"0123456789"))


def _phone_spans(text: _Text) -> list[_Span]:
    buf, zeros = text.buf, text.zeros
    spans: list[_Span] = []
    for pattern in (_PHONE_INTERNATIONAL, _PHONE_PARENTHESISED):
        for m in pattern.finditer(zeros):
            if _digit_count(buf[m.start() : m.end()]) >= 7:
                spans.append(m.span())
    if b"0" in text.buf:
        for m in _PHONE_TRUNK.finditer(text.zero_ones):
            sizes = [len(group) for group in buf[m.start() : m.end()].split(m.group("sep"))]
            date_like = len(sizes) == 3 and sizes[0] <= 2 and sizes[1] <= 2 and sizes[2] in (2, 4)
            if sizes[0] >= 2 and sum(sizes) >= 7 and not date_like:
                spans.append(m.span())
    for m in _PHONE_NANP.finditer(zeros):
        start, end = m.span()
        if start >= 2 and zeros[start - 1] == 0x2D:  # 1-800-555-0199
            start -= 2
            if buf[start] != 0x31:  # 1
                continue
        number = buf[start:end]
        separator = number[-5:-4]
        if number.count(separator) == len(number) - _digit_count(number) and (
            number[-12] in _NANP_FIRST
        ):
            spans.append((start, end))
    return _merge(spans)


# -------------------------------------------------------------------------- pipeline

_FIND: Final[Mapping[str, Callable[[_Text], list[_Span]]]] = {
    "api_key": _api_key_spans,
    "email": _email_spans,
    "credit_card": _card_spans,
    "ip_address": _ip_spans,
    "phone": _phone_spans,
}
_PLACEHOLDER_BYTES: Final = {name: p.encode() for name, p in PLACEHOLDERS.items()}


def validate_redactors(redact: Sequence[str]) -> tuple[str, ...]:
    """The redactors named in ``redact``, deduplicated, in the order they run.

    Raises ``ValueError`` naming the first unknown name, ``TypeError`` when ``redact``
    is a single string rather than a sequence of names.
    """
    if isinstance(redact, str | bytes):
        raise TypeError(f"redact must be a sequence of redactor names, not {redact!r}")
    wanted: set[str] = set()
    for name in redact:
        if name not in PLACEHOLDERS:
            raise ValueError(f"unknown redactor {name!r}; known redactors: {', '.join(REDACTORS)}")
        wanted.add(name)
    return tuple(name for name in _ORDER if name in wanted)


def redact_text(value: str, redact: Sequence[str]) -> str:
    """``value`` with every match of the named redactors replaced by its placeholder.

    Unknown names raise ``ValueError``. Never raises on the value, whatever ``str`` it
    is (lone surrogates included).
    """
    return apply_redactors(value, validate_redactors(redact))


def apply_redactors(value: str, names: tuple[str, ...]) -> str:
    """``value`` with the (validated, ordered) redactors ``names`` applied."""
    if not names or not value:
        return value
    text = _Text(value.encode("utf-8", "surrogatepass"))
    changed = False
    for name in names:
        spans = _FIND[name](text)
        if spans:
            text = _Text(_replace(text.buf, spans, _PLACEHOLDER_BYTES[name]))
            changed = True
    return text.buf.decode("utf-8", "surrogatepass") if changed else value
