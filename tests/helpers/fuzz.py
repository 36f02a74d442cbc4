"""The API fuzz run: schemathesis over every operation of the committed ``openapi.json``.

A live server is seeded with one of everything an id in a path can name (a running
job with an artifact, a key, a role, an invite, a join request, a member, an agent);
the fuzzer's path parameters are swapped for those real ids half of the time, so the
routes behind an id are exercised past their 404. Each operation gets its own small
hypothesis run; every answer goes through schemathesis' checks for server errors,
response schema and documented status codes, and the failures of the whole run are
collected so one report names them all.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from conveyor.api.routers.artifacts import LEASE_HEADER
from tests.api.conftest import ECHO, Live

OPENAPI = Path(__file__).resolve().parents[2] / "openapi.json"

# Examples per operation and generation mode: both dialects in about 90 s on a loaded
# 2-core machine; `make fuzz` asks for more.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))

# Streams never end: their own tests (tests/api/test_events_api.py, logs) cover them.
EXCLUDED = frozenset({"events_stream", "logs_stream"})

# Operations that may take the fuzzing admin's own access away run as a throwaway
# user (logout ends the caller's session; a password change ends its other sessions).
AS_THROWAWAY = frozenset({"auth_logout", "auth_password_change"})
AS_AGENT = frozenset({"artifacts_upload"})  # needs `agent:connect` and a lease token
# The rest run in the document's order, but these after it, in this order: each ends
# a seeded thing the others still need (a job, a role, a key, an invite, a request, a
# member), and the last two may take the admin's ownership or membership away.
LATE = (
    "artifacts_upload",
    "jobs_cancel",
    "jobs_retry",
    "agents_drain",
    "schedules_delete",
    "roles_delete",
    "keys_revoke",
    "teams_invites_revoke",
    "teams_join_requests_reject",
    "teams_join_requests_accept",
    "teams_members_update",
    "teams_transfer",
    "teams_members_remove",
    "teams_leave",
)

CHECKS: list[CheckFunction] = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
]
AUTH_REFUSALS = frozenset({401, 403})


@dataclass(frozen=True)
class Seeds:
    """Real ids for the path parameters, the lease header and body fields."""

    path: dict[str, str]
    lease_token: str
    body: dict[str, str]


@dataclass
class Outcome:
    """What the run saw: operations answered past authentication, and every failure."""

    reached: set[str] = field(default_factory=set)
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    failures: dict[tuple[str, int, str], str] = field(default_factory=dict)

    def table(self) -> str:
        """The statuses each operation answered, to see what a run exercised."""
        return "\n".join(f"{op_id} {dict(sorted(counts.items()))}"
                         for op_id, counts in sorted(self.statuses.items()))  # fmt: skip

    def report(self) -> str:
        """One entry per operation, status and kind of failure, with a reproduction."""
        return "\n\n".join(f"{op_id} answered {status}: {text}"
                            for (op_id, status, _), text in sorted(self.failures.items()))  # fmt: skip


def seed(live: Live) -> Seeds:
    """One of everything a path can name, in the admin's team."""
    agent_id = live.offer(ECHO)
    member = live.user("viewer")
    outsider = live.user(None)
    with live.client() as api:
        job = _ok(api.post("/jobs", json={"action": ECHO.name, "params": {"message": "x"}}))
        [claimed] = live.claim(ECHO)
        assert str(claimed.id) == job["id"]
        key = _ok(
            api.post(
                "/teams/default/keys",
                json={"kind": "client", "name": "fuzz", "scopes": ["jobs:read"]},
            )
        )
        role = _ok(
            api.post("/teams/default/roles", json={"name": "fuzzer", "permissions": ["jobs:read"]})
        )
        invite = _ok(api.post("/teams/default/invites", json={"role": "viewer"}))
        schedule = _ok(
            api.post("/schedules", json={"name": "fuzz", "action": ECHO.name, "cron": "0 3 * * *"})
        )
    with live.client(token=live.agent_key) as agent:
        _ok(
            agent.put(
                f"/jobs/{claimed.id}/artifacts/report.txt",
                content=b"fuzz",
                headers={LEASE_HEADER: str(claimed.lease_token), "Content-Type": "text/plain"},
            )
        )
    with live.client(token=outsider.token) as asker:
        request = _ok(asker.post("/teams/default/join-requests", json={"message": "hi"}))
    return Seeds(
        path={
            "team": "default",
            "job_id": str(claimed.id),
            "name": "report.txt",
            "agent_id": str(agent_id),
            "key_id": key["id"],
            "role_id": role["id"],
            "invite_id": invite["id"],
            "request_id": request["id"],
            "user_id": str(member.id),
            "queue": "default",
            "schedule_id": schedule["id"],
        },
        lease_token=str(claimed.lease_token),
        body={"action": ECHO.name, "user_id": str(member.id), "code": invite["code"]},
    )


def operations() -> Iterator[schemathesis.APIOperation]:
    """Every operation of the document but the streams, the risky ones last."""
    schema = schemathesis.openapi.from_path(OPENAPI)
    found = [result.ok() for result in schema.get_all_operations()]
    kept = [op for op in found if op.definition.raw["operationId"] not in EXCLUDED]
    yield from sorted(kept, key=lambda op: _rank(op.definition.raw["operationId"]))


def operation_ids() -> set[str]:
    return {op.definition.raw["operationId"] for op in operations()}


def fuzz(live: Live, seeds: Seeds, outcome: Outcome) -> None:
    """Run every operation, recording into ``outcome``."""
    throwaway = live.user("viewer").token
    with requests.Session() as session:
        for operation in operations():
            op_id = operation.definition.raw["operationId"]
            token = live.admin_token
            if op_id in AS_THROWAWAY:
                token = throwaway
            elif op_id in AS_AGENT:
                token = live.agent_key
            call = _caller(live.url, session, {"Authorization": f"Bearer {token}"}, op_id, outcome)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _run(operation, mode, seeds, call)


def _run(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    seeds: Seeds,
    call: Callable[[schemathesis.Case], None],
) -> None:
    cases = st.tuples(operation.as_strategy(generation_mode=mode), st.booleans())

    @hypothesis.given(cases)
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    def one(drawn: tuple[schemathesis.Case, bool]) -> None:
        case, use_seeds = drawn
        if use_seeds:
            _substitute(case, seeds)
        call(case)

    try:
        one()
    except hypothesis.errors.Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        # nothing in this operation can be made invalid (no parameters, no body)


def _substitute(case: schemathesis.Case, seeds: Seeds) -> None:
    if case.path_parameters:
        for name in case.path_parameters:
            if name in seeds.path:
                case.path_parameters[name] = seeds.path[name]
    if case.headers is not None and LEASE_HEADER in case.headers:
        case.headers[LEASE_HEADER] = seeds.lease_token
    _substitute_fields(case.body, seeds.body)


def _substitute_fields(value: object, fields: dict[str, str]) -> None:
    """Seeded values for the body's fields of those names, at any depth (a batch's jobs)."""
    if isinstance(value, dict):
        for name, inner in value.items():
            if name in fields:
                value[name] = fields[name]
            else:
                _substitute_fields(inner, fields)
    elif isinstance(value, list):
        for inner in value:
            _substitute_fields(inner, fields)


def _caller(
    base_url: str,
    session: requests.Session,
    auth: dict[str, str],
    op_id: str,
    outcome: Outcome,
) -> Callable[[schemathesis.Case], None]:
    def call(case: schemathesis.Case) -> None:
        _keep_framing(case)
        try:
            response = case.call(base_url=base_url, session=session, headers=auth, timeout=10)
        except requests.Timeout:
            outcome.failures.setdefault((op_id, 0, "timeout"), f"no answer in 10 s: {case!r}")
            return
        outcome.statuses[op_id][response.status_code] += 1
        if response.status_code not in AUTH_REFUSALS:
            outcome.reached.add(op_id)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            titles = ", ".join(sorted(f.title for f in group.exceptions))
            outcome.failures.setdefault((op_id, response.status_code, titles), str(group))

    return call


def _keep_framing(case: schemathesis.Case) -> None:
    """A Content-Length that is a number but not the body's would desynchronize the
    connection rather than test the API: the HTTP client sets that one. A malformed
    one stays (the parser refuses it: 400)."""
    length = (case.headers or {}).get("content-length")
    if case.headers is not None and (length is None or str(length).strip().isdigit()):
        case.headers.pop("content-length", None)


def _rank(op_id: str) -> int:
    return LATE.index(op_id) + 1 if op_id in LATE else 0


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    found: dict[str, Any] = response.json()
    return found
