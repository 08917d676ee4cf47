"""What a tenant's trace may contain: ``capture`` mode, redaction and the size cap (SPEC §3, §5).

:func:`mask_value` is applied to every input/output before it is recorded on a span, so
it runs on the request path; the redactors themselves live in
:mod:`ragprism.tracing.redaction`.
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
    names = validate_redactors(redact)
    if capture == "metadata":
        return None
    if capture != "full":
        raise ValueError(f"unknown capture mode {capture!r}; expected 'full' or 'metadata'")
    dropped = 0
    if 0 < max_chars < len(value) - _CAP_SLACK:
        dropped = len(value) - max_chars - _CAP_SLACK
        value = value[: max_chars + _CAP_SLACK]
    text = _redact(value, names)
    if max_chars <= 0 or (len(text) <= max_chars and not dropped):
        return text
    if not dropped and _ends_truncated(text, max_chars):
        return text
    return _truncate(text, max_chars, names, dropped)
