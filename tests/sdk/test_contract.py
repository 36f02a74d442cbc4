"""The SDK's models agree with the committed contract, ``openapi.json``.

``conveyor.sdk.models`` is written by hand; this checks it against the API's
schemas field by field, as JSON Schema on both sides: every field the SDK reads
exists in the answer's schema, a field the SDK requires is always sent, and every
kind of value the API may send (string, uuid, date-time, integer, object, array,
null, enum values) is one the SDK's field takes. Requests the SDK sends are checked
the other way round.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from pydantic import BaseModel

from conveyor.sdk import models, stats_models
from tests.helpers.contract import load_contract

RESPONSES = {
    "Job": "JobOut",
    "Submitter": "SubmitterOut",
    "JobPage": "JobList",
    "BulkResult": "JobBulkOut",
    "Artifact": "ArtifactOut",
    "Agent": "AgentOut",
    "ActionVersion": "ActionVersionOut",
    "Action": "ActionOut",
    "AuditEvent": "AuditEventOut",
    "AuditPage": "AuditList",
    "ApiKey": "KeyOut",
    "TokenPair": "TokenResponse",
    "Queue": "QueueOut",
    "RateLimit": "RateLimitOut",
    "RateKey": "RateKeyOut",
    "Event": "EventOut",
    "Team": "TeamOut",
    "Member": "MemberOut",
    "Role": "RoleOut",
    "Invite": "InviteOut",
    "JoinRequest": "JoinRequestOut",
    "Schedule": "ScheduleOut",
    "ScheduleTick": "TickOut",
    "SchedulePage": "ScheduleList",
    "ScheduleTickPage": "TickList",
    "SchedulePreview": "CronPreviewOut",
    "Stats": "StatsOut",
    "StatsMinute": "MinuteOut",
    "StatsTotals": "TotalsOut",
    "Percentiles": "PercentilesOut",
    "QueueStats": "QueueStatsOut",
    "AgentStats": "AgentStatsOut",
    "Failure": "FailureOut",
}
"""SDK model -> the API schema of the answer it is built from."""
REQUESTS = {
    "JobRequest": "JobCreate",
    "JobFilter": "JobFilter",
    "ScheduleRequest": "ScheduleIn",
    "ScheduleChange": "SchedulePatch",
}
"""SDK model -> the API schema of the request body it becomes."""
UNCHECKED = {
    "LogLine": "one entry of a log chunk's `lines`, which the contract leaves free-form",
}

Schema = dict[str, Any]


class Side:
    """One side's schemas, to resolve its ``$ref``s."""

    def __init__(self, name: str, definitions: dict[str, Schema]) -> None:
        self.name = name
        self.definitions = definitions

    def resolve(self, schema: Schema) -> Schema:
        while "$ref" in schema:
            schema = self.definitions[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def kinds(self, schema: Schema) -> set[str] | None:
        """The kinds of JSON value the schema allows ("string/uuid", "null", ...); None: any."""
        schema = self.resolve(schema)
        if "anyOf" in schema or "oneOf" in schema:
            found: set[str] = set()
            for branch in schema.get("anyOf", schema.get("oneOf")):
                inner = self.kinds(branch)
                if inner is None:
                    return None
                found |= inner
            return found
        if "enum" in schema and "type" not in schema:
            return {_KIND_OF[type(value)] for value in schema["enum"]}
        types = schema.get("type")
        if types is None:
            return None
        found = {types} if isinstance(types, str) else set(types)
        if "string" in found and "format" in schema:
            found = (found - {"string"}) | {f"string/{schema['format']}"}
        return found

    def ref_name(self, schema: Schema) -> str | None:
        """The model a field holds (through ``X | None``), if it names one."""
        for branch in [schema, *schema.get("anyOf", [])]:
            if "$ref" in branch:
                return str(branch["$ref"].rsplit("/", 1)[-1])
        return None

    def non_null(self, schema: Schema, key: str) -> Schema | None:
        """``items``/``additionalProperties`` of the schema's array or object branch."""
        for branch in [schema, *schema.get("anyOf", [])]:
            inner = self.resolve(branch).get(key)
            if isinstance(inner, dict):
                return inner
        return None


_KIND_OF = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}


def _taken(kind: str, taken: set[str]) -> bool:
    if kind in taken:
        return True
    if kind == "integer" and "number" in taken:
        return True
    return kind.startswith("string/") and "string" in taken  # a plain str takes any format


def compare_value(sent: Schema, by: Side, taken: Schema, at: Side, where: str) -> list[str]:
    """Problems when a value of schema ``sent`` (side ``by``) meets ``taken`` (side ``at``)."""
    taken_kinds, sent_kinds = at.kinds(taken), by.kinds(sent)
    if taken_kinds is None:
        return []
    if sent_kinds is None:
        return [f"{where}: {by.name} may send anything, {at.name} takes {sorted(taken_kinds)}"]
    refused = sorted(kind for kind in sent_kinds if not _taken(kind, taken_kinds))
    if refused:
        return [f"{where}: {by.name} may send {refused}, {at.name} takes {sorted(taken_kinds)}"]
    problems = _enum_problems(sent, by, taken, at, where)
    sent_model, taken_model = by.ref_name(sent), at.ref_name(taken)
    named = sent_model is not None or taken_model is not None
    if "object" in sent_kinds and named and not _paired(sent_model, taken_model):
        problems.append(f"{where}: {by.name}'s {sent_model} is not {at.name}'s {taken_model}")
    for key in ("items", "additionalProperties"):
        sent_inner, taken_inner = by.non_null(sent, key), at.non_null(taken, key)
        if sent_inner is not None and taken_inner is not None:
            problems += compare_value(sent_inner, by, taken_inner, at, f"{where}.{key}")
    return problems


def _paired(one: str | None, other: str | None) -> bool:
    """Whether an SDK model and an API schema are the pair this test matches."""
    pairs = {*RESPONSES.items(), *REQUESTS.items()}
    return (one, other) in pairs or (other, one) in pairs


def _enum_problems(sent: Schema, by: Side, taken: Schema, at: Side, where: str) -> list[str]:
    sent_values = _enum(by, sent)
    taken_values = _enum(at, taken)
    if sent_values is None or taken_values is None or sent_values <= taken_values:
        return []
    return [f"{where}: {by.name} may send {sorted(sent_values - taken_values)}, unknown to {at.name}"]  # fmt: skip


def _enum(side: Side, schema: Schema) -> set[Any] | None:
    for branch in [schema, *schema.get("anyOf", [])]:
        values = side.resolve(branch).get("enum")
        if values is not None:
            return set(values)
    return None


def compare_model(api: Side, api_schema: Schema, sdk: Side, sdk_schema: Schema, name: str, *, request: bool) -> list[str]:  # fmt: skip
    """Every field of the SDK's model exists in the API's, always sent when the receiver
    requires it, in a kind the receiver takes; a request also sends every field the API requires."""
    api_model, sdk_model = api.resolve(api_schema), sdk.resolve(sdk_schema)
    sender, receiver = (sdk, api) if request else (api, sdk)
    sent, taken = (sdk_model, api_model) if request else (api_model, sdk_model)
    problems = []
    for field, schema in sdk_model.get("properties", {}).items():
        where = f"{name}.{field}"
        other = api_model.get("properties", {}).get(field)
        if other is None:
            verb = "sends" if request else "reads"
            problems.append(f"{where}: the SDK {verb} it, the API has no such field")
            continue
        if field in taken.get("required", []) and field not in sent.get("required", []):
            problems.append(f"{where}: {receiver.name} requires it, {sender.name} may leave it out")
        sent_field, taken_field = (schema, other) if request else (other, schema)
        problems += compare_value(sent_field, sender, taken_field, receiver, where)
    if request:
        for field in set(api_model.get("required", [])) - set(sdk_model.get("properties", {})):
            problems.append(f"{name}.{field}: the API requires it, the SDK never sends it")
    return problems


def sdk_models() -> dict[str, type[BaseModel]]:
    return {
        name: cls
        for module in (models, stats_models)
        for name, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseModel) and cls.__module__ == module.__name__ and name[0] != "_"
    }


def contract_problems(contract: dict[str, Any], found: dict[str, type[BaseModel]]) -> list[str]:
    api = Side("the API", contract["components"]["schemas"])
    problems = []
    for name, model in found.items():
        schema = model.model_json_schema(ref_template="#/$defs/{model}")
        sdk = Side("the SDK", {**schema.get("$defs", {}), name: schema})
        if name in RESPONSES or name in REQUESTS:
            api_schema = {"$ref": f"#/{RESPONSES.get(name) or REQUESTS[name]}"}
            problems += compare_model(api, api_schema, sdk, schema, name, request=name in REQUESTS)
        elif name not in UNCHECKED:
            problems.append(f"{name}: not matched to a schema of the contract")
    return problems


def test_the_sdk_models_read_what_the_api_sends() -> None:
    found = sdk_models()
    assert set(RESPONSES) | set(REQUESTS) | set(UNCHECKED) == set(found)
    assert contract_problems(load_contract(), found) == []


def _renamed(document: dict[str, Any], schema: str, old: str, new: str) -> dict[str, Any]:
    schemas = dict(document["components"]["schemas"])
    changed = dict(schemas[schema])
    changed["properties"] = {
        (new if key == old else key): value for key, value in changed["properties"].items()
    }
    changed["required"] = [new if key == old else key for key in changed.get("required", [])]
    schemas[schema] = changed
    return {**document, "components": {**document["components"], "schemas": schemas}}


@pytest.mark.parametrize(
    ("schema", "field", "expected"),
    [
        ("JobOut", "finished_at", "Job.finished_at: the SDK reads it, the API has no such field"),
        ("JobCreate", "timeout_s", "JobRequest.timeout_s: the SDK sends it, the API has no such field"),
    ],
)  # fmt: skip
def test_a_field_renamed_by_the_api_is_caught(schema: str, field: str, expected: str) -> None:
    changed = _renamed(load_contract(), schema, field, field + "_v2")
    assert expected in contract_problems(changed, sdk_models())


def test_a_field_renamed_or_retyped_by_the_sdk_is_caught() -> None:
    class Job(models.Job):
        finish_at: int | None = None  # a misspelt field

    class Queue(BaseModel):
        name: str
        paused: str  # the API sends a boolean

    problems = contract_problems(load_contract(), {"Job": Job, "Queue": Queue})
    assert problems == [
        "Job.finish_at: the SDK reads it, the API has no such field",
        "Queue.paused: the API may send ['boolean'], the SDK takes ['string']",
    ]


def test_nullable_and_enum_values_are_checked() -> None:
    contract = load_contract()
    schemas = dict(contract["components"]["schemas"])
    job = dict(schemas["JobOut"])
    job["properties"] = {**job["properties"], "created_at": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}}  # fmt: skip
    schemas["JobOut"] = job
    schemas["JobState"] = {**schemas["JobState"], "enum": [*schemas["JobState"]["enum"], "paused"]}
    changed = {**contract, "components": {**contract["components"], "schemas": schemas}}
    problems = contract_problems(changed, {"Job": models.Job})
    assert (
        "Job.created_at: the API may send ['null'], the SDK takes ['string/date-time']" in problems
    )
    assert "Job.state: the API may send ['paused'], unknown to the SDK" in problems
