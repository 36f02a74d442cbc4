"""How clients (the SDK, the CLI, agents) verify the server, and present a certificate."""

from __future__ import annotations

import ssl
import warnings
from pathlib import Path


def client_ssl_context(
    verify: bool | str | Path = True,
    *,
    client_cert: str | Path | None = None,
    client_key: str | Path | None = None,
) -> ssl.SSLContext:
    """How a client verifies the server: the system trust store (True) or a CA bundle.

    A file or folder of CA certificates replaces the system store. ``False`` turns
    verification off, which is only ever explicit and warned about. A client
    certificate (mutual TLS, e.g. an agent) is presented when given.
    """
    if verify is False:
        warnings.warn(
            "TLS verification is OFF: anyone on the network can impersonate the server",
            RuntimeWarning,
            stacklevel=3,
        )
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif verify is True:
        context = ssl.create_default_context()
    elif Path(verify).is_dir():
        context = ssl.create_default_context(capath=str(verify))
    else:
        context = ssl.create_default_context(cafile=str(verify))
    if client_cert is not None:
        context.load_cert_chain(str(client_cert), str(client_key) if client_key else None)
    return context


__all__ = ["client_ssl_context"]
