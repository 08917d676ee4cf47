"""What a tenant's trace may contain: ``capture`` mode, redaction and the size cap (SPEC §3, §5).

:func:`mask_value` does it all at once. The facade records through :func:`mask_later`
instead: on the request thread it only decides whether a value is captured and keeps the
part of it that the cap can let through; when the tenant has redactors, the redaction and
the cut are left to the export worker (:meth:`PendingMask.resolve`, before the span is
encoded: nothing unredacted is ever encoded, sent or spooled). The redactors themselves
live in :mod:`ragprism.tracing.redaction`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, Literal

from ragprism.tracing.redaction import (
    PLACEHOLDERS,
    REDACTORS,
    redact_text,
    validate_redactors,
)
from ragprism.tracing.redaction import apply_redactors as _redact

__all__ = [
    "PLACEHOLDERS",
    "REDACTORS",
    "PendingMask",
    "mask_later",
    "mask_value",
    "redact_text",
    "truncation_marker",
    "validate_redactors",
]

# Text more than this many characters past the cap is dropped before redaction (it would
# be cut anyway); plenty for any match that starts before the cap to end inside.
_CAP_SLACK: Final = 2048

# ------------------------------------------------------------------------ truncation

_MARKER_PREFIX: Final = "…[truncated "
_MARKER_SUFFIX: Final = " chars]"
_MARKER_AT: Final = re.compile(r"…\[truncated [1-9][0-9]* chars\]\Z")
_PLACEHOLDER_MAX: Final = max(len(p) for p in PLACEHOLDERS.values())


def truncation_marker(removed: int) -> str:
    """The marker appended to a value cut short: ``…[truncated N chars]``."""
    return f"{_MARKER_PREFIX}{removed}{_MARKER_SUFFIX}"


def _ends_truncated(text: str, max_chars: int) -> bool:
    """Whether ``text`` is already ``body + marker`` with ``len(body) <= max_chars``."""
    if not text.endswith(_MARKER_SUFFIX):
        return False
    at = text.rfind(_MARKER_PREFIX)
    return 0 <= at <= max_chars and _MARKER_AT.match(text, at) is not None


def _cut_outside_placeholder(text: str, cut: int) -> int:
    """``cut``, or the start of the placeholder that it would split."""
    at = text.rfind("[", max(0, cut - _PLACEHOLDER_MAX + 1), cut)
    if at >= 0:
        for placeholder in PLACEHOLDERS.values():
            if at + len(placeholder) > cut and text.startswith(placeholder, at):
                return at
    return cut


def _common_prefix(a: str, b: str) -> int:
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:  # binary search over C-speed slice comparisons
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _truncate(text: str, max_chars: int, names: tuple[str, ...], dropped: int) -> str:
    """``text[:cut] + marker`` with ``cut <= max_chars``.

    The cut never splits a placeholder, and the kept text is left as redaction leaves
    it: a cut that would make a match of what was none (``a@b.com1`` cut after ``.com``)
    moves back before it. So masking the result again changes nothing.
    """
    if not names:
        return text[:max_chars] + truncation_marker(len(text) - max_chars + dropped)
    cut = _cut_outside_placeholder(text, max_chars)
    while cut > 0:
        body = text[:cut]
        again = _redact(body, names)
        if again == body:
            break
        cut = _cut_outside_placeholder(text, min(_common_prefix(body, again), cut - 1))
    return text[:cut] + truncation_marker(len(text) - cut + dropped)


def mask_value(
    value: str,
    *,
    capture: Literal["full", "metadata"],
    redact: Sequence[str],
    max_chars: int,
) -> str | None:
    """``value`` as it may leave the process in a tenant's trace, or None to omit it.

    * ``capture="metadata"``: None; the caller leaves the field out.
    * ``capture="full"``: the redactors named in ``redact`` are applied (in a fixed
      order, see the module docstring), then the text is cut to ``max_chars``
      characters if longer. ``max_chars <= 0`` means no cap.

    A text that is cut becomes ``body + marker``: ``body`` is the first ``max_chars``
    characters of the redacted text (fewer only when the cut would split a placeholder
    or turn the text before it into a match) and ``marker`` is
    ``truncation_marker(N)`` = ``…[truncated N chars]``, N being the number of
    characters of the redacted text not kept. So ``len(result) <= max_chars +
    len(marker)``, where ``len(marker) == 19 + len(str(N))``. Text lying more than 2048
    characters past the cap is dropped before redaction and counted in N with its
    original length.

    Masking is idempotent: ``mask_value(mask_value(v, **o), **o) == mask_value(v, **o)``.
    For this, a text ending in a marker after at most ``max_chars`` characters is taken
    as cut already and returned as it is.

    Unknown redactor names raise ``ValueError`` in both capture modes (a bad
    configuration shows at once), and so does an unknown ``capture``. Never raises on
    the value itself, whatever ``str`` it is.
    """
    names = _captured(capture, redact)
    if names is None:
        return None
    head, dropped = _head(value, max_chars)
    return _mask(head, dropped, names, max_chars)


class PendingMask:
    """A captured input/output whose redaction and cut are still to be done (by the export
    worker): the head of the value that the cap can let through, and how much was left
    out. Neither ``repr`` nor ``str`` shows the text."""

    __slots__ = ("dropped", "max_chars", "names", "text")

    def __init__(self, text: str, dropped: int, names: tuple[str, ...], max_chars: int) -> None:
        self.text = text
        self.dropped = dropped
        self.names = names
        self.max_chars = max_chars

    def resolve(self) -> str:
        """The value as ``mask_value`` makes it."""
        return _mask(self.text, self.dropped, self.names, self.max_chars)

    def __repr__(self) -> str:
        return f"PendingMask({len(self.text)} chars, redact={self.names!r})"

    __str__ = __repr__


def mask_later(
    value: str,
    *,
    capture: Literal["full", "metadata"],
    redact: Sequence[str],
    max_chars: int,
) -> str | PendingMask | None:
    """``mask_value(value, ...)``, or a :class:`PendingMask` that resolves to it when there
    are redactors to run: the request thread then does no more than copy at most
    ``max_chars`` + 2048 characters. Raises as ``mask_value`` does."""
    names = _captured(capture, redact)
    if names is None:
        return None
    head, dropped = _head(value, max_chars)
    if not names:
        return _mask(head, dropped, names, max_chars)
    return PendingMask(head, dropped, names, max_chars)


def _captured(capture: str, redact: Sequence[str]) -> tuple[str, ...] | None:
    """The redactors to run, or None when the value is not captured at all."""
    names = validate_redactors(redact)
    if capture == "metadata":
        return None
    if capture != "full":
        raise ValueError(f"unknown capture mode {capture!r}; expected 'full' or 'metadata'")
    return names


def _head(value: str, max_chars: int) -> tuple[str, int]:
    """The part of ``value`` that redaction needs to see, and how many characters past
    it are dropped unseen."""
    if 0 < max_chars < len(value) - _CAP_SLACK:
        return value[: max_chars + _CAP_SLACK], len(value) - max_chars - _CAP_SLACK
    return value, 0


def _mask(value: str, dropped: int, names: tuple[str, ...], max_chars: int) -> str:
    text = _redact(value, names)
    if max_chars <= 0 or (len(text) <= max_chars and not dropped):
        return text
    if not dropped and _ends_truncated(text, max_chars):
        return text
    return _truncate(text, max_chars, names, dropped)
