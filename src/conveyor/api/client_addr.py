"""The client's address: the socket peer, or what trusted proxies forwarded.

``X-Forwarded-For`` is believed only when the peer is a configured trusted proxy
(``CONVEYOR_TRUSTED_PROXIES``), since anyone can send the header. The list is
read right to left, skipping trusted proxies: the first address that is not one
is the client (everything left of it could be forged by the client itself).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.requests import HTTPConnection

from conveyor.errors import InvalidInput

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_HOPS = 20


@lru_cache(maxsize=16)
def parse_trusted(text: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 192.168.1.7"`` → networks; :class:`InvalidInput` for a bad entry."""
    found = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise InvalidInput(
                f"CONVEYOR_TRUSTED_PROXIES: {item!r} is not an address or CIDR network"
            ) from None
    return tuple(found)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(conn: HTTPConnection, trusted_proxies: str) -> str | None:
    """Who is on the other end, as far as the configured proxies let us know."""
    peer = conn.client.host if conn.client is not None else None
    networks = parse_trusted(trusted_proxies)
    if peer is None or not networks or not _trusted(peer, networks):
        return peer
    hops = [
        hop.strip()
        for header in conn.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
        if hop.strip()
    ][-MAX_HOPS:]
    client = peer
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # garbage: trust nothing further left
        client = hop
        if not _trusted(hop, networks):
            break
    return client


def came_over_https(conn: HTTPConnection, trusted_proxies: str) -> bool:
    """The browser's connection was encrypted: TLS here, or ``X-Forwarded-Proto: https``
    from a trusted proxy (anyone else could send the header)."""
    if conn.url.scheme in ("https", "wss"):
        return True
    peer = conn.client.host if conn.client is not None else None
    networks = parse_trusted(trusted_proxies)
    if peer is None or not networks or not _trusted(peer, networks):
        return False
    forwarded = conn.headers.get("x-forwarded-proto", "")
    return forwarded.split(",")[0].strip().lower() == "https"
