"""``conveyor cancel`` and ``conveyor retry``: one job, several by id, or all a filter matches.

One id keeps the single-job answer (the job, or a 409 for a job it cannot
change); several ids or ``--all-matching`` use the bulk routes, which skip what
they cannot change and report counts. ``--all-matching`` needs at least one
filter, so a bare ``conveyor cancel --all-matching`` never means "everything";
the SDK asks again, below where the last answer left off, while the server says
jobs remain (10,000 per request): each job at most once, jobs created meanwhile not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

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
from conveyor.cli.output import JSON_HELP, console, fail, handles_errors, print_json, state
from conveyor.sdk.client import Client
from conveyor.sdk.models import BulkResult

JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
JobsArg = Annotated[
    list[str] | None,
    typer.Argument(metavar="ID", help="The jobs' ids (or use --all-matching).", show_default=False),
]
AllMatchingOption = Annotated[
    bool,
    typer.Option(
        "--all-matching", help="Every job the filter options match (at least one is needed)."
    ),
]


CANCEL_HELP = """Cancel jobs: a waiting one at once, a running one when its agent has stopped it.

    With one id, print the job; with several ids or --all-matching, how many were
    cancelled (or asked to stop) and skipped (already finished, or not found).
    """
RETRY_HELP = """Run dead or cancelled jobs again, each with a fresh set of attempts.

    With one id, print the job; with several ids or --all-matching, how many were
    queued again and skipped (not dead or cancelled, or not found).
    """


def _command(verb: str, doc: str) -> Callable[..., None]:
    """The ``cancel`` or ``retry`` command: the same options, the same three ways to name jobs."""

    def command(
        job_ids: JobsArg = None,
        all_matching: AllMatchingOption = False,
        state_: StateOption = None,
        queue: QueueOption = None,
        action: ActionOption = None,
        agent: AgentOption = None,
        created_after: CreatedAfterOption = None,
        created_before: CreatedBeforeOption = None,
        q: SearchOption = None,
        schedule: ScheduleOption = None,
        as_json: JsonOption = False,
    ) -> None:
        filters = JobFilters(
            state_, queue, action, agent, created_after, created_before, q, schedule
        )
        with config.client() as client:
            if _single(job_ids, all_matching, filters):
                assert job_ids is not None
                _print_one(client, verb, job_ids[0], as_json=as_json)
                return
            done = _bulk(client, verb, job_ids, filters)
        what = "Cancelled (or asked to stop)" if verb == "cancel" else "Queued again"
        _print_counts(done, what, as_json=as_json)

    command.__doc__ = doc
    command.__name__ = verb
    return handles_errors(command)


cancel = _command("cancel", CANCEL_HELP)
retry = _command("retry", RETRY_HELP)


def _single(job_ids: list[str] | None, all_matching: bool, filters: JobFilters) -> bool:
    """Whether the command names one job; refuses a command that names none, or both ways."""
    if all_matching:
        if job_ids:
            raise fail("give job ids or --all-matching with filters, not both", code=2)
        if filters.empty:
            raise fail("--all-matching needs at least one filter (e.g. --state dead)", code=2)
        return False
    if not job_ids:
        raise fail("give job ids, or --all-matching with filters", code=2)
    if not filters.empty:
        raise fail("the filter options go with --all-matching", code=2)
    return len(job_ids) == 1


def _bulk(client: Client, verb: str, job_ids: list[str] | None, filters: JobFilters) -> BulkResult:
    if job_ids:
        ids = list(dict.fromkeys(job_ids))  # a repeated id counts once
        return client.cancel_many(ids) if verb == "cancel" else client.retry_many(ids)
    where = filters.filter()
    return client.cancel_many(filter=where) if verb == "cancel" else client.retry_many(filter=where)


def _print_one(client: Client, verb: str, job_id: str, *, as_json: bool) -> None:
    job = client.cancel(job_id) if verb == "cancel" else client.retry(job_id)
    if as_json:
        print_json(job)
    elif verb == "retry":
        console.print(f"Job {job.id} is {state(job.state)} again.")
    elif job.state == "cancelled":
        console.print(f"Cancelled job {job.id}.")
    else:
        console.print(
            f"Cancel requested for job {job.id} ({state(job.state)}): its agent is stopping it."
        )


def _print_counts(done: BulkResult, what: str, *, as_json: bool) -> None:
    if as_json:
        print_json(done)
        return
    jobs = "job" if done.affected == 1 else "jobs"
    line = f"{what}: {done.affected} {jobs}"
    console.print(line + (f"; skipped {done.skipped}." if done.skipped else "."))
