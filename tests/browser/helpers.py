"""What browser tests share: Chromium's launch, sign-in, screenshots, the axe-core check."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.helpers.needs import need

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "shots"
"""Screenshots for a person to look at (gitignored)."""
AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"

CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium (never `playwright install`)."""
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

BLOCKING_IMPACTS = ("serious", "critical")


@dataclass(frozen=True)
class Person:
    email: str
    password: str


def sign_in(page: Page, base_url: str, person: Person, path: str = "/") -> None:
    """Sign in through the form, as a person does."""
    page.goto(base_url + path)
    page.get_by_label("Email").fill(person.email)
    # "^Password": the field, not a "Show password" toggle; a required mark may follow.
    page.get_by_label(re.compile(r"^Password\b")).fill(person.password)
    page.get_by_role("button", name="Sign in").click()


def heading(page: Page, name: str) -> Any:
    """The page's title (its h1)."""
    return page.get_by_role("heading", name=name, level=1)


def _scheme_applied(page: Page, scheme: str) -> None:
    """Mantine follows the system scheme through matchMedia; wait until it switched."""
    expect(page.locator("html")).to_have_attribute(
        "data-mantine-color-scheme", scheme, timeout=5000
    )


def shoot(page: Page, name: str) -> list[Path]:
    """Screenshots of the whole page in the light and the dark scheme: shots/<name>-light.png
    and shots/<name>-dark.png. The page is left in the light scheme."""
    SHOTS.mkdir(exist_ok=True)
    written = []
    for scheme in ("dark", "light"):
        page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        _scheme_applied(page, scheme)
        path = SHOTS / f"{name}-{scheme}.png"
        page.screenshot(path=str(path), full_page=True)
        written.append(path)
    return written


def assert_accessible(page: Page, *, disable: tuple[str, ...] = ()) -> None:
    """axe-core on the page as it is now: no serious or critical violation.

    ``disable`` names rules to skip, each with a reason at the call site."""
    need(AXE.is_file(), f"{AXE} is missing: `npm ci` in web/ (axe-core is a dev dependency)")
    # Evaluated through the DevTools protocol: a <script> tag would be refused by the
    # page's own Content-Security-Policy, which stays on to be tested too.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text() + "\n;undefined")
    _settle_animations(page)
    options = {"rules": {rule: {"enabled": False} for rule in disable}}
    result = page.evaluate(
        "async (options) => await axe.run(document, {...options, resultTypes: ['violations']})",
        options,
    )
    blocking = [v for v in result["violations"] if v.get("impact") in BLOCKING_IMPACTS]
    assert not blocking, f"accessibility violations on {page.url}:\n" + _readable(blocking)


# Waits until no finite animation or CSS transition runs, checking again after a frame
# and a task so one that a component starts late (Mantine's Transition) is caught too.
_SETTLE_JS = """async () => {
  const deadline = performance.now() + 5000;
  const finite = () => document.getAnimations().filter((a) => {
    const end = a.effect && a.effect.getComputedTiming().endTime;
    return a.playState === "running" && Number.isFinite(end);
  });
  for (;;) {
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    const running = finite();
    if (running.length === 0 || performance.now() > deadline) return running.length;
    await Promise.all(running.map((a) => a.finished.catch(() => undefined)));
  }
}"""


def _settle_animations(page: Page) -> None:
    """A dialog caught half-faded-in has half-transparent text: axe would measure its
    contrast mid-transition and fail at random. Judge the page as it comes to rest."""
    still_running = page.evaluate(_SETTLE_JS)
    assert still_running == 0, f"{still_running} animations still running after 5 s on {page.url}"


def _readable(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- [{violation['impact']}] {violation['id']}: {violation['help']}")
        for node in violation.get("nodes", [])[:5]:
            target = " ".join(str(t) for t in node.get("target", []))
            summary = re.sub(r"\s+", " ", node.get("failureSummary", "")).strip()
            lines.append(f"    at {target}: {summary}")
        lines.append(f"    see {violation.get('helpUrl', '')}")
    return "\n".join(lines)
