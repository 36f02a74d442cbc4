"""Network namespaces: an agent on a host of its own, cut off by taking a link down.

:class:`Namespace` makes a namespace joined to the host by a veth pair on a private
/30 (host side ``.1``, namespace side ``.2``); the test's server listens on the host
side's address, the agent runs inside (``ip netns exec`` execs: the pid is the
agent's). :meth:`Namespace.partition` takes the host side down: packets stop both
ways, sockets stay open, as a cable pulled out. Needs root (CI runs as root).
"""

from __future__ import annotations

import itertools
import os
import subprocess

_serial = itertools.count()


def can_make_namespaces() -> bool:
    return os.geteuid() == 0 and subprocess.run(["ip", "-V"], capture_output=True).returncode == 0


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


class Namespace:
    """A namespace and its veth pair, named uniquely for this process and test."""

    def __init__(self) -> None:
        serial = next(_serial)
        self.name = f"cv{os.getpid() % 100000}n{serial}"  # interface names: 15 bytes at most
        self.host_link, self.inner_link = f"{self.name}h", f"{self.name}i"
        block = serial % 16384  # a /30 of 10.<200-249>.0.0/16, one per namespace
        prefix = f"10.{200 + os.getpid() % 50}.{block // 64}"
        self.host_address = f"{prefix}.{block % 64 * 4 + 1}"
        self.inner_address = f"{prefix}.{block % 64 * 4 + 2}"

    def create(self) -> None:
        _ip("netns", "add", self.name)
        _ip("link", "add", self.host_link, "type", "veth", "peer", "name", self.inner_link)
        _ip("link", "set", self.inner_link, "netns", self.name)
        _ip("addr", "add", f"{self.host_address}/30", "dev", self.host_link)
        _ip("link", "set", self.host_link, "up")
        for args in (
            ("addr", "add", f"{self.inner_address}/30", "dev", self.inner_link),
            ("link", "set", self.inner_link, "up"),
            ("link", "set", "lo", "up"),
        ):
            _ip("netns", "exec", self.name, "ip", *args)

    @property
    def wrapper(self) -> list[str]:
        """The prefix that runs a command inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def partition(self) -> None:
        _ip("link", "set", self.host_link, "down")

    def heal(self) -> None:
        _ip("link", "set", self.host_link, "up")

    def delete(self) -> None:
        """Remove the link and the namespace, whatever state a failed test left them in."""
        subprocess.run(["ip", "link", "del", self.host_link], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=30)
