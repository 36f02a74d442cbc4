"""Client addresses: the socket peer, unless a trusted proxy forwarded the request."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from conveyor.api.client_addr import came_over_https, client_address, parse_trusted
from conveyor.errors import InvalidInput


def _request(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "client": (peer, 1234), "headers": headers})


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address(_request("203.0.113.9", "1.2.3.4"), "") == "203.0.113.9"


def test_an_untrusted_peer_cannot_claim_another_address() -> None:
    spoofed = _request("203.0.113.9", "1.2.3.4")
    assert client_address(spoofed, "10.0.0.0/8") == "203.0.113.9"


def test_a_trusted_proxy_names_the_client() -> None:
    assert client_address(_request("10.0.0.5", "198.51.100.7"), "10.0.0.0/8") == "198.51.100.7"


def test_the_rightmost_untrusted_hop_is_the_client() -> None:
    # The client wrote "1.2.3.4" itself; the proxies appended what they saw.
    request = _request("10.0.0.5", "1.2.3.4, 198.51.100.7", "10.0.0.9")
    assert client_address(request, "10.0.0.0/8, 127.0.0.1") == "198.51.100.7"


def test_only_proxies_in_the_chain_means_the_leftmost() -> None:
    assert client_address(_request("10.0.0.5", "10.0.0.6"), "10.0.0.0/8") == "10.0.0.6"


def test_garbage_stops_the_walk() -> None:
    request = _request("10.0.0.5", "198.51.100.7, not-an-ip")
    assert client_address(request, "10.0.0.0/8") == "10.0.0.5"


def test_ipv6_and_single_addresses() -> None:
    request = _request("::1", "2001:db8::7")
    assert client_address(request, "::1") == "2001:db8::7"


def test_a_bad_entry_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not an address"):
        parse_trusted("10.0.0.0/8, proxy.internal")


def _scheme_request(scheme: str, peer: str, proto: str | None) -> Request:
    headers = [(b"x-forwarded-proto", proto.encode())] if proto is not None else []
    scope = {"type": "http", "scheme": scheme, "client": (peer, 1234), "headers": headers,
             "server": ("127.0.0.1", 8000), "path": "/", "query_string": b""}  # fmt: skip
    return Request(scope)


def test_tls_here_is_https_whatever_the_headers() -> None:
    assert came_over_https(_scheme_request("https", "203.0.113.9", None), "")


def test_only_a_trusted_proxy_says_the_browser_came_over_https() -> None:
    assert not came_over_https(_scheme_request("http", "203.0.113.9", "https"), "")
    assert not came_over_https(_scheme_request("http", "203.0.113.9", "https"), "10.0.0.0/8")
    assert came_over_https(_scheme_request("http", "10.0.0.5", "https"), "10.0.0.0/8")
    assert came_over_https(_scheme_request("http", "10.0.0.5", "HTTPS, http"), "10.0.0.0/8")
    assert not came_over_https(_scheme_request("http", "10.0.0.5", "http"), "10.0.0.0/8")
    assert not came_over_https(_scheme_request("http", "10.0.0.5", None), "10.0.0.0/8")
