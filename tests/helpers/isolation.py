"""The isolation check, generated from the OpenAPI document: every route, three callers.

For each operation of ``/api/v1/openapi.json``:

- an anonymous caller gets 401 (unless the route is on :data:`PUBLIC`);
- a member of team B, naming team A's real objects in the path, gets 404 — as if
  they did not exist; on a listing without path objects, B sees none of A's;
- a viewer of team A calling a write route on A's objects gets 403 (a POST that only
  issues a signed URL for what a viewer may read is answered, not refused).

Path parameters are filled with real objects of team A (:class:`Objects`); a route
whose parameter or body cannot be filled is a violation, never skipped. Exceptions
are listed here, each with its reason.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

Op = tuple[str, str]  # (METHOD, path template)

PUBLIC: dict[Op, str] = {
    ("POST", "/api/v1/auth/login"): "logging in",
    ("POST", "/api/v1/auth/refresh"): "trading a refresh token",
    ("POST", "/api/v1/auth/register"): "registration (when enabled)",
    ("GET", "/healthz"): "liveness probe",
    ("GET", "/readyz"): "readiness probe",
    ("GET", "/metrics"): "Prometheus scrape",
}
"""Routes open to anyone, by decision."""

OPEN_TO_NON_MEMBERS: dict[Op, str] = {
    ("POST", "/api/v1/teams/{team}/join-requests"): "asking to join is for non-members",
}
"""Routes on a team's path that a non-member may call, by design."""

ANY_CALLER_WRITES: dict[Op, str] = {
    ("POST", "/api/v1/auth/logout"): "ends the caller's own login",
    ("POST", "/api/v1/me/sessions"): "starts another login of the caller's own",
    ("POST", "/api/v1/teams"): "anyone signed in may found a team",
    ("POST", "/api/v1/teams/join"): "joining with a code is the code's permission",
    ("POST", "/api/v1/teams/{team}/join-requests"): "asking to join is for non-members",
    ("POST", "/api/v1/teams/{team}/leave"): "every member may leave",
    ("POST", "/api/v1/auth/password"): "changes the caller's own password",
}
"""Write routes a viewer may call: they act on the caller, not on the team's objects."""

READS_BY_POST: dict[Op, str] = {
    (
        "POST",
        "/api/v1/jobs/{job_id}/artifacts/{name}/url",
    ): "a signed URL to an artifact (jobs:read)",
    ("POST", "/api/v1/jobs/{job_id}/logs/stream/url"): "a signed URL to a job's logs (jobs:read)",
    ("POST", "/api/v1/events/url"): "a signed URL to the events (jobs:read)",
    ("POST", "/api/v1/schedules/preview"): "describes a cron expression (schedules:read)",
}
"""POSTs that only issue a signed URL for what the caller may read: a viewer gets it."""

BODY_OBJECTS: dict[Op, str] = {
    ("POST", "/api/v1/events/url"): "the body names team A's job",
}
"""Routes without path objects whose body names team A's objects: team B gets 404."""

NAMESPACED: dict[Op, str] = {
    ("PATCH", "/api/v1/queues/{queue}"): "a queue name is a name in the caller's own team",
    ("PUT", "/api/v1/rate-limits/{key}"): "a rate key is a name in the caller's own team",
    ("DELETE", "/api/v1/rate-limits/{key}"): "a rate key is a name in the caller's own team",
    ("POST", "/api/v1/jobs/cancel"): "ids of another team's jobs are skipped, never touched",
    ("POST", "/api/v1/jobs/retry"): "ids of another team's jobs are skipped, never touched",
}
"""Routes whose path names a name in the caller's team, not an object, or whose body names
objects the route looks for in the caller's team only: B acts on its own; the check is
that team A's objects are unchanged afterwards."""

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PARAM = re.compile(r"{([^}]+)}")


@dataclass
class Objects:
    """Real objects of team A, and the callers."""

    url: str
    team_a: uuid.UUID
    fillers: dict[str, str]
    by_context: dict[
        tuple[str, str], str
    ]  # (path fragment, param) -> value, when a name is ambiguous
    bodies: dict[Op, Any]
    headers: dict[Op, dict[str, str]]
    member_b: str  # token of a member (owner) of team B, in no way a member of A
    viewer_a: str  # token of a viewer of team A
    secrets: list[str]  # strings of A's objects that must never show up in B's answers
    unchanged: dict[Op, Callable[[], bool]] = field(default_factory=dict)
    # A listing whose answer to team B may echo what B itself sent (its own audit log):
    # what in it would not be B's own, instead of the secrets.
    foreign: dict[Op, Callable[[httpx.Response], list[str]]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)  # caller -> requests made

    def fill(self, path: str) -> tuple[str | None, list[str]]:
        missing: list[str] = []

        def value(match: re.Match[str]) -> str:
            name = match[1]
            for (fragment, param), found in self.by_context.items():
                if param == name and fragment in path:
                    return found
            if name in self.fillers:
                return self.fillers[name]
            missing.append(name)
            return match[0]

        filled = _PARAM.sub(value, path)
        return (None if missing else filled), missing


def _call(objects: Objects, op: Op, url_path: str, token: str | None) -> httpx.Response:
    method = op[0]
    caller = {None: "anonymous", objects.member_b: "team B", objects.viewer_a: "viewer"}[token]
    objects.calls[caller] = objects.calls.get(caller, 0) + 1
    headers = dict(objects.headers.get(op, {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = objects.bodies.get(op)
    kwargs: dict[str, Any] = {"headers": headers}
    if isinstance(body, bytes):
        kwargs["content"] = body
    elif body is not None:
        kwargs["json"] = body
    with (
        httpx.Client(base_url=objects.url, timeout=60) as client,
        client.stream(method, url_path, **kwargs) as response,
    ):
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return httpx.Response(response.status_code, headers=response.headers)
        response.read()
        return response


def _leaks(objects: Objects, response: httpx.Response) -> list[str]:
    text = response.text if response.content else ""
    return [secret for secret in objects.secrets if secret in text]


def check(spec: dict[str, Any], objects: Objects, only: str = "") -> list[str]:
    """Every violation of the three rules over the routes of ``spec`` (under ``only``)."""
    found: list[str] = []
    for template, operations in spec["paths"].items():
        if not template.startswith(only):
            continue
        for method_lower, operation in operations.items():
            op = (method_lower.upper(), template)
            found += _check_operation(objects, op, operation)
    return found


def _check_operation(objects: Objects, op: Op, operation: dict[str, Any]) -> list[str]:
    method, template = op
    name = f"{method} {template}"
    if op in PUBLIC:
        return []  # open to anyone by decision: nothing to refuse
    url_path, missing = objects.fill(template)
    if url_path is None:
        return [f"{name}: cannot fill {', '.join(missing)} with an object of team A"]
    needs_body = operation.get("requestBody", {}).get("required", False)
    if needs_body and op not in objects.bodies:
        return [f"{name}: cannot fill its request body (add it to the bodies)"]
    problems: list[str] = []

    status = _call(objects, op, url_path, None).status_code
    if status != 401:
        problems.append(f"{name}: anonymous caller got {status}, not 401")

    has_objects = "{" in template
    if op in OPEN_TO_NON_MEMBERS:
        pass
    elif op in NAMESPACED:
        answer = _call(objects, op, url_path, objects.member_b)
        if answer.status_code >= 500 or not objects.unchanged[op]():
            problems.append(f"{name}: team B's call changed team A's object ({answer.status_code})")
    elif has_objects or op in BODY_OBJECTS:
        answer = _call(objects, op, url_path, objects.member_b)
        if answer.status_code != 404:
            problems.append(f"{name}: a member of team B got {answer.status_code}, not 404")
    elif method == "GET":
        answer = _call(objects, op, url_path, objects.member_b)
        leaked = objects.foreign[op](answer) if op in objects.foreign else _leaks(objects, answer)
        if answer.status_code >= 500 or leaked:
            problems.append(f"{name}: team B got {answer.status_code} showing {leaked}")

    if method in WRITE_METHODS and op not in ANY_CALLER_WRITES:
        status = _call(objects, op, url_path, objects.viewer_a).status_code
        if op in READS_BY_POST and status >= 300:
            problems.append(f"{name}: a viewer of team A got {status}, not its signed URL")
        elif op not in READS_BY_POST and status != 403:
            problems.append(f"{name}: a viewer of team A got {status}, not 403")
    return problems
