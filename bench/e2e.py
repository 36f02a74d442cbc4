"""End-to-end benchmark: Conveyor (server + two agents, SQLite and PostgreSQL) vs Celery.

Everything runs as real processes on this machine, driven through public APIs:
Conveyor through its SDK (``POST jobs/batch``, ``POST jobs``, the event stream,
artifact download) with a client API key; Celery through ``apply_async`` on a
Redis broker. In one run, for each system:

1. throughput: ``--jobs`` no-op Python jobs submitted in batches of ``--batch``
   while the workers drain them; the clock runs from the first submit to the
   last job's end. Resident memory of every process is read when ``--checkpoint``
   jobs and when all jobs are done.
2. latency, one job at a time: ``--latency-jobs`` jobs per round, ``--rounds``
   rounds interleaved across the systems (rotating their order); each job is
   submitted once the previous one is done. Per round p50/p99 of submit -> start
   and submit -> done; the median of the rounds is reported. "Start" is the job's
   ``started_at`` on Conveyor (the store handing it to an agent) and the moment the
   task's body ran on Celery; the body's own time is shown for both ("ran").
   Beside them, the floor under any HTTP submit with a durable commit: one request
   to a bare FastAPI app plus one one-row commit on PostgreSQL (bench/e2e_floor.py).
Each Conveyor backend runs twice, side by side: as configured (metrics on) and with
``CONVEYOR_METRICS=off``; both take part in the throughput run and the interleaved
latency rounds, and the cost of the metrics (throughput and p50 submit -> start,
on vs off) is printed with the goal of under 5 % (``--no-metrics-off`` skips it).

3. Conveyor only: submit ``demo.export_csv`` with ``--csv-rows`` rows, wait, and
   download the CSV (checked line by line count); the time and the peak RSS of every
   process (server, agents, their workers, this client) during it.

Targets (printed as PASS/MISS, never asserted), as ratios within the run:
PostgreSQL throughput >= 2x Celery's; p50 submit -> start on PostgreSQL <= 1.2x
Celery's; each Conveyor process's RSS after all jobs <= 1.1x its RSS at the checkpoint.

Reproduce: ``make bench`` (the issue's sizes), or e.g.
``.venv/bin/python -m bench.e2e --jobs 2000 --skip-celery --backends sqlite``.
The last line is
``e2e: sqlite=<jobs/s> postgres=<jobs/s> celery=<jobs/s> p50_ms=<..> p99_ms=<..>
celery_p50_ms=<..> csv_1m_s=<..>`` (latencies: submit -> start on PostgreSQL).
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sqlite3
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bench.e2e_celery import CeleryStack, celery_installed, redis_durability
from bench.e2e_conveyor import ConveyorStack, Mark, PgDatabase, Timing
from bench.e2e_floor import Floor
from bench.e2e_floor import measure as measure_floor
from bench.e2e_procs import PeakSampler, cpu_s, tree_cpu_s, tree_rss_mib
from bench.e2e_report import (
    Latency,
    cpu_line,
    memory_lines,
    metrics_cost_lines,
    summary_line,
    target_lines,
)
from bench.engine import fsync_probe
from conveyor import __version__ as conveyor_version
from conveyor.settings import ServerSettings

BACKENDS = ("sqlite", "postgres")
WARMUP_JOBS = 10


@dataclass(frozen=True)
class Config:
    jobs: int
    batch: int
    checkpoint: int
    backends: tuple[str, ...]
    celery: bool
    metrics_off: bool
    latency_jobs: int
    rounds: int
    csv_rows: int
    agents: int
    slots: int
    pg_url: str
    redis_url: str
    tmpdir: str | None


def parse_args(argv: Sequence[str] | None = None) -> Config:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    p.add_argument("--jobs", type=int, default=20_000, help="jobs in the throughput run")
    p.add_argument("--batch", type=int, default=1_000, help="jobs per submit (max 1000)")
    p.add_argument(
        "--checkpoint",
        type=int,
        default=None,
        help="RSS is read after this many jobs too (default: 2000, or jobs/10)",
    )
    p.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated subset")
    p.add_argument("--skip-celery", action="store_true", help="measure Conveyor only")
    p.add_argument(
        "--no-metrics-off",
        action="store_true",
        help="do not also run each backend with CONVEYOR_METRICS=off (the metrics' cost)",
    )
    p.add_argument("--latency-jobs", type=int, default=200, help="jobs per latency round")
    p.add_argument("--rounds", type=int, default=3, help="interleaved latency rounds")
    p.add_argument("--csv-rows", type=int, default=1_000_000, help="rows of the CSV export")
    p.add_argument("--agents", type=int, default=2, help="Conveyor agents")
    p.add_argument("--slots", type=int, default=2, help="slots per agent (its default)")
    p.add_argument(
        "--pg-url",
        default=os.environ.get(
            "CONVEYOR_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="a database on the PostgreSQL server where conveyor_bench_* databases are made",
    )
    p.add_argument(
        "--redis-url",
        default=os.environ.get("CONVEYOR_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="Celery's broker",
    )
    p.add_argument("--tmpdir", default=None, help="where data dirs and logs go")
    a = p.parse_args(argv)
    backends = tuple(b.strip() for b in a.backends.split(",") if b.strip())
    if set(backends) - set(BACKENDS) or not backends:
        p.error(f"--backends: choose from {BACKENDS}")
    if not 1 <= a.batch <= 1000:
        p.error("--batch: 1..1000 (the API's limit per request)")
    if not a.skip_celery and not celery_installed():
        p.error("Celery is not installed: pip install -e '.[bench]' (or give --skip-celery)")
    checkpoint = a.checkpoint or min(2_000, max(1, a.jobs // 10))
    return Config(
        jobs=a.jobs,
        batch=a.batch,
        checkpoint=checkpoint,
        backends=backends,
        celery=not a.skip_celery,
        metrics_off=not a.no_metrics_off,
        latency_jobs=a.latency_jobs,
        rounds=a.rounds,
        csv_rows=a.csv_rows,
        agents=a.agents,
        slots=a.slots,
        pg_url=a.pg_url,
        redis_url=a.redis_url,
        tmpdir=a.tmpdir,
    )


def say(line: str = "") -> None:
    print(line, flush=True)


class System(Protocol):
    def roots(self) -> dict[str, int]: ...
    def store_pids(self) -> list[int]: ...
    def throughput(self, jobs: int, batch: int, checkpoint: int, on_mark: Mark) -> float: ...
    def latency_round(self, n: int) -> list[Timing]: ...
    def stop(self) -> None: ...


def _cpu(system: System) -> dict[str, float]:
    """CPU seconds so far of the system's processes, its store or broker, and this client
    (whose other threads are idle during the throughput run)."""
    used = tree_cpu_s(system.roots())
    used["database/broker"] = sum(cpu_s(pid) for pid in system.store_pids())
    times = os.times()
    used["benchmark client"] = times.user + times.system
    return used


class Run:
    """The systems under test and what was measured of them."""

    def __init__(self, cfg: Config, tmp: Path) -> None:
        self.cfg = cfg
        self.tmp = tmp
        self.systems: dict[str, System] = {}
        self.conveyor: dict[str, ConveyorStack] = {}
        self.pg: PgDatabase | None = None
        self.pg_off: PgDatabase | None = None  # the metrics-off stack's own database
        self.metrics_off: dict[str, ConveyorStack] = {}  # backend -> its metrics-off twin
        self.rates: dict[str, float] = {}
        self.memory: dict[str, dict[str, dict[str, float]]] = {}  # system -> when -> process
        self.latency: dict[str, list[Latency]] = {}
        self.csv: dict[str, float] = {}
        self.floor: Floor | None = None

    # setup

    def start(self) -> None:
        cfg = self.cfg
        say("# Conveyor end-to-end benchmark")
        say(
            f"machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}; fsync probe "
            f"{fsync_probe(self.tmp):.2f} ms median (4 KiB write + fsync)"
        )
        say(
            f"runs: throughput {cfg.jobs} no-op jobs in batches of {cfg.batch}"
            + (" in two legs of half (A B B A)" if cfg.metrics_off else "")
            + f"; latency {cfg.rounds} interleaved rounds x "
            f"{cfg.latency_jobs} jobs one at a time (+{WARMUP_JOBS} warm-up); CSV "
            f"{cfg.csv_rows} rows"
        )
        say(
            f"Conveyor {conveyor_version}: server with default settings, {cfg.agents} agents x "
            f"{cfg.slots} slots (Python tasks in worker processes), client API key"
        )
        celery: CeleryStack | None = None
        if cfg.celery:
            redis_info = redis_durability(cfg.redis_url)
            (self.tmp / "celery").mkdir()
            celery = CeleryStack(cfg.redis_url, self.tmp / "celery")
            self.systems["celery"] = celery
            celery.launch()
        for backend in cfg.backends:
            self.conveyor[backend] = self._stack(backend, metrics=True)
            if cfg.metrics_off:
                self.metrics_off[backend] = self._stack(backend, metrics=False)
        stacks = [*self.conveyor.values(), *self.metrics_off.values()]
        # Start every stack at once (a step of each in turn): startup is mostly imports.
        for steps in zip(*(stack.launch() for stack in stacks), strict=True):
            for step in steps:
                step()
        for backend, stack in self.conveyor.items():
            self.systems[backend] = stack
            say(f"  {backend}: {self._durability(backend, stack.workdir)}")
            if backend in self.metrics_off:
                self.systems[self.metrics_off[backend].name] = self.metrics_off[backend]
        if self.metrics_off:
            say("  metrics-off: the same server with CONVEYOR_METRICS=off (no /metrics)")
        if celery is not None:
            celery.wait_ready()
            self.systems["celery"] = self.systems.pop("celery")  # measured last
            self._say_celery(celery, redis_info)
        say()

    def _stack(self, backend: str, *, metrics: bool) -> ConveyorStack:
        workdir = self.tmp / (backend if metrics else f"{backend}-metrics-off")
        workdir.mkdir()
        if backend == "sqlite":
            url = f"sqlite:///{workdir / 'conveyor.db'}"
        elif metrics:
            self.pg = PgDatabase(self.cfg.pg_url)
            url = self.pg.url
        else:
            self.pg_off = PgDatabase(self.cfg.pg_url)
            url = self.pg_off.url
        return ConveyorStack(
            backend, url, workdir, self.cfg.agents, self.cfg.slots, metrics=metrics
        )

    def _say_celery(self, celery: CeleryStack, info: dict[str, str]) -> None:
        import celery as celery_pkg
        import kombu
        import redis

        say(
            f"Celery {celery_pkg.__version__} (kombu {kombu.__version__}, redis-py "
            f"{redis.__version__}): one worker, {celery.settings()}"
        )
        volatile = info["appendonly"] == "no" and info["save"] in ('""', "")
        say(
            f"  Redis {info['redis_version']}: appendonly={info['appendonly']} "
            f"appendfsync={info['appendfsync']} save={info['save']} -> "
            + (
                "NOT durable: a broker restart loses queued tasks"
                if volatile
                else "persistence on (see the settings)"
            )
            + "; acks_late=False: a worker crash loses the task it runs"
        )

    def _durability(self, backend: str, workdir: Path) -> str:
        if backend == "sqlite":
            with sqlite3.connect(workdir / "conveyor.db") as conn:
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            sync = ServerSettings.model_fields["sqlite_synchronous"].default
            return (
                f"SQLite {sqlite3.sqlite_version} journal_mode={mode} synchronous={sync} "
                "(the server's default: durable)"
            )
        assert self.pg is not None
        shown = " ".join(f"{k}={v}" for k, v in self.pg.settings().items())
        return f"PostgreSQL {shown}"

    def stop(self) -> None:
        for system in self.systems.values():
            try:
                system.stop()
            except Exception as exc:  # keep stopping the others
                say(f"warning: stopping failed: {exc}")
        for pg in (self.pg, self.pg_off):
            if pg is not None:
                pg.drop()

    # phases

    def warm_up(self) -> None:
        for system in self.systems.values():
            system.latency_round(min(WARMUP_JOBS, self.cfg.latency_jobs))

    def legs(self) -> tuple[list[list[str]], int]:
        """The orders the throughput run measures the systems in, and the jobs of each leg.

        With the metrics-off twins, two legs of half the jobs, the second in the
        reverse order (A B B A): a machine that gets busier or quieter during the run
        then weighs on both sides of a pair alike, not on the one measured later.
        """
        names = list(self.systems)
        if not self.metrics_off:
            return [names], self.cfg.jobs
        return [names, names[::-1]], max(self.cfg.jobs // 2, 1)

    def throughput(self) -> None:
        say("## throughput")
        legs, jobs = self.legs()
        seconds: dict[str, float] = {}
        for leg, names in enumerate(legs, 1):
            if len(legs) > 1:
                say(f"leg {leg} of {len(legs)}: {jobs} jobs each")
            for name in names:
                rate = self._throughput(name, self.systems[name], jobs)
                seconds[name] = seconds.get(name, 0.0) + jobs / rate
        for name in self.systems:
            self.rates[name] = jobs * len(legs) / seconds[name]
            if len(legs) > 1:
                say(f"{name:<9} {self.rates[name]:8.0f} jobs/s over both legs")
        say()

    def _throughput(self, name: str, system: System, jobs: int) -> float:
        """One throughput measurement; the memory kept is that of the last one."""
        taken: dict[str, dict[str, float]] = {}
        cpu_at_end: dict[str, float] = {}

        def on_mark(when: str) -> None:
            taken[when] = tree_rss_mib(system.roots())
            if when == "end":  # before the run's own bookkeeping (reading the finish times)
                cpu_at_end.update(_cpu(system))

        before = _cpu(system)
        checkpoint = min(self.cfg.checkpoint, max(jobs // 2, 1))
        rate = system.throughput(jobs, self.cfg.batch, checkpoint, on_mark)
        used = {k: v - before.get(k, 0.0) for k, v in cpu_at_end.items()}
        self.memory[name] = taken
        say(f"{name:<9} {rate:8.0f} jobs/s; {cpu_line(used, jobs)}")
        return rate

    def latencies(self) -> None:
        say("## latency, one job at a time (ms after submit; p50/p99 per round)")
        names = list(self.systems)
        for r in range(self.cfg.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                lat = Latency.of(self.systems[name].latency_round(self.cfg.latency_jobs))
                self.latency.setdefault(name, []).append(lat)
                say(f"round {r + 1} {name:<9} {lat.describe()}")
        say("medians of the rounds:")
        for name in names:
            say(f"  {name:<9} {Latency.median(self.latency[name]).describe()}")
        if self.pg is not None:
            self.floor = measure_floor(self.pg.url, self.tmp)
            say(f"floor, no Conveyor code: {self.floor.describe()}")
        say()

    def csv_exports(self) -> None:
        say(f"## demo.export_csv, {self.cfg.csv_rows} rows: submit -> CSV downloaded")
        for backend, stack in self.conveyor.items():
            sampler = PeakSampler(stack.roots(), singles={"benchmark client": os.getpid()})
            with sampler.running():
                self.csv[backend] = stack.export_csv(self.cfg.csv_rows, self.tmp)
            say(
                f"{backend:<9} {self.csv[backend]:.2f} s; peak RSS: "
                + ", ".join(f"{label} {mib:.0f} MiB" for label, _, mib in sampler.by_process())
            )
        say()

    def report(self) -> None:
        say("## resident memory (MiB) during the throughput run")
        _, jobs = self.legs()
        checkpoint = min(self.cfg.checkpoint, max(jobs // 2, 1))
        for line in memory_lines(self.memory, checkpoint, jobs):
            say(line)
        say()
        say("## targets (ratios within this run)")
        floor_ms = self.floor.total_ms if self.floor else None
        for line in target_lines(
            self.rates, self.latency, self.memory, set(self.conveyor), floor_ms
        ):
            say(line)
        if self.metrics_off:
            say()
            say("## the metrics' cost: metrics on vs CONVEYOR_METRICS=off (goal: under 5 %)")
            for backend, twin in self.metrics_off.items():
                for line in metrics_cost_lines(backend, twin.name, self.rates, self.latency):
                    say(line)
        say(summary_line(self.rates, self.latency, self.csv))


def main(argv: Sequence[str] | None = None) -> None:
    cfg = parse_args(argv)
    # `kill` stops the run as Ctrl-C does: the processes it started are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="conveyor-e2e-", dir=cfg.tmpdir) as tmp:
        run = Run(cfg, Path(tmp))
        try:
            run.start()
            run.warm_up()
            run.throughput()
            run.latencies()
            if cfg.csv_rows > 0:
                run.csv_exports()
            run.report()
        except BaseException:
            _print_logs(Path(tmp))
            raise
        finally:
            run.stop()


def _print_logs(tmp: Path) -> None:
    for log in sorted(tmp.rglob("*.log")):
        text = log.read_text(errors="replace")
        if text.strip():
            print(f"--- {log.relative_to(tmp)} (last 2000 chars)\n{text[-2000:]}", file=sys.stderr)


if __name__ == "__main__":
    main()
