"""``conveyor submit``, ``jobs list|show``, ``logs``, ``download`` (``cancel`` and ``retry``
are in :mod:`conveyor.cli.job_control`).

``jobs list --watch`` keeps the list on screen, redrawn when the team's event
stream (``GET /api/v1/events``) says a job changed: no polling.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from conveyor.cli import config
from conveyor.cli.job_filters import (
    ActionOption,
    AgentOption,
    CreatedAfterOption,
    CreatedBeforeOption,
    JobFilters,
    QueueOption,
    ScheduleOption,
    SearchOption,
    StateOption,
)
from conveyor.cli.output import (
    JSON_HELP,
    build_table,
    console,
    err_console,
    escape,
    fail,
    handles_errors,
    jsonable,
    print_json,
    state,
    table,
    when,
)
from conveyor.cli.params import latest_schema, parse_labels, parse_params
from conveyor.cli.start_times import AtOption, InOption, start_time
from conveyor.sdk.async_client import AsyncClient
from conveyor.sdk.client import Client
from conveyor.sdk.errors import JobFailed
from conveyor.sdk.models import Job

app = typer.Typer(no_args_is_help=True, help="List and inspect jobs.")

JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
JobArg = Annotated[str, typer.Argument(help="The job's id.", show_default=False)]

REDRAW_GAP_S = 0.25
"""``--watch`` redraws at most this often: a burst of changes becomes one redraw."""


@handles_errors
def submit(
    action: Annotated[str, typer.Argument(help="The action to run, e.g. demo.export_csv.")],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="A param as key=value (typed by the action's schema) or key:=JSON; repeatable.",
        ),
    ] = None,
    params_json: Annotated[
        str | None,
        typer.Option(
            "--params-json", help="All params as a JSON object, or @file, or @- for stdin."
        ),
    ] = None,
    queue: Annotated[
        str | None, typer.Option(help="Queue \\[default: default].", show_default=False)
    ] = None,
    priority: Annotated[
        int | None, typer.Option(help="-100..100, higher first \\[default: 0].", show_default=False)
    ] = None,
    max_attempts: Annotated[
        int | None,
        typer.Option(help="Attempts before the job is dead \\[default: 3].", show_default=False),
    ] = None,
    run_timeout: Annotated[
        float | None, typer.Option(help="Seconds one attempt may run.", show_default=False)
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option("--label", "-l", help="An agent label the job needs, key=value; repeatable."),
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Submit at most once per key.", show_default=False)
    ] = None,
    concurrency_key: Annotated[
        str | None, typer.Option(help="Run one job per key at a time.", show_default=False)
    ] = None,
    in_: InOption = None,
    at: AtOption = None,
    rate_key: Annotated[
        str | None,
        typer.Option(help="Count its start against this key's rate limit.", show_default=False),
    ] = None,
    fair_key: Annotated[
        str | None,
        typer.Option(help="On a fair queue, whose turn it is [default: you].", show_default=False),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", "-w", help="Wait for the job to end, with a progress bar.")
    ] = False,
    wait_timeout: Annotated[
        float | None,
        typer.Option(help="With --wait: give up after this many seconds.", show_default=False),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Submit a job, to start at once or later (--in, --at). With --wait, exit non-zero
    unless it succeeds."""
    run_at = start_time(in_, at)
    with config.client() as client:
        schema = latest_schema(client.actions(), action) if param else None
        params = parse_params(param or [], params_json, schema)
        job = client.submit(
            action, params, queue=queue, priority=priority, run_at=run_at,
            max_attempts=max_attempts, timeout_s=run_timeout, labels=parse_labels(label or []),
            idempotency_key=idempotency_key, concurrency_key=concurrency_key,
            rate_key=rate_key, fair_key=fair_key,
        )  # fmt: skip
        if not wait:
            if as_json:
                print_json(job)
            else:
                later = f", starts {when(job.run_at)}" if run_at is not None else ""
                console.print(
                    f"Submitted job {job.id} ({escape(job.action)}): {state(job.state)}{later}"
                )
            return
        job = _wait_with_progress(client, job, wait_timeout, quiet=as_json)
    if as_json:
        print_json(job)
    else:
        _print_outcome(job)
    if not job.succeeded:
        raise fail(JobFailed(job).message)


@app.command("list")
@handles_errors
def list_jobs(
    state_: StateOption = None,
    queue: QueueOption = None,
    action: ActionOption = None,
    agent: AgentOption = None,
    created_after: CreatedAfterOption = None,
    created_before: CreatedBeforeOption = None,
    q: SearchOption = None,
    schedule: ScheduleOption = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many jobs, newest first.")] = 20,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            "-w",
            help="Keep the list on screen, redrawn as jobs change, until Ctrl-C. "
            "With --json: one JSON array per line, each time the list changes.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List jobs, newest first."""
    filters = Filters(
        JobFilters(state_, queue, action, agent, created_after, created_before, q, schedule),
        limit,
    )
    if watch:
        asyncio.run(_watch_jobs(filters, as_json=as_json))
        return
    with config.client() as client:
        jobs = list(client.list(**filters.query()))
    if as_json:
        print_json(jobs)
    elif not jobs:
        console.print("No jobs.")
    else:
        console.print(_jobs_table(jobs))


@dataclass(frozen=True, slots=True)
class Filters:
    """What ``jobs list`` shows: the jobs the filter options match, how many."""

    where: JobFilters
    limit: int

    def query(self) -> dict[str, Any]:
        return {**self.where.query(), "limit": self.limit}


def _jobs_table(jobs: list[Job]) -> Table:
    rows = [
        [str(j.id), escape(j.action), _state_and_progress(j), _why(j), escape(j.queue),
         f"{j.attempt}/{j.max_attempts}", when(j.created_at)]
        for j in jobs
    ]  # fmt: skip
    columns = ["ID", "ACTION", "STATE", "WAITING FOR", "QUEUE", "ATTEMPT", "CREATED"]
    optional = {"WAITING FOR", "QUEUE", "ATTEMPT"}  # `jobs show` says why on any terminal
    return build_table(columns, rows, wrap={"ACTION"}, optional=optional)


async def _watch_jobs(filters: Filters, *, as_json: bool) -> None:
    """Redraw the list each time the team's event stream reports a job change.

    The list is first read once the stream is open (nothing between the read and
    the subscription is missed); a dropped stream resumes where it left off.
    Ctrl-C ends it (exit code 130, from ``handles_errors``).
    """
    changed = asyncio.Event()
    async with AsyncClient(verify=config.CA_BUNDLE or True) as client:

        async def follow() -> None:
            async for _ in client.events(kinds=["job"], on_open=changed.set):
                changed.set()

        follower = asyncio.create_task(follow())
        live = None if as_json or not console.is_terminal else Live(console=console)
        shown: list[Any] | None = None
        try:
            if live is not None:
                live.start()
            while True:
                await _next_change(changed, follower)
                changed.clear()
                jobs = [job async for job in client.list(**filters.query())]
                if as_json:
                    now = jsonable(jobs)
                    if now != shown:
                        sys.stdout.write(json.dumps(now, ensure_ascii=False) + "\n")
                        sys.stdout.flush()
                        shown = now
                else:
                    view = _jobs_table(jobs) if jobs else "No jobs."
                    if live is not None:
                        live.update(view, refresh=True)
                    else:  # not a terminal: each new state of the list, one after another
                        console.print(view)
                        sys.stdout.flush()
                await asyncio.sleep(REDRAW_GAP_S)  # a burst of events: one redraw
        finally:
            follower.cancel()
            if live is not None:
                live.stop()


async def _next_change(changed: asyncio.Event, follower: asyncio.Task[None]) -> None:
    """Wait for a change; if the event stream failed for good, raise its error."""
    waiting = asyncio.ensure_future(changed.wait())
    try:
        await asyncio.wait({waiting, follower}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
    if follower.done():
        follower.result()


@app.command("show")
@handles_errors
def show(job_id: JobArg, as_json: JsonOption = False) -> None:
    """Show one job: state, params, result or error."""
    with config.client() as client:
        job = client.get(job_id)
    if as_json:
        print_json(job)
        return
    fields: list[tuple[str, str]] = [
        ("id", str(job.id)),
        ("action", escape(job.action)),
        (
            "state",
            state(job.state) + (f" ({_why(job)})" if job.waiting_reason else ""),
        ),
        ("run at", when(job.run_at)),
        ("queue", escape(job.queue)),
        *[(name, escape(value)) for name, value in _flow_keys(job)],
        ("priority", str(job.priority)),
        ("attempt", f"{job.attempt} of {job.max_attempts}"),
        ("agent", str(job.agent_id or "-")),
        ("submitted by", _submitter(job)),
        ("created", when(job.created_at)),
        ("started", when(job.started_at)),
        ("finished", when(job.finished_at)),
    ]
    if job.schedule_id is not None:
        fire = f" (tick of {when(job.schedule_fire_at)})" if job.schedule_fire_at else ""
        fields.append(("schedule", f"{job.schedule_id}{fire}"))
    if job.progress is not None:
        fields.append(("progress", _progress_text(job.progress)))
    if job.cancel_requested_at and not job.is_terminal:
        fields.append(("cancel", f"requested {when(job.cancel_requested_at)}"))
    fields.append(("params", escape(_dumps(job.params))))
    if job.result is not None:
        fields.append(("result", escape(_dumps(job.result))))
    if job.error is not None:
        fields.append(("error", f"[red]{escape(_dumps(job.error))}[/red]"))
    table(["FIELD", "VALUE"], [[k, v] for k, v in fields], wrap={"VALUE"})


@handles_errors
def logs(
    job_id: JobArg,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until the job ends.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line (attempt, ts, stream, text).")
    ] = False,
) -> None:
    """Print a job's log (every attempt, in order)."""
    with config.client() as client:
        for line in client.logs(job_id, follow=follow):
            text = json.dumps(jsonable(line), ensure_ascii=False) if as_json else line.text
            sys.stdout.write(text + "\n")
            if follow:
                sys.stdout.flush()


@handles_errors
def download(
    job_id: JobArg,
    name: Annotated[str, typer.Argument(help="The artifact's name.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="File or directory to write \\[default: ./NAME].",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the file written (name, path, size) as JSON.")
    ] = False,
) -> None:
    """Download a job's artifact (streamed to disk)."""
    with config.client() as client:
        path = client.download(job_id, name, output)
    size = path.stat().st_size
    if as_json:
        print_json({"name": name, "path": str(path.resolve()), "size": size})
    else:
        err_console.print(f"Saved {escape(name)} to {escape(path)} ({_size(size)}).")


def _wait_with_progress(client: Client, job: Job, timeout: float | None, *, quiet: bool) -> Job:
    """Follow the job to its end, drawing its progress on stderr (nothing when quiet)."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task(_describe(job), total=None, detail="")
        for seen in client.watch(job.id, timeout):
            job = seen
            fraction = progress_fraction(job.progress)
            bar.update(
                task,
                description=_describe(job),
                total=100 if fraction is not None else None,
                completed=round((fraction or 0) * 100, 1),
                detail=escape(_progress_text(job.progress, short=True)),
            )
    return job


def _state_and_progress(job: Job) -> str:
    """The state, with how far along a running job is."""
    fraction = progress_fraction(job.progress) if job.state == "running" else None
    return state(job.state) + (f" {fraction:.0%}" if fraction is not None else "")


def _flow_keys(job: Job) -> list[tuple[str, str]]:
    """The job's concurrency, rate and fair keys, those it has."""
    keys = [("concurrency key", job.concurrency_key), ("rate key", job.rate_key),
            ("fair key", job.fair_key)]  # fmt: skip
    return [(name, value) for name, value in keys if value is not None]


def _why(job: Job) -> str:
    """Why a waiting job waits, for people: ``no_agent_offers_action`` → ``no agent offers
    action``; empty for a job that is not waiting."""
    return escape((job.waiting_reason or "").replace("_", " "))


def _submitter(job: Job) -> str:
    who = job.created_by
    if who is None:
        return "-"
    return escape(f"{who.name} (API key)" if who.kind == "key" else who.name)


def _describe(job: Job) -> str:
    return f"{escape(job.action)} {state(job.state)}"


def _print_outcome(job: Job) -> None:
    console.print(f"Job {job.id} {state(job.state)}.")
    if job.succeeded and job.result is not None:
        console.print(escape(_dumps(job.result)))


def progress_fraction(progress: Any) -> float | None:
    """How far along, 0..1, from the progress shapes tasks report; None when unknown.

    Understood: a number in 0..1; ``{"done"|"current"|"completed", "total"}``;
    ``{"fraction"}`` or ``{"percent"}``.
    """
    if isinstance(progress, bool):
        return None
    if isinstance(progress, int | float):
        return float(progress) if 0 <= progress <= 1 else None
    if not isinstance(progress, dict):
        return None
    if isinstance(progress.get("fraction"), int | float):
        return _clamp(float(progress["fraction"]))
    if isinstance(progress.get("percent"), int | float):
        return _clamp(float(progress["percent"]) / 100)
    total = progress.get("total")
    done = next((progress[k] for k in ("done", "current", "completed") if k in progress), None)
    if isinstance(total, int | float) and isinstance(done, int | float) and total > 0:
        return _clamp(done / total)
    return None


def _progress_text(progress: Any, *, short: bool = False) -> str:
    if progress is None:
        return "" if short else "-"
    if isinstance(progress, dict):
        total = progress.get("total")
        done = next((progress[k] for k in ("done", "current", "completed") if k in progress), None)
        message = progress.get("message") or progress.get("description")
        parts = [f"{done}/{total}" if done is not None and total is not None else None, message]
        text = "  ".join(str(p) for p in parts if p)
        if text:
            return text
    fraction = progress_fraction(progress)
    if fraction is not None:
        return f"{fraction:.0%}"
    return _dumps(progress)


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=None if _small(value) else 2)


def _small(value: Any) -> bool:
    return len(json.dumps(value)) <= 80


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
