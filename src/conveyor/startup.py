"""Start-up tuning shared by the long-lived processes (server, agent, task workers)."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Move everything start-up allocated (modules, classes, settings) out of the garbage
    collector's reach: its full collections would otherwise rescan it all, again and
    again, while the process handles many small jobs (about 15 % of the engine's CPU)."""
    gc.collect()
    gc.freeze()
