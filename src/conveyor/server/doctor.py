"""``conveyor doctor``: look at what a server needs and say what to fix.

Each check ends ``ok``, ``warn`` or ``fail`` (``skip`` when what it needs failed
first) with a one-line summary and, unless ok, the fix. It reads the settings
``conveyor server`` reads and changes nothing: the database is opened read-only
(never migrated), no directory is made, no mode tightened.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from conveyor.errors import ConveyorError
from conveyor.private_files import DIR_MODE, SQLITE_COMPANIONS
from conveyor.server.tls import ServerTLS, TLSConfigError
from conveyor.settings import ServerSettings
from conveyor.store import DatabaseMissing, DatabaseProbe, probe_database

Status = Literal["ok", "warn", "fail", "skip"]

SKEW_WARN_S = 1.0
SKEW_FAIL_S = 30.0  # the default lease: beyond it, deadlines mean nothing
MIN_FREE_BYTES = 1024**3
MIN_FREE_RATIO = 0.05
CERT_WARN_DAYS = 14


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    summary: str
    fix: str | None = None


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for c in self.checks if c.status == status)

    def exit_code(self, *, strict: bool = False) -> int:
        """1 for any failure (or, with ``strict``, any warning), else 0."""
        bad = self.count("fail") + (self.count("warn") if strict else 0)
        return 1 if bad else 0

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.count("fail") == 0,
            "counts": {s: self.count(s) for s in ("ok", "warn", "fail", "skip")},
            "checks": [c.__dict__ for c in self.checks],
        }


def diagnose(settings: ServerSettings, *, now: datetime | None = None) -> Report:
    """Every check, in the order an operator fixes things."""
    report = Report()
    database, probe = check_database(settings.database_url)
    report.checks += [
        database,
        check_migrations(probe),
        check_clock(probe),
        check_signing_keys(probe),
        check_artifacts(Path(settings.data_dir) / "artifacts"),
        check_tls(
            settings.tls_cert,
            settings.tls_key,
            settings.agent_client_ca,
            agent_port=settings.agent_port,
            now=now,
        ),
        check_production(settings),
    ]
    return report


def check_database(url: str) -> tuple[Check, DatabaseProbe | None]:
    try:
        probe = probe_database(url)
    except DatabaseMissing as exc:
        return Check(
            "database",
            "fail",
            exc.message,
            "check CONVEYOR_DATABASE_URL; on a new install `conveyor migrate` "
            "(or the server's first start) creates it",
        ), None
    except ConveyorError as exc:
        return Check(
            "database",
            "fail",
            exc.message,
            "start the database or fix CONVEYOR_DATABASE_URL (host, port, name, password, TLS)",
        ), None
    took = f"{probe.round_trip_s * 1000:.0f} ms"
    return Check("database", "ok", f"{probe.version} at {probe.where} ({took})"), probe


def _skipped(name: str) -> Check:
    return Check(name, "skip", "not checked: the database cannot be read")


def check_migrations(probe: DatabaseProbe | None) -> Check:
    if probe is None:
        return _skipped("migrations")
    if probe.newer is not None and probe.newer.compatible:
        return Check(
            "migrations",
            "warn",
            f"the database is at revision {probe.revision}, newer than this Conveyor "
            f"(head {probe.head}) but compatible with it (servers from "
            f"{probe.newer.oldest_server} on): this server runs on it",
            "finish the rolling upgrade: upgrade Conveyor on this machine",
        )
    if probe.too_new:
        return Check(
            "migrations",
            "fail",
            f"the database is at revision {probe.revision}, newer than this Conveyor "
            f"(head {probe.head}): this server would refuse it",
            "upgrade Conveyor on this machine to the version that migrated it",
        )
    if not probe.pending:
        return Check("migrations", "ok", f"at head ({probe.head})")
    names = ", ".join(f"{r.revision} {r.title}" for r in probe.pending)
    was = "empty" if probe.revision is None else f"at {probe.revision}"
    return Check(
        "migrations",
        "warn",
        f"{len(probe.pending)} pending (the database is {was}): {names}",
        "run `conveyor migrate` before starting this version (the server also "
        "migrates when it starts)",
    )


def check_clock(probe: DatabaseProbe | None) -> Check:
    if probe is None:
        return _skipped("clock")
    if probe.clock_skew_s is None:
        return Check("clock", "ok", "SQLite runs in this process: one clock")
    skew = probe.clock_skew_s
    said = f"this machine is {abs(skew):.3f} s {'behind' if skew > 0 else 'ahead of'} the database"
    said += f" (± {probe.clock_uncertainty_s:.3f} s)"
    if abs(skew) <= SKEW_WARN_S:
        return Check("clock", "ok", said)
    why = (
        "leases, retries and schedules run on the database's clock, access tokens, signed "
        "URLs and key expiry on each server's: a skew makes those expire early or late from "
        "one replica to the next, and past the lease (30 s) the lease deadlines this server "
        "shows are off by more than a whole lease"
    )
    status: Status = "fail" if abs(skew) > SKEW_FAIL_S else "warn"
    return Check(
        "clock",
        status,
        f"{said}; {why}",
        "synchronise both clocks with NTP (chrony, systemd-timesyncd)",
    )


def check_signing_keys(probe: DatabaseProbe | None) -> Check:
    if probe is None:
        return _skipped("signing keys")
    if probe.signing_keys is None:
        return Check("signing keys", "skip", "not checked: the database has no schema yet")
    loose = _loose_sqlite_files(probe.sqlite_path)
    if loose:
        return Check(
            "signing keys",
            "fail",
            f"the signing keys are in {', '.join(loose)}, which other users may read: "
            "they could sign tokens as anyone",
            f"chmod 600 {' '.join(loose)} (the server also tightens them when it starts)",
        )
    if probe.signing_keys == 0:
        return Check(
            "signing keys",
            "warn",
            "no signing key yet: every session and signed URL needs one",
            "nothing, on a new install: the server makes one at the first sign-in; "
            "otherwise a restore lost them and every sign-in starts again",
        )
    made = probe.signing_key_created
    since = f", the current one made {made:%Y-%m-%d}" if made is not None else ""
    return Check("signing keys", "ok", f"{probe.signing_keys} signing key{since}")


def _loose_sqlite_files(database: Path | None) -> list[str]:
    if database is None:
        return []
    files = [database] + [database.with_name(database.name + s) for s in SQLITE_COMPANIONS]
    return [str(f) for f in files if f.exists() and stat.S_IMODE(f.stat().st_mode) & 0o077]


def check_artifacts(
    root: Path, *, min_free_bytes: int = MIN_FREE_BYTES, min_free_ratio: float = MIN_FREE_RATIO
) -> Check:
    """The artifact directory: there, the server's own (0700), writable, with room."""
    name = "artifact storage"
    root = root.absolute()
    if not root.exists():
        parent = next((p for p in root.parents if p.exists()), Path("/"))
        if not os.access(parent, os.W_OK | os.X_OK):
            return Check(
                name,
                "fail",
                f"{root} does not exist and {parent} is not writable",
                f"create {root} (mode 700) for the server's user, or set CONVEYOR_DATA_DIR",
            )
        return Check(
            name,
            "warn",
            f"{root} does not exist yet",
            "nothing, on a new install: the server creates it (mode 700)",
        )
    if not root.is_dir():
        return Check(
            name, "fail", f"{root} is not a directory", "move it away or set CONVEYOR_DATA_DIR"
        )
    if not os.access(root, os.W_OK | os.X_OK):
        return Check(
            name,
            "fail",
            f"{root} is not writable by this user (uid {os.getuid()})",
            "run the server (and doctor) as the directory's owner, or chown it",
        )
    usage = shutil.disk_usage(root)
    free = f"{usage.free / 1024**3:.1f} GiB free of {usage.total / 1024**3:.1f} GiB"
    mode = stat.S_IMODE(root.stat().st_mode)
    if mode & 0o077:
        return Check(
            name,
            "warn",
            f"{root} is mode {mode:o}: other users may read artifacts; {free}",
            f"chmod {DIR_MODE:o} {root} (the server also tightens it when it starts)",
        )
    if root.stat().st_uid != os.getuid():
        return Check(
            name,
            "warn",
            f"{root} belongs to uid {root.stat().st_uid}, not this user",
            "run doctor as the server's user",
        )
    if usage.free < min_free_bytes or usage.free < min_free_ratio * usage.total:
        return Check(
            name,
            "warn",
            f"{root}: only {free}",
            "free space, or lower retention so old artifacts go sooner",
        )
    return Check(name, "ok", f"{root}: mode {mode:o}, {free}")


def check_tls(
    cert: str | None,
    key: str | None,
    client_ca: str | None,
    *,
    agent_port: int | None = None,
    now: datetime | None = None,
) -> Check:
    """The files the server loads, loaded the way it loads them, and their expiry."""
    if agent_port is not None and not (cert and key and client_ca):
        return Check(
            "tls",
            "fail",
            f"the agent listener (port {agent_port}) needs a certificate, its key and the "
            "agents' client CA: the server refuses to start",
            "set CONVEYOR_TLS_CERT, CONVEYOR_TLS_KEY and CONVEYOR_AGENT_CLIENT_CA, or unset "
            "CONVEYOR_AGENT_PORT",
        )
    if not cert and not key:
        return Check("tls", "ok", "not configured: plain HTTP (production mode refuses it)")
    if not (cert and key):
        return Check(
            "tls",
            "fail",
            "only one of the certificate and key is given",
            "set both CONVEYOR_TLS_CERT and CONVEYOR_TLS_KEY",
        )
    try:
        ServerTLS(cert, key, client_ca=client_ca)
    except TLSConfigError as exc:
        return Check(
            "tls",
            "fail",
            str(exc),
            "check the files exist, are readable by the server's user, are PEM, and "
            "that the key is the certificate's",
        )
    expiry = _expiry(cert)
    now = now or datetime.now(UTC)
    left = expiry - now
    loose = stat.S_IMODE(Path(key).stat().st_mode) & 0o077
    if left <= timedelta(0):
        return Check(
            "tls",
            "fail",
            f"{cert} expired on {expiry:%Y-%m-%d %H:%M} UTC",
            "renew the certificate, then send the server SIGHUP",
        )
    if left < timedelta(days=CERT_WARN_DAYS):
        return Check(
            "tls",
            "warn",
            f"{cert} expires in {left.days} days ({expiry:%Y-%m-%d})",
            "renew it soon, then send the server SIGHUP (no restart)",
        )
    if loose:
        return Check(
            "tls", "warn", f"the private key {key} may be read by other users", f"chmod 600 {key}"
        )
    return Check("tls", "ok", f"certificate and key match; valid until {expiry:%Y-%m-%d}")


def _expiry(cert: str) -> datetime:
    """When the first certificate (the server's own) of the PEM chain expires."""
    from cryptography import x509

    leaf = x509.load_pem_x509_certificates(Path(cert).read_bytes())[0]
    return leaf.not_valid_after_utc


def check_production(settings: ServerSettings) -> Check:
    """The server's own production checks (:meth:`ServerSettings.production_problems`)."""
    problems = settings.production_problems()
    if settings.testing or settings.testing_unfenced_results:
        problems.append("CONVEYOR_TESTING is set: it is for the test suite only")
    if settings.env == "production":
        if problems:
            return Check(
                "production settings",
                "fail",
                "the server refuses to start: " + "; ".join(problems),
                "fix each one; `conveyor server --production` says the same",
            )
        return Check("production settings", "ok", "production mode: nothing the server refuses")
    if problems:
        return Check(
            "production settings",
            "warn",
            f"{settings.env} mode; in production the server would refuse: " + "; ".join(problems),
            "fine on a laptop; before production fix these and set CONVEYOR_ENV=production",
        )
    return Check(
        "production settings",
        "ok",
        f"{settings.env} mode; the production checks pass (set CONVEYOR_ENV=production)",
    )


__all__ = ["Check", "Report", "diagnose"]
