"""Conveyor: run background work on a fleet of agents.

The public SDK surface (``Client``, ``Tasks``) arrives with the server; today the
package exposes the error tree. The server-side core lives in ``conveyor.store``
and ``conveyor.engine`` (the ``conveyor[server]`` extra).
"""

from conveyor.errors import ConveyorError

__all__ = ["ConveyorError"]
__version__ = "0.1.0"
