"""Built-in demo actions, offered by ``conveyor up`` and ``conveyor agent --demo``.

Python (``conveyor.demo:tasks``): ``demo.export_csv`` (a CSV artifact of generated
records), ``demo.echo`` (returns its params), ``demo.sleep`` (waits, logging each
second), ``demo.fail`` (raises). Shell: :func:`countdown_action` (``demo.countdown``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field

from conveyor.agent.config import ShellAction, shell_action
from conveyor.sdk.context import TaskContext
from conveyor.sdk.tasks import NonRetryable, Tasks

tasks = Tasks(prefix="demo.")

EXPORT_NAME = "export.csv"
EXPORT_HEADER = ("id", "name", "email", "amount", "created_at")
_BATCH = 10_000
_FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Donald")
_LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton", "Knuth")
# Lookup tables keep a row down to one f-string: a million rows take about a second.
_PEOPLE = [f"{f} {last},{f.lower()}.{last.lower()}" for last in _LAST for f in _FIRST]
_MINUTES = [f"T{m // 60:02d}:{m % 60:02d}:00Z" for m in range(1440)]
_AMOUNTS = [f"{c // 100}.{c % 100:02d}" for c in range(0, 100_000, 7)]
_FIRST_DAY = dt.date(2024, 1, 1).toordinal()


def _rows(start: int, end: int) -> str:
    """Records ``start`` to ``end - 1`` as CSV text (no field needs quoting)."""
    lines = []
    day, date = -1, ""
    for i in range(start, end):
        if i // 1440 != day:
            day = i // 1440
            date = dt.date.fromordinal(_FIRST_DAY + day).isoformat()
        amount = _AMOUNTS[i * 7919 % len(_AMOUNTS)]
        lines.append(f"{i},{_PEOPLE[i % 64]}{i}@example.com,{amount},{date}{_MINUTES[i % 1440]}\n")
    return "".join(lines)


@tasks.action()
def export_csv(
    rows: Annotated[int, Field(ge=0, le=100_000_000)], ctx: TaskContext
) -> dict[str, Any]:
    """Export `rows` generated customer records (id, name, email, amount, created_at) as
    a downloadable CSV file, export.csv, reporting progress as it goes.

    Streams to disk in batches, so a million rows never sit in memory.
    """
    with ctx.open_artifact(EXPORT_NAME, content_type="text/csv") as out:
        out.write(",".join(EXPORT_HEADER) + "\n")
        for start in range(1, rows + 1, _BATCH):
            ctx.check_cancelled()
            end = min(start + _BATCH, rows + 1)
            out.write(_rows(start, end))
            ctx.progress(done=end - 1, total=rows)
    ctx.log(f"wrote {rows} rows to {EXPORT_NAME}")
    return {"rows": rows, "artifact": EXPORT_NAME}


@tasks.action()
def echo(**params: Any) -> dict[str, Any]:
    """Return the params it was given as its result: a quick check that an agent answers."""
    return params


@tasks.action()
def sleep(
    ctx: TaskContext, seconds: Annotated[float, Field(ge=0, le=86_400)] = 5.0
) -> dict[str, float]:
    """Wait `seconds`, logging a line and reporting progress each second: a job to watch
    live, or to cancel while it runs."""
    whole = int(seconds)
    for second in range(1, whole + 1):
        ctx.sleep(1)
        ctx.log(f"slept {second}/{seconds:g} s")
        ctx.progress(done=second, total=seconds)
    ctx.sleep(seconds - whole)
    return {"slept": seconds}


@tasks.action()
def fail(message: str = "this job fails on purpose", retryable: bool = True) -> None:
    """Fail with `message`: retried with backoff until its attempts run out (then dead), or
    dead at once when `retryable` is false. For trying retries and the dead-letter view."""
    if retryable:
        raise RuntimeError(message)
    raise NonRetryable(message)


_COUNTDOWN = """\
n="$1"
while [ "$n" -gt 0 ]; do
  echo "T-minus $n"
  if [ $((n % 5)) -eq 0 ]; then echo "still counting ($n left)" >&2; fi
  n=$((n - 1))
  sleep 1
done
echo "liftoff"
"""


def countdown_action() -> ShellAction:
    """``demo.countdown``: a shell action that counts down ``seconds``, one line a second.

    The script is fixed; the param reaches it as ``$1``, an argument, never as code.
    """
    return shell_action(
        "demo.countdown",
        {
            "description": "Count down `seconds` in a shell script, printing a line each "
            "second (and a note on stderr every five): a shell job to watch or cancel",
            "argv": ["/bin/sh", "-c", _COUNTDOWN, "countdown", "{seconds}"],
            "timeout_s": 3600,
            "params": {
                "seconds": {"type": "integer", "minimum": 0, "maximum": 3600, "default": 10}
            },
        },
    )
