"""Write ``openapi.json``, the committed API contract: ``python -m conveyor.api.contract``.

A module of its own because it builds the whole app, which imports ``openapi``:
the writer sits above both.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from conveyor.api.app import create_app
from conveyor.settings import ServerSettings


def render(schema: dict[str, Any]) -> str:
    """The document as committed: pretty, keys sorted, so a diff shows what changed."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> None:
    """Write the document of the default app to the file named (default ``openapi.json``)."""
    target = Path(argv[0] if argv else "openapi.json")
    target.write_text(render(create_app(ServerSettings()).openapi()), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
