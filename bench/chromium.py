"""What the dashboard benchmarks (bench/web_*.py) share: Debian's Chromium, the bench
user, a free port and signing a browser context in as the sign-in form does."""

from __future__ import annotations

import socket

from playwright.sync_api import BrowserContext

CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium (never `playwright install`)."""
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
EMAIL = "bench@example.com"
PASSWORD = "bench password 12345"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def sign_in(context: BrowserContext, base: str) -> None:
    """As the sign-in form does: the refresh token lands in the context's cookie."""
    answer = context.request.post(
        f"{base}/api/v1/auth/login", data={"email": EMAIL, "password": PASSWORD, "cookie": True}
    )
    assert answer.ok, answer.text()
