"""An agent behind an HTTPS proxy: the WebSocket goes through it (CONNECT), from the
standard environment variables; NO_PROXY bypasses it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import python_agent, submit, wait_states
from tests.helpers.live import LiveAgent, LiveServer
from tests.helpers.proxy import ConnectProxy


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    running = ConnectProxy()
    yield running
    running.close()


def test_agent_connects_through_the_proxy_unless_no_proxy_says_not(
    server: LiveServer, agents: list[LiveAgent], api: httpx.Client, proxy: ConnectProxy
) -> None:
    target = f"127.0.0.1:{server.port}"
    env = {"HTTPS_PROXY": proxy.url, "HTTP_PROXY": proxy.url}
    agents.append(python_agent(server, "proxied", env=env))
    assert proxy.targets == [target]
    assert f"connecting to {server.url} through proxy {proxy.url}" in agents[0].process.output()
    job = submit(api, "e2e.add", {"a": 2, "b": 3}, labels={})
    assert wait_states(api, [job]) == {job: "succeeded"}

    agents[0].process.stop()
    agents.append(python_agent(server, "direct", env={**env, "NO_PROXY": "127.0.0.1"}))
    assert proxy.targets == [target]  # nothing more went through it
    assert f"connecting to {server.url}\n" in agents[1].process.output()
