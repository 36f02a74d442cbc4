"""The history checker: what ran (the ledger) against what counted (the server).

After a scenario, :func:`check_history` reads the ledger the tasks wrote and the
jobs and attempts through the public API, and asserts the delivery promises:

- every acknowledged submit reached exactly one terminal state (a job is
  terminal, and at most one of its attempts is closed ``succeeded``);
- a succeeded job has exactly one result, from the run holding the final
  attempt's lease token (the task returns its attempt and token);
- every run the ledger holds is of a submitted job, each attempt ran at most once,
  and each duplicate run (one whose result did not count) is explained: its
  attempt's outcome says the lease expired or the job was released or the task
  failed, or the scenario declares it killed or froze that run's agent.

On a violation it writes the ledger, jobs, attempts and process logs to
``.chaos/<scenario>-<time>/`` at the repository root (ignored by git) and says so.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from conveyor import Client
from conveyor.sdk.models import Job
from tests.chaos import ledger as ledger_file
from tests.chaos.ledger import Execution

DUMP_ROOT = Path(__file__).resolve().parents[2] / ".chaos"
TERMINAL = {"succeeded", "dead", "cancelled"}
# Attempt outcomes that explain why a run's result did not count.
EXPLAINED = {"lease_expired", "released", "cancelled", "timed_out"}


class HistoryViolation(AssertionError):
    """The history broke a delivery promise; the message lists how and where the dump is."""


@dataclass
class History:
    """What the checker read, for scenarios that assert more (e.g. no duplicate at all)."""

    jobs: dict[str, Job]
    attempts: dict[str, list[dict[str, Any]]]
    runs: list[Execution]
    duplicates: list[Execution] = field(default_factory=list)

    def runs_of(self, job_id: str) -> list[Execution]:
        return [run for run in self.runs if run.job == job_id]


def check_history(
    client: Client,
    api: httpx.Client,
    ledger: Path,
    submitted: Iterable[str],
    *,
    scenario: str,
    faulty_agents: Iterable[int] = (),
    logs: Iterable[Path] = (),
    dump_root: Path = DUMP_ROOT,
) -> History:
    """Assert the promises over the scenario's history; ``faulty_agents``: pids it killed
    or froze. Raises :class:`HistoryViolation` after dumping the evidence."""
    ids = list(submitted)
    history = _read(client, api, ledger, ids)
    problems = _violations(history, ids, set(faulty_agents))
    if problems:
        where = _dump(dump_root / scenario, history, ledger, problems, logs)
        listed = "\n".join(f"- {p}" for p in problems[:20])
        raise HistoryViolation(
            f"{len(problems)} violation(s) of the delivery promises:\n{listed}\nevidence: {where}"
        )
    return history


def _read(client: Client, api: httpx.Client, ledger: Path, ids: list[str]) -> History:
    jobs = {job_id: client.get(job_id) for job_id in ids}
    attempts = {}
    for job_id in ids:
        response = api.get(f"/jobs/{job_id}/attempts")
        response.raise_for_status()
        attempts[job_id] = response.json()["items"]
    return History(jobs, attempts, ledger_file.read(ledger))


def _violations(history: History, ids: list[str], faulty: set[int]) -> list[str]:
    problems: list[str] = []
    known = set(ids)
    seen: set[tuple[str, int]] = set()
    for run in history.runs:
        if run.job not in known:
            problems.append(
                f"run of job {run.job} attempt {run.attempt}: no submit acknowledged it"
            )
        if (run.job, run.attempt) in seen:
            problems.append(f"job {run.job} attempt {run.attempt} ran more than once")
        seen.add((run.job, run.attempt))
    for job_id in ids:
        problems += _job_violations(history, job_id, faulty)
    return problems


def _job_violations(history: History, job_id: str, faulty: set[int]) -> list[str]:
    job = history.jobs[job_id]
    attempts = {a["attempt"]: a for a in history.attempts[job_id]}
    runs = history.runs_of(job_id)
    if job.state not in TERMINAL:
        return [f"job {job_id} ended the scenario {job.state}, not in a terminal state"]
    problems = []
    completions = [n for n, a in attempts.items() if a["outcome"] == "succeeded"]
    if len(completions) > 1:
        problems.append(f"job {job_id} completed {len(completions)} times: attempts {completions}")
    winner: Execution | None = None
    if job.state == "succeeded":
        winner, problem = _result_violation(job, runs)
        if problem:
            problems.append(problem)
    for run in runs:
        if run is winner:
            continue
        outcome = attempts.get(run.attempt, {}).get("outcome")
        failed = outcome == "failed" and run.outcome == "raised"
        if outcome in EXPLAINED or failed or run.agent_pid in faulty:
            history.duplicates.append(run)
            continue
        problems.append(
            f"job {job_id} attempt {run.attempt} ran on agent pid {run.agent_pid} "
            f"({'finished' if run.finished else 'unfinished'}) but its result did not count, "
            f"its attempt's outcome is {outcome!r} and no fault was declared for that agent"
        )
    return problems


def _result_violation(job: Job, runs: list[Execution]) -> tuple[Execution | None, str | None]:
    """The run whose result counted; a problem unless it holds the final attempt's token."""
    result = job.result if isinstance(job.result, dict) else {}
    final = [run for run in runs if run.attempt == job.attempt]
    if not final:
        return None, f"job {job.id} succeeded at attempt {job.attempt}, which never ran"
    if result.get("attempt") != job.attempt or result.get("token") != final[0].token:
        return final[0], (
            f"job {job.id}: its result {result} is not from the final attempt "
            f"{job.attempt} (token {final[0].token}): a stale run's result was applied"
        )
    if not final[0].finished:
        return final[0], f"job {job.id}: its final attempt {job.attempt} never finished running"
    return final[0], None


def _dump(
    folder: Path, history: History, ledger: Path, problems: list[str], logs: Iterable[Path]
) -> Path:
    where = folder.with_name(f"{folder.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    where.mkdir(parents=True, exist_ok=True)
    (where / "violations.txt").write_text("\n".join(problems) + "\n")
    if ledger.exists():
        shutil.copy(ledger, where / "ledger.jsonl")
    jobs = {job_id: job.model_dump(mode="json") for job_id, job in history.jobs.items()}
    (where / "jobs.json").write_text(json.dumps(jobs, indent=1))
    (where / "attempts.json").write_text(json.dumps(history.attempts, indent=1))
    for log in logs:
        if log.exists():
            shutil.copy(log, where / log.name)
    return where
