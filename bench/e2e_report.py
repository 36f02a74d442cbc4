"""Figures of the end-to-end benchmark: latency percentiles, memory, targets, summary."""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from bench.e2e_conveyor import Timing

# Targets from the issue, as ratios within one run.
MIN_THROUGHPUT_VS_CELERY = 2.0
MAX_P50_START_VS_CELERY = 1.2
MAX_RSS_GROWTH = 1.1
TARGET_BACKEND = "postgres"

Memory = Mapping[str, Mapping[str, Mapping[str, float]]]  # system -> when -> process -> MiB


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass(frozen=True)
class Latency:
    """p50/p99 in milliseconds of submit -> created (Conveyor), -> start, -> ran, -> done."""

    created: tuple[float, float] | None
    start: tuple[float, float]
    ran: tuple[float, float]
    done: tuple[float, float]

    @classmethod
    def of(cls, timings: Sequence[Timing]) -> Latency:
        def pair(values: list[float]) -> tuple[float, float]:
            ms = [v * 1000 for v in values]
            return percentile(ms, 0.5), percentile(ms, 0.99)

        created = [t.created for t in timings if t.created is not None]
        return cls(
            pair(created) if created else None,
            pair([t.start for t in timings]),
            pair([t.ran for t in timings]),
            pair([t.done for t in timings]),
        )

    @classmethod
    def median(cls, rounds: Sequence[Latency]) -> Latency:
        def med(pairs: list[tuple[float, float]]) -> tuple[float, float]:
            return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)

        created = [r.created for r in rounds if r.created is not None]
        return cls(
            med(created) if created else None,
            med([r.start for r in rounds]),
            med([r.ran for r in rounds]),
            med([r.done for r in rounds]),
        )

    def describe(self) -> str:
        shown = [("start", self.start), ("ran", self.ran), ("done", self.done)]
        if self.created is not None:
            shown.insert(0, ("created", self.created))
        return "  ".join(f"{name} {p50:6.2f}/{p99:7.2f}" for name, (p50, p99) in shown)


def cpu_line(used: dict[str, float], jobs: int) -> str:
    """CPU per job by process, largest first, and their total (microseconds)."""
    per_job = sorted(((v / jobs * 1e6, k) for k, v in used.items() if v > 0), reverse=True)
    parts = ", ".join(f"{name} {us:.0f}" for us, name in per_job)
    return f"CPU per job: {parts}; total {sum(us for us, _ in per_job):.0f} us"


def memory_lines(memory: Memory, checkpoint: int, jobs: int) -> Iterator[str]:
    yield f"{'process':<36} {'@' + str(checkpoint):>9} {'@' + str(jobs):>9}  ratio"
    for system, taken in memory.items():
        first, last = taken.get("checkpoint", {}), taken.get("end", {})
        for process in sorted(set(first) | set(last), key=_process_order):
            a, b = first.get(process), last.get(process)
            ratio = f"{b / a:5.2f}" if a and b else "  n/a"
            shown = f"{process}" if process.startswith(system) else f"{system} {process}"
            yield f"{shown:<36} {_mib(a):>9} {_mib(b):>9}  {ratio}"


def _process_order(name: str) -> tuple[bool, str]:
    return ("children" in name, name)


def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _rss_growth(memory: Memory, systems: set[str]) -> tuple[float, str] | None:
    """The largest after/before ratio over the processes of ``systems``."""
    worst: tuple[float, str] | None = None
    for system in systems:
        first = memory.get(system, {}).get("checkpoint", {})
        last = memory.get(system, {}).get("end", {})
        for process, before in first.items():
            after = last.get(process)
            if before and after and (worst is None or after / before > worst[0]):
                worst = (after / before, process)
    return worst


def _verdict(ok: bool | None) -> str:
    return "n/a " if ok is None else ("PASS" if ok else "MISS")


def target_lines(
    rates: Mapping[str, float],
    latency: Mapping[str, Sequence[Latency]],
    memory: Memory,
    conveyor: set[str],
    floor_ms: float | None = None,
) -> Iterator[str]:
    pg, celery = rates.get(TARGET_BACKEND), rates.get("celery")
    ratio = pg / celery if pg and celery else None
    yield (
        f"{_verdict(None if ratio is None else ratio >= MIN_THROUGHPUT_VS_CELERY)} "
        f"throughput postgres/celery = {_fmt(ratio)} (target >= {MIN_THROUGHPUT_VS_CELERY})"
    )
    p50 = _p50_start(latency, TARGET_BACKEND)
    celery_p50 = _p50_start(latency, "celery")
    ratio = p50 / celery_p50 if p50 and celery_p50 else None
    yield (
        f"{_verdict(None if ratio is None else ratio <= MAX_P50_START_VS_CELERY)} "
        f"p50 submit->start postgres/celery = {_fmt(ratio)} "
        f"(target <= {MAX_P50_START_VS_CELERY})"
    )
    ran = _p50_ran(latency, TARGET_BACKEND)
    ratio = ran / celery_p50 if ran and celery_p50 else None
    yield f"info p50 submit->task body ran postgres/celery = {_fmt(ratio)}"
    ratio = floor_ms / celery_p50 if floor_ms and celery_p50 else None
    yield (
        f"info floor (one HTTP request + one durable commit, no Conveyor code)/celery p50 "
        f"= {_fmt(ratio)}"
    )
    growth = _rss_growth(memory, conveyor)
    yield (
        f"{_verdict(None if growth is None else growth[0] <= MAX_RSS_GROWTH)} "
        f"RSS after all jobs / at the checkpoint, worst Conveyor process = "
        f"{_fmt(growth and growth[0])}{f' ({growth[1]})' if growth else ''} "
        f"(target <= {MAX_RSS_GROWTH})"
    )


METRICS_COST_GOAL = 0.05
"""The metrics may cost at most this share of throughput and of p50 submit -> start."""


def metrics_cost_lines(
    on: str, off: str, rates: Mapping[str, float], latency: Mapping[str, Sequence[Latency]]
) -> Iterator[str]:
    """Throughput and p50 submit -> start of one backend with its metrics on vs off.

    The cost is how much worse "on" is: fewer jobs/s, or a longer p50; a negative
    cost means "on" measured better (noise).
    """
    rate_on, rate_off = rates.get(on), rates.get(off)
    cost = 1 - rate_on / rate_off if rate_on and rate_off else None
    yield (
        f"{_verdict(None if cost is None else cost < METRICS_COST_GOAL)} {on} throughput "
        f"on {_fmt(rate_on, 0)} vs off {_fmt(rate_off, 0)} jobs/s: cost {_pct(cost)}"
    )
    p50_on, p50_off = _p50_start(latency, on), _p50_start(latency, off)
    cost = p50_on / p50_off - 1 if p50_on and p50_off else None
    yield (
        f"{_verdict(None if cost is None else cost < METRICS_COST_GOAL)} {on} p50 "
        f"submit->start on {_fmt(p50_on)} vs off {_fmt(p50_off)} ms: cost {_pct(cost)}"
    )


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:+.1f} %"


def _p50_start(latency: Mapping[str, Sequence[Latency]], system: str) -> float | None:
    rounds = latency.get(system)
    return Latency.median(rounds).start[0] if rounds else None


def _p50_ran(latency: Mapping[str, Sequence[Latency]], system: str) -> float | None:
    rounds = latency.get(system)
    return Latency.median(rounds).ran[0] if rounds else None


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def summary_line(
    rates: Mapping[str, float], latency: Mapping[str, Sequence[Latency]], csv: Mapping[str, float]
) -> str:
    pg = latency.get(TARGET_BACKEND)
    start = Latency.median(pg).start if pg else None
    return (
        f"e2e: sqlite={_fmt(rates.get('sqlite'), 0)} postgres={_fmt(rates.get('postgres'), 0)} "
        f"celery={_fmt(rates.get('celery'), 0)} p50_ms={_fmt(start and start[0])} "
        f"p99_ms={_fmt(start and start[1])} celery_p50_ms={_fmt(_p50_start(latency, 'celery'))} "
        f"csv_1m_s={_fmt(csv.get(TARGET_BACKEND))}"
    )
