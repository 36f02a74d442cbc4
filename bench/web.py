"""The dashboard's benchmarks: every ``bench/web_*.py`` module, in name order.

Each module has ``main(argv)`` and prints its own figures against its target (never
asserted). ``make bench-web`` runs this; ``BENCH_ARGS`` go to every module, so use
only options they all take (``--quick``).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path


def modules() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        f"bench.{m.name}" for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("web_")
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    for name in modules():
        print(f"== {name}", flush=True)
        importlib.import_module(name).main(args)


if __name__ == "__main__":
    main()
