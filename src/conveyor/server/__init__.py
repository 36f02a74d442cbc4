"""The server process's own concerns: its first start and its HTTPS listeners.

:mod:`~conveyor.server.bootstrap` makes what a fresh data directory needs (the
default team, the first admin, a key for local agents); :mod:`~conveyor.server.tls`
serves the app over HTTPS with reloadable certificates and the mutual-TLS agent
listener. The dispatcher is not here: it is the engine's (:mod:`conveyor.engine.hub`).
"""
