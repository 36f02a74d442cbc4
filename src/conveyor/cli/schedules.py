"""``conveyor schedules list|show|create|update|pause|resume|delete|run|ticks|preview``.

A schedule submits a job of an action at each fire time of a cron expression in a
time zone. Commands name a schedule by id or by name; each takes ``--json``. The
server checks what is sent (a bad cron expression or time zone, params the action's
schema refuses): its message is printed, exit code 1.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import typer

from conveyor.cli import config
from conveyor.cli.output import (
    JSON_HELP,
    console,
    escape,
    fail,
    handles_errors,
    print_json,
    state,
    table,
    when,
)
from conveyor.cli.params import latest_schema, parse_labels, parse_params
from conveyor.cli.schedule_options import (
    CatchupOption,
    ClearOption,
    DescriptionOption,
    LabelOption,
    MaxAttemptsOption,
    MisfireOption,
    OverlapOption,
    ParamOption,
    ParamsJsonOption,
    Policies,
    PriorityOption,
    QueueOption,
    RunAsKeyOption,
    RunTimeoutOption,
    TzOption,
    cron_text,
    next_fire,
    paused,
    tick_text,
)
from conveyor.errors import NotFound
from conveyor.sdk.client import Client
from conveyor.sdk.models import Schedule

app = typer.Typer(
    no_args_is_help=True,
    help="Cron schedules: jobs submitted at fixed times, once per fire time.",
)

JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
ScheduleArg = Annotated[str, typer.Argument(help="The schedule's id or name.", show_default=False)]


@app.command("list")
@handles_errors
def list_schedules(
    q: Annotated[
        str | None, typer.Option("--q", help="Only schedules whose name holds this text.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """List the team's schedules: cron, next fire time, paused or not, last tick."""
    with config.client() as client:
        found = client.schedules.list(q=q, limit=limit)
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("No schedules yet: `conveyor schedules create` makes one.")
        return
    rows = [
        [escape(s.name), cron_text(s), next_fire(s), paused(s), tick_text(s.last_tick), str(s.id)]
        for s in found
    ]
    columns = ["NAME", "CRON", "NEXT FIRE", "STATUS", "LAST TICK", "ID"]
    table(columns, rows, wrap={"CRON", "NAME"}, optional={"ID", "LAST TICK"})


@app.command("show")
@handles_errors
def show(schedule: ScheduleArg, as_json: JsonOption = False) -> None:
    """Show one schedule: what it submits, when, its policies and next fire times."""
    with config.client() as client:
        found = client.schedules.get(_resolve(client, schedule))
    if as_json:
        print_json(found)
        return
    _print(found)


@app.command("create")
@handles_errors
def create(
    name: Annotated[str, typer.Argument(help="A name, unique in the team.", show_default=False)],
    action: Annotated[str, typer.Argument(help="The action each tick submits.")],
    cron: Annotated[
        str,
        typer.Option(
            help="5 fields (minute hour day-of-month month day-of-week), or 6 with the "
            "seconds first: '0 2 * * *', '*/15 9-17 * * 1-5', '*/10 * * * * *'.",
            show_default=False,
        ),
    ],
    tz: TzOption = None,
    param: ParamOption = None,
    params_json: ParamsJsonOption = None,
    queue: QueueOption = None,
    priority: PriorityOption = None,
    max_attempts: MaxAttemptsOption = None,
    run_timeout: RunTimeoutOption = None,
    label: LabelOption = None,
    misfire: MisfireOption = None,
    catchup_window: CatchupOption = None,
    overlap: OverlapOption = None,
    run_as_key: RunAsKeyOption = None,
    description: DescriptionOption = None,
    paused_: Annotated[
        bool, typer.Option("--paused", help="Create it paused: no tick fires until resumed.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a schedule. Its jobs are checked like `conveyor submit`'s, now and at each tick."""
    policies = Policies(tz, misfire, catchup_window, overlap, run_as_key, description)
    fields = policies.fields()
    with config.client() as client:
        schema = latest_schema(client.actions(), action) if param else None
        params = parse_params(param or [], params_json, schema)
        made = client.schedules.create(
            name, action, cron, params, queue=queue, priority=priority,
            max_attempts=max_attempts, timeout_s=run_timeout, labels=parse_labels(label or []),
            paused=paused_ or None, **fields,
        )  # fmt: skip
    if as_json:
        print_json(made)
        return
    console.print(f"Created schedule {escape(made.name)} ({made.id}): {cron_text(made)}.")
    console.print(f"Next fire: {next_fire(made)}")


@app.command("update")
@handles_errors
def update(
    schedule: ScheduleArg,
    name: Annotated[str | None, typer.Option(help="A new name.", show_default=False)] = None,
    action: Annotated[
        str | None, typer.Option(help="Submit this action instead.", show_default=False)
    ] = None,
    cron: Annotated[str | None, typer.Option(help="A new cron expression.")] = None,
    tz: TzOption = None,
    param: ParamOption = None,
    params_json: ParamsJsonOption = None,
    queue: QueueOption = None,
    priority: PriorityOption = None,
    max_attempts: MaxAttemptsOption = None,
    run_timeout: RunTimeoutOption = None,
    label: LabelOption = None,
    misfire: MisfireOption = None,
    catchup_window: CatchupOption = None,
    overlap: OverlapOption = None,
    run_as_key: RunAsKeyOption = None,
    description: DescriptionOption = None,
    clear: ClearOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change what is given; the rest stays. Params: -p changes one, --params-json all."""
    given = {
        "name": name, "action": action, "cron": cron, "queue": queue, "priority": priority,
        "max_attempts": max_attempts, "timeout_s": run_timeout,
        "labels": parse_labels(label or []),
        **Policies(tz, misfire, catchup_window, overlap, run_as_key, description).fields(),
    }  # fmt: skip
    changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    for emptied in clear or []:
        if emptied.field in changes:
            raise fail(f"--clear {emptied.value} and a new value for it: give one", code=2)
        changes[emptied.field] = None
    with config.client() as client:
        schedule_id = _resolve(client, schedule)
        if param or params_json is not None:
            if "params" in changes:
                raise fail("--clear params and new params: give one", code=2)
            changes["params"] = _params(client, schedule_id, action, param or [], params_json)
        if not changes:
            raise fail("nothing to change: give an option, e.g. --cron or --param", code=2)
        changed = client.schedules.update(schedule_id, **changes)
    _answer(changed, as_json, f"Updated schedule {escape(changed.name)}: {cron_text(changed)}.")


@app.command("pause")
@handles_errors
def pause(schedule: ScheduleArg, as_json: JsonOption = False) -> None:
    """Pause: no tick fires until it is resumed (missed ones then follow --misfire)."""
    with config.client() as client:
        found = client.schedules.pause(_resolve(client, schedule))
    _answer(found, as_json, f"Paused schedule {escape(found.name)}.")


@app.command("resume")
@handles_errors
def resume(schedule: ScheduleArg, as_json: JsonOption = False) -> None:
    """Resume a paused schedule."""
    with config.client() as client:
        found = client.schedules.resume(_resolve(client, schedule))
    _answer(
        found, as_json, f"Resumed schedule {escape(found.name)}; next fire: {next_fire(found)}."
    )


@app.command("delete")
@handles_errors
def delete(schedule: ScheduleArg, as_json: JsonOption = False) -> None:
    """Delete a schedule; the jobs it made stay."""
    with config.client() as client:
        schedule_id = _resolve(client, schedule)
        client.schedules.delete(schedule_id)
    _answer({"id": str(schedule_id), "deleted": True}, as_json,
            f"Deleted schedule {escape(schedule)}.")  # fmt: skip


@app.command("run")
@handles_errors
def run(schedule: ScheduleArg, as_json: JsonOption = False) -> None:
    """Submit the schedule's job now, as you (a manual tick); its cron times stay."""
    with config.client() as client:
        job = client.schedules.run(_resolve(client, schedule))
    _answer(job, as_json, f"Submitted job {job.id} ({escape(job.action)}): {state(job.state)}")


@app.command("ticks")
@handles_errors
def ticks(
    schedule: ScheduleArg,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """A schedule's ticks, newest first: each fire time's job, or why it was skipped."""
    with config.client() as client:
        found = client.schedules.ticks(_resolve(client, schedule), limit=limit)
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("No ticks yet.")
        return
    rows = [
        [when(t.fire_at), t.kind, _outcome(t.outcome, t.skip_reason),
         escape(t.message or ""), str(t.job_id or "-"), state(t.job_state or "-")]
        for t in found
    ]  # fmt: skip
    columns = ["FIRE AT", "KIND", "OUTCOME", "MESSAGE", "JOB", "JOB STATE"]
    table(columns, rows, wrap={"MESSAGE"}, optional={"MESSAGE"})


@app.command("preview")
@handles_errors
def preview(
    cron: Annotated[str, typer.Argument(help="A cron expression, e.g. '0 2 * * *'.")],
    tz: TzOption = None,
    count: Annotated[int, typer.Option(min=1, max=20, help="How many fire times (1..20).")] = 5,
    as_json: JsonOption = False,
) -> None:
    """What a cron expression means and when it would fire next, without saving anything."""
    with config.client() as client:
        found = client.schedules.preview(cron, tz or "UTC", count)
    if as_json:
        print_json(found)
        return
    console.print(escape(found.cron_description))
    for at in found.next_fire_times:
        console.print(f"  {at.isoformat()}  ({when(at)} here)")


def _answer(value: Any, as_json: bool, line: str) -> None:
    """``value`` as JSON with --json, else ``line`` for people."""
    if as_json:
        print_json(value)
    else:
        console.print(line)


def _resolve(client: Client, ref: str) -> uuid.UUID:
    """A schedule's id: ``ref`` itself, or the id of the schedule named ``ref``."""
    try:
        return uuid.UUID(ref)
    except ValueError:
        pass
    for found in client.schedules.list(q=ref):
        if found.name == ref:
            return found.id
    raise NotFound(f"no schedule named {ref!r}")


def _params(client: Client, schedule_id: uuid.UUID, action: str | None, pairs: list[str],
            params_json: str | None) -> dict[str, Any]:  # fmt: skip
    """New params: --params-json replaces them, each -p changes one of the current ones."""
    current = client.schedules.get(schedule_id)
    name = action or current.action
    schema = latest_schema(client.actions(), name) if pairs else None
    changed = parse_params(pairs, params_json, schema)
    if params_json is not None:
        return changed
    base = current.params if isinstance(current.params, dict) else {}
    return {**base, **changed}


def _outcome(outcome: str, reason: str | None) -> str:
    if outcome == "skipped":
        return "[yellow]skipped[/yellow]" + (
            f": {escape(reason.replace('_', ' '))}" if reason else ""
        )
    return f"[green]{escape(outcome)}[/green]"


def _print(schedule: Schedule) -> None:
    fields: list[tuple[str, str]] = [
        ("id", str(schedule.id)),
        ("name", escape(schedule.name)),
        ("description", escape(schedule.description or "-")),
        ("status", paused(schedule)),
        ("cron", cron_text(schedule)),
        ("time zone", escape(schedule.timezone)),
        ("next fires", ", ".join(when(t) for t in schedule.next_fire_times) or "-"),
        ("action", escape(schedule.action)),
        ("params", escape(_json(schedule.params))),
        ("queue", escape(schedule.queue)),
        ("priority", str(schedule.priority)),
        ("labels", escape(_json(schedule.labels)) if schedule.labels else "-"),
        ("max attempts", str(schedule.max_attempts or "default")),
        ("run timeout", f"{schedule.timeout_s:g} s" if schedule.timeout_s else "-"),
        ("misfires", f"{schedule.misfire_policy} (window {schedule.catchup_window_s} s)"),
        ("overlap", schedule.overlap),
        ("runs as", _runs_as(schedule)),
        ("last tick", tick_text(schedule.last_tick)),
        ("created", when(schedule.created_at)),
    ]
    table(["FIELD", "VALUE"], [[k, v] for k, v in fields], wrap={"VALUE"})


def _runs_as(schedule: Schedule) -> str:
    if schedule.run_as_key_id is not None:
        return f"API key {schedule.run_as_key_id}"
    who = schedule.created_by
    return escape(f"{who.name} (its creator)") if who is not None else "its creator"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
