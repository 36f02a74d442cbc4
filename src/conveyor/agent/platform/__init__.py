"""Process control per operating system, chosen in this one place.

Everything an agent does to processes that differs between systems lives in one
module per platform with the same names (see :mod:`.interface`): POSIX (Linux,
macOS, the BSDs) uses sessions and process groups and signals
(:mod:`.posix`); Windows uses a Job Object per job and console control events
(:mod:`.windows`). Nothing outside this package touches process groups, signals or
Job Objects. On Linux both are type-checked (``mypy --platform win32`` for the
Windows one) but only the POSIX one runs here; see docs/agents.md.
"""

from __future__ import annotations

import sys

POSIX = "conveyor.agent.platform.posix"
WINDOWS = "conveyor.agent.platform.windows"


def module_for(platform: str) -> str:
    """The module that controls processes on ``platform`` (a ``sys.platform`` value)."""
    return WINDOWS if platform == "win32" else POSIX


if sys.platform == "win32":
    from conveyor.agent.platform import windows as current
else:
    from conveyor.agent.platform import posix as current

__all__ = ["POSIX", "WINDOWS", "current", "module_for"]
