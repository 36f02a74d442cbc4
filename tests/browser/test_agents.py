"""The Agents page: the harness's agents with host and slots, live; drain; the empty state
that makes an agent key and connects an agent with it."""

from __future__ import annotations

import re
import socket

from playwright.sync_api import Page, expect

from tests.browser.helpers import Person, heading, sign_in
from tests.helpers.live import LiveAgent, LiveServer


def _row(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.get_by_role("row").filter(has=page.get_by_text(name, exact=True))


def test_agents_show_host_and_slots_live_and_drain(
    server: LiveServer, admin: Person, page: Page
) -> None:
    sign_in(page, server.url, admin, "/agents")
    expect(heading(page, "Agents")).to_be_visible()
    for name in ("browser-1", "browser-2"):
        row = _row(page, name)
        expect(row).to_contain_text("connected")
        expect(row).to_contain_text(socket.gethostname())
        expect(row).to_contain_text("0 / 2")
        expect(row).to_contain_text("browser=yes")
        expect(row).to_contain_text("demo.export_csv")
    expect(page.get_by_text("2 of 2 connected")).to_be_visible()

    page.get_by_role("button", name="Drain browser-1").click()
    dialog = page.get_by_role("dialog", name="Drain browser-1?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Drain").click()
    expect(dialog).to_be_hidden()
    expect(_row(page, "browser-1")).to_contain_text("draining")
    expect(page.get_by_role("button", name="Drain browser-1")).to_have_count(0)
    with server.client() as api:
        agents = {a["name"]: a for a in api.get("/agents").json()["items"]}
    assert agents["browser-1"]["draining"] and not agents["browser-2"]["draining"]

    # Live: a job starting (on browser-2: browser-1 is draining) shows as a busy slot, with a
    # link to the jobs running there.
    with server.client() as api:
        job = api.post("/jobs", json={"action": "demo.sleep", "params": {"seconds": 600}}).json()
    running = page.get_by_role("link", name="1 job running")
    expect(running).to_be_visible(timeout=20_000)
    expect(_row(page, "browser-2")).to_contain_text("1 / 2")
    with server.client() as api:
        agent_id = api.get(f"/jobs/{job['id']}").json()["agent_id"]
        api.post(f"/jobs/{job['id']}/cancel")
    assert agents["browser-2"]["id"] == agent_id
    assert running.get_attribute("href") == f"/jobs?agent_id={agent_id}&state=running"


def test_no_agent_yet_gives_the_command_and_a_key_that_connects_one(
    bare_server: LiveServer, admin: Person, page: Page
) -> None:
    sign_in(page, bare_server.url, admin, "/agents")
    expect(page.get_by_role("heading", name="No agent yet")).to_be_visible()
    command = page.get_by_label("Command to connect an agent")
    expect(command).to_have_text(
        f"CONVEYOR_AGENT_KEY=<agent key> conveyor agent --server {bare_server.url} --demo"
    )

    page.get_by_role("button", name="Create agent key").click()
    expect(page.get_by_text("This is the only time the key is shown")).to_be_visible()
    expect(page.get_by_role("button", name="Create agent key")).to_have_count(0)
    text = command.inner_text()
    match = re.fullmatch(
        rf"CONVEYOR_AGENT_KEY=(\S+) conveyor agent --server {re.escape(bare_server.url)} --demo",
        text,
    )
    assert match and match.group(1) != "<agent key>", text

    # The key works: an agent started with it connects, and the page shows it live.
    agent = LiveAgent(bare_server, "from-the-page", "--demo", key=match.group(1))
    try:
        expect(_row(page, "from-the-page")).to_contain_text("connected", timeout=20_000)
        expect(page.get_by_role("heading", name="No agent yet")).to_have_count(0)
    finally:
        agent.process.stop()
