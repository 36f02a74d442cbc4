"""The web dashboard at ``/``: the built single-page app, served from the package.

The UI is built from ``web/`` into the package's ``ui/`` folder (never committed; the
wheel ships it). It answers only what no API route matched: it is the router's
fallback, so an API path that exists for another method still answers 405, and
``/api/...``, the health checks and any path with a file extension that is not a
file stay a 404 in the error envelope. Every other path is a deep link into the app
and gets ``index.html``. Hashed ``assets/*`` are cached for a year, ``index.html``
never without asking. When the UI is not built, a small page says how to build it.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

PACKAGED_UI = Path(__file__).resolve().parent.parent / "ui"
"""Where the build puts the UI: ``conveyor/ui/`` next to the code."""

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # Mantine sets inline style attributes and injects its CSS variables in a <style>.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
IMMUTABLE = "public, max-age=31536000, immutable"
"""For ``assets/*``: Vite puts a content hash in each name, so a name never changes meaning."""
REVALIDATE = "no-cache"
"""For ``index.html`` and the other unhashed files: ask every time (cheap with the ETag)."""

NOT_UI_PREFIXES = ("/api/", "/healthz", "/readyz", "/metrics")


def is_ui_path(path: str) -> bool:
    """Could this path be a page of the app? Not the API, not a health check."""
    return path != "/api" and not path.startswith(NOT_UI_PREFIXES)


def has_extension(path: str) -> bool:
    """``/assets/app.js`` asks for a file; ``/jobs/1b2c`` is a deep link."""
    return "." in path.rsplit("/", 1)[-1]


def not_built_page(docs_url: str) -> str:
    """What ``/`` shows when the server runs from a source checkout whose UI is not built."""
    docs = escape(docs_url)
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Conveyor</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;
line-height:1.5}}code{{background:#eee;padding:0 .3em}}</style></head>
<body>
<h1>Conveyor is running</h1>
<p>The web dashboard is not built in this copy of Conveyor (a source checkout).
To build it, install Node.js 20.19 or later and run <code>make web</code> in the checkout
(or <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>), then reload this page.</p>
<p>The server works without it: see the <a href="{docs}">API documentation</a>.</p>
</body>
</html>
"""


class Dashboard:
    """The router's fallback: the UI's files and deep links; anything else goes to ``fallback``."""

    def __init__(self, directory: Path, fallback: ASGIApp, docs_url: str) -> None:
        self.directory = directory
        self.fallback = fallback
        self.docs_url = docs_url
        self.files = StaticFiles(directory=directory, check_dir=False)

    @property
    def built(self) -> bool:
        return (self.directory / "index.html").is_file()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not is_ui_path(path)
        ):
            await self.fallback(scope, receive, send)
            return
        response = await self._answer(path, scope)
        if response is None:
            await self.fallback(scope, receive, send)
            return
        response.headers.update(SECURITY_HEADERS)
        await response(scope, receive, send)

    async def _answer(self, path: str, scope: Scope) -> Response | None:
        if not self.built:
            if has_extension(path):
                return None
            return HTMLResponse(
                not_built_page(self.docs_url), headers={"Cache-Control": REVALIDATE}
            )
        relative = path.lstrip("/")
        if relative and relative != "index.html":
            try:
                found = await self.files.get_response(relative, scope)
            except HTTPException:
                found = None
            if found is not None and found.status_code in (200, 304):
                immutable = relative.startswith("assets/")
                found.headers["Cache-Control"] = IMMUTABLE if immutable else REVALIDATE
                return found
            if has_extension(path):
                return None  # a missing file is a 404, never the app
        index = await self.files.get_response("index.html", scope)
        index.headers["Cache-Control"] = REVALIDATE
        return index


def install(app: FastAPI, docs_url: str, directory: Path | None = None) -> None:
    """Serve the UI for every path no route matched (call after adding every route)."""
    router = app.router
    router.default = Dashboard(directory or PACKAGED_UI, router.default, docs_url)
