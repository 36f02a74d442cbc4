"""``conveyor doctor``: check what the server needs and say what to fix."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, console, fail, print_json

STYLES = {"ok": "green", "warn": "yellow", "fail": "red", "skip": "dim"}


def doctor(
    database_url: Annotated[
        str | None,
        typer.Option(
            help="Database URL [env: CONVEYOR_DATABASE_URL or CONVEYOR_DATABASE_URL_FILE]",
            show_default=False,
        ),
    ] = None,
    data_dir: Annotated[
        str | None,
        typer.Option(
            help="Where artifacts are stored [env: CONVEYOR_DATA_DIR]", show_default=False
        ),
    ] = None,
    tls_cert: Annotated[
        str | None, typer.Option(help="PEM certificate chain [env: CONVEYOR_TLS_CERT]")
    ] = None,
    tls_key: Annotated[
        str | None, typer.Option(help="PEM private key [env: CONVEYOR_TLS_KEY]")
    ] = None,
    production: Annotated[
        bool,
        typer.Option("--production", help="Check as a production server [env: CONVEYOR_ENV]"),
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 on a warning too, not only on a failure.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check the database, migrations, clock skew, artifact storage, TLS files, signing
    keys and production settings, as `conveyor server` would see them; say what to fix.

    Exit code 0 when nothing fails (warnings too, unless --strict), 1 otherwise.
    Changes nothing: run it as the server's user, with its environment.
    """
    from pydantic import ValidationError

    from conveyor.secrets import SecretFileError
    from conveyor.settings import ServerSettings

    try:
        from conveyor.server.doctor import diagnose
    except ImportError as exc:
        raise fail(
            f"doctor needs the server stack: pip install 'conveyor-jobs[server]' ({exc})"
        ) from None

    given = {"database_url": database_url, "data_dir": data_dir, "tls_cert": tls_cert,
             "tls_key": tls_key, "env": "production" if production else None}  # fmt: skip
    overrides = {key: value for key, value in given.items() if value is not None}
    try:
        settings = ServerSettings(**overrides)  # type: ignore[arg-type]
    except (SecretFileError, ValidationError) as exc:
        raise fail(f"the settings cannot be read: {exc}") from None
    report = diagnose(settings)
    if as_json:
        print_json(report.as_json())
    else:
        width = max(len(c.name) for c in report.checks)
        for check in report.checks:
            style = STYLES[check.status]
            console.print(
                f"[{style}]{check.status:<4}[/{style}]  {check.name:<{width}}  {check.summary}",
                markup=True, soft_wrap=True,
            )  # fmt: skip
            if check.fix:
                console.print(f"      {'':<{width}}  fix: {check.fix}", soft_wrap=True)
        counts = {s: report.count(s) for s in ("ok", "warn", "fail", "skip")}
        console.print(", ".join(f"{n} {s}" for s, n in counts.items() if n))
    raise typer.Exit(report.exit_code(strict=strict))
