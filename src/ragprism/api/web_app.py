"""The web app (``web/dist``, built by ``make install``) at ``/``, on the API's origin.

Files of the build are served as they are; every other path outside the API answers the
app's ``index.html`` so that the browser's router shows client routes (``/login``,
``/settings/team``) on a reload. Without a build, ``/`` says how to make one.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match, Route
from starlette.types import Scope

# First path segments that belong to the server, never to the app: an unknown path there
# is the API's 404 envelope, not the app's page.
RESERVED = frozenset({"api", "v1", "docs", "redoc", "openapi.json", "metrics"})
BUILD_HINT = (
    "The web app is not built: run `make install` (or `npm --prefix web ci && npm --prefix "
    "web run build`) and restart the server; the API is served as usual."
)
# The app loads nothing from elsewhere: scripts, styles and requests stay on this origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
_HTML_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Vite names built assets after their content hash: they never change under one name.
_ASSET_HEADERS = {"Cache-Control": "public, max-age=31536000, immutable"}


def default_dist_dir() -> Path:
    """``web/dist`` of the source tree this package runs from."""
    return Path(__file__).resolve().parents[3] / "web" / "dist"


class _AppRoute(Route):
    """A catch-all route that does not match the server's own paths, so a wrong method on
    an API route still gets its 405 and an unknown API path its 404 envelope."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            first = scope["path"].lstrip("/").split("/", 1)[0]
            if first in RESERVED:
                return Match.NONE, {}
        return super().matches(scope)


def install(app: FastAPI, dist_dir: Path) -> None:
    """Serve the app built in ``dist_dir`` at ``/``; call this after adding the API routes."""
    root = dist_dir.resolve()

    def web_app(request: Request) -> Response:
        path = str(request.path_params["path"])
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(f"<!doctype html><title>ragprism</title><p>{BUILD_HINT}</p>")
        if path:
            candidate = (root / path).resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                hashed = candidate.parent == root / "assets"
                return FileResponse(candidate, headers=_ASSET_HEADERS if hashed else None)
            if path.startswith("assets/"):
                # A missing script must fail loudly, not come back as the HTML page.
                raise HTTPException(404, f"Not Found: {request.url.path}")
        return FileResponse(index, headers=_HTML_HEADERS, media_type="text/html")

    app.router.routes.append(
        _AppRoute("/{path:path}", web_app, methods=["GET", "HEAD"], include_in_schema=False)
    )
