"""``conveyor keys create|list|revoke``: API keys for agents and scripts (a secret is shown once)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer

from conveyor.cli import config
from conveyor.cli.output import (
    JSON_HELP,
    console,
    err_console,
    escape,
    fail,
    handles_errors,
    print_json,
    table,
    when,
)
from conveyor.sdk.models import ApiKey

app = typer.Typer(no_args_is_help=True, help="Manage API keys for agents and scripts.")


JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


class KeyKind(StrEnum):
    agent = "agent"
    client = "client"


@app.command("create")
@handles_errors
def create(
    kind: Annotated[KeyKind, typer.Option(help="`agent` to run an agent, `client` for scripts.")],
    name: Annotated[str, typer.Option(help="What the key is for (shown in lists and audit).")],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="A permission the key gets, e.g. jobs:create; repeatable [default: the kind's].",
            show_default=False,
        ),
    ] = None,
    bind_cert_cn: Annotated[
        str | None,
        typer.Option(
            "--bind-cert-cn",
            help="Agent keys: connect only with a verified client certificate of this common "
            "name (mutual TLS).",
            show_default=False,
        ),
    ] = None,
    action: Annotated[
        list[str] | None,
        typer.Option(
            "--action",
            help="Agent keys: the only actions its agents may run; repeatable [default: any].",
            show_default=False,
        ),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option(
            "--label",
            help="Agent keys: key=value its agents must carry; repeatable.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API key and print it once: it cannot be shown again."""
    labels = {}
    for item in label or []:
        name_, sep, value = item.partition("=")
        if not sep or not name_:
            raise fail(f"label {item!r} is not key=value")
        labels[name_] = value
    with config.client() as client:
        key = client.create_key(kind.value, name, scopes=scope, actions=action, labels=labels,
                                client_cert_cn=bind_cert_cn)  # fmt: skip
    if as_json:
        print_json(key)
        return
    scopes = ", ".join(key.scopes) or "-"
    err_console.print(
        f"Created {escape(key.kind)} key {escape(key.name)} (id {key.id}, scopes: {escape(scopes)})"
        + (
            f", bound to client certificate {escape(key.client_cert_cn)!r}"
            if key.client_cert_cn
            else ""
        )
        + ".\n"
        "Copy it now: it is not shown again."
    )
    console.print(key.secret or "", markup=False, highlight=False, soft_wrap=True)


@app.command("list")
@handles_errors
def list_keys(as_json: JsonOption = False) -> None:
    """List the team's API keys (never their secrets), revoked ones included."""
    with config.client() as client:
        found = client.keys()
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("No API keys: create one with `conveyor keys create`.")
        return
    rows = [
        [str(k.id), escape(k.name), escape(k.kind), escape(k.prefix or "-"), _status(k),
         escape(", ".join(k.scopes) or "-"), escape(k.client_cert_cn or "-"),
         when(k.created_at), when(k.last_used_at)]
        for k in found
    ]  # fmt: skip
    columns = [
        "ID",
        "NAME",
        "KIND",
        "PREFIX",
        "STATUS",
        "SCOPES",
        "CERT CN",
        "CREATED",
        "LAST USED",
    ]
    table(columns, rows, wrap={"NAME", "SCOPES"},
          optional={"PREFIX", "SCOPES", "CERT CN", "CREATED"})  # fmt: skip


@app.command("revoke")
@handles_errors
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (see `conveyor keys list`).")],
    as_json: JsonOption = False,
) -> None:
    """Revoke an API key: it stops working at once, open event streams included."""
    with config.client() as client:
        client.revoke_key(key_id)
    if as_json:
        print_json({"id": key_id, "revoked": True})
    else:
        console.print(f"Revoked key {escape(key_id)}.")


def _status(key: ApiKey) -> str:
    if key.revoked_at is not None:
        return "[red]revoked[/red]"
    expires = key.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    if expires is not None and expires <= datetime.now(UTC):
        return "[yellow]expired[/yellow]"
    return "[green]active[/green]"
