"""The server and agent event loop: uvloop unless switched off."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from conveyor import startup


async def _loop_type() -> type[asyncio.AbstractEventLoop]:
    return type(asyncio.get_running_loop())


def test_runs_on_uvloop_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(startup.LOOP_ENV, raising=False)
    assert issubclass(startup.run(_loop_type()), uvloop.Loop)


@pytest.mark.parametrize("value", ["asyncio", " AsyncIO "])
def test_the_standard_loop_when_asked(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(startup.LOOP_ENV, value)
    assert startup.loop_factory() is None
    assert not issubclass(startup.run(_loop_type()), uvloop.Loop)


def test_run_returns_the_result_and_raises_the_error() -> None:
    async def fail() -> None:
        raise LookupError("boom")

    async def answer() -> int:
        return 42

    assert startup.run(answer()) == 42
    with pytest.raises(LookupError, match="boom"):
        startup.run(fail())
