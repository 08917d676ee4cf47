"""Do the redactors run in linear time? CPU time at n and 8n characters, per shape.

Each redactor (and all five together, through ``mask_value`` with the default 20,000
character cap) gets text made by repeating an adversarial shape: runs of ``:``, ``1.``,
digits, ``@``, separated digits, key prefixes (``sk-``), ``key: value`` pairs, and dense
real matches. For each, the CPU time (``time.process_time``, best of ``REPEAT``) at
``N`` = 2,500 and ``8 * N`` = 20,000 characters and their ratio: about 8 for linear work,
about 64 for quadratic. Goal: every ratio ≤ 16 (twice linear, for timer noise on small
figures) and no shape over 50 ms at 20,000 characters.

Run: ``.venv/bin/python bench/redaction_scaling.py``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from ragprism.tracing.masking import REDACTORS, mask_value, redact_text

N = 2_500
REPEAT = 5
SHAPES = [
    ":", "::", "1::", "abcd:", "fe80::1:", "\\n:", "1.", "1.1.1.", "1", "1 ", "1-", "0 ",
    "01 ", "+1 ", "(0) ", "1-800-", "4111 ", "4111-", "@", "a@", "a.b@", "@a-", "sk-",
    "sk-a1", "ragflow-", "pk-lf-", "xoxb-", "ghp_", "github_pat_", "token:", "token=",
    'token:"a ', "password=", "api-key: ", "bearer ", "-AIza", "AKIA", "\\",
    "a@b.co ", "10.1.2.3 ", "+1 415 555 0100, ", "4111 1111 1111 1111 ",
]  # fmt: skip


def cpu(run: Callable[[str], object], text: str) -> float:
    best = float("inf")
    for _ in range(REPEAT):
        start = time.process_time()
        run(text)
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    load = os.getloadavg()
    print(f"load average before the run: {load[0]:.2f} on {os.cpu_count()} CPUs")
    runs: dict[str, Callable[[str], object]] = {
        name: (lambda text, name=name: redact_text(text, [name])) for name in REDACTORS
    }
    runs["all (mask_value)"] = lambda text: mask_value(
        text, capture="full", redact=REDACTORS, max_chars=20_000
    )
    print(f"{'redactor':18}{'worst shape':>22}{'ms at n':>10}{'ms at 8n':>10}{'ratio':>8}"
          f"{'slowest at 8n':>22}{'ms':>8}")  # fmt: skip
    worst_ratio = 0.0
    for name, run in runs.items():
        rows = []
        for shape in SHAPES:
            small = (shape * (N // len(shape) + 1))[:N]
            large = (shape * (8 * N // len(shape) + 1))[: 8 * N]
            t_small, t_large = cpu(run, small), cpu(run, large)
            rows.append((t_large / max(t_small, 1e-5), shape, t_small, t_large))
        ratio, shape, t_small, t_large = max(rows)
        slow = max(rows, key=lambda row: row[3])
        worst_ratio = max(worst_ratio, ratio)
        print(f"{name:18}{shape!r:>22}{t_small * 1e3:>10.2f}{t_large * 1e3:>10.2f}{ratio:>8.1f}"
              f"{slow[1]!r:>22}{slow[3] * 1e3:>8.2f}")  # fmt: skip
    print(f"worst ratio 8n/n over {len(SHAPES)} shapes: {worst_ratio:.1f}  [linear ≈ 8; goal ≤ 16]")


if __name__ == "__main__":
    main()
