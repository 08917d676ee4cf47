"""First load of the settings page in headless Chromium, against `ragprism serve`.

Issue 9's budgets: the Settings → Observability page loads in under 1 s on the local
server, and the JavaScript shipped for it is under 250 KB gzipped. This script measures
both (it asserts nothing): a fresh browser profile per run (empty cache, so every run is
a first load), logged in, from navigation start until the Langfuse card shows the
tenant's configuration state. Baseline, in the same runs: the browser loading a small
JSON document of the same server (`/v1/system/healthz`), the floor of a round trip.

    .venv/bin/python bench/web_load.py [--runs 15]

Needs the built app (`make install`) and Debian's Chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from _live_server import LiveServer, percentile
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "web" / "dist"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def login(server: LiveServer) -> str:
    account = {"email": "bench-web@example.com", "password": "bench-password"}
    httpx.post(server.url + "/v1/user/register", json={**account, "nickname": "bench"})
    body = httpx.post(server.url + "/v1/user/login", json=account).json()
    token: str = body["data"]["access_token"]
    return token


def first_load(browser: Any, url: str, token: str) -> tuple[float, dict[str, int]]:
    """Seconds from navigation to the Langfuse card, and the scripts loaded (raw bytes)."""
    context = browser.new_context()
    context.add_init_script(f"localStorage.setItem('ragprism.token', {token!r})")
    scripts: dict[str, bytes] = {}
    page = context.new_page()
    page.on(
        "response",
        lambda r: (
            scripts.__setitem__(r.url, r.body()) if r.request.resource_type == "script" else None
        ),
    )
    started = time.perf_counter()
    page.goto(url + "/settings/observability", wait_until="commit")
    page.get_by_text("Langfuse is not connected for this team yet.").wait_for()
    elapsed = time.perf_counter() - started
    page.wait_for_load_state("networkidle")
    context.close()
    return elapsed, {name: len(gzip.compress(body, 9)) for name, body in scripts.items()}


def baseline_load(browser: Any, url: str) -> float:
    context = browser.new_context()
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url + "/v1/system/healthz", wait_until="load")
    elapsed = time.perf_counter() - started
    context.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if not (DIST / "index.html").is_file():
        sys.exit("web/dist is not built: make install (or npm --prefix web run build)")
    server = LiveServer(web_dist_dir=str(DIST))
    try:
        token = login(server)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            first_load(browser, server.url, token)  # warm the server, not the browser
            app: list[float] = []
            base: list[float] = []
            sizes: dict[str, int] = {}
            for _ in range(args.runs):  # interleaved, so both see the same load
                elapsed, sizes = first_load(browser, server.url, token)
                app.append(elapsed)
                base.append(baseline_load(browser, server.url))
            browser.close()
    finally:
        server.close()
    ms = lambda values, q: percentile(values, q) * 1000  # noqa: E731
    print(f"runs: {args.runs} (fresh profile each: empty cache, first load)")
    print(
        f"settings page to Langfuse card: median {ms(app, 50):.0f} ms, "
        f"p95 {ms(app, 95):.0f} ms, max {max(app) * 1000:.0f} ms"
    )
    print(f"baseline (healthz JSON): median {ms(base, 50):.0f} ms, p95 {ms(base, 95):.0f} ms")
    print(f"ratio of medians: {statistics.median(app) / statistics.median(base):.1f}x")
    total = sum(sizes.values())
    print(f"JavaScript of the first page: {len(sizes)} files, {total / 1000:.1f} KB gzipped")
    for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
        print(f"  {name.rsplit('/', 1)[-1]}: {size / 1000:.1f} KB")


if __name__ == "__main__":
    main()
