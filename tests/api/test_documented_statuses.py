"""Statuses the API answers before a route runs are in the operations' documents too
(found by the fuzz run: a client that trusts the document must be told of them)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import requests

from tests.api.conftest import Live

OPENAPI = Path(__file__).resolve().parents[2] / "openapi.json"


def _operations() -> dict[str, dict[str, Any]]:
    document = json.loads(OPENAPI.read_text())
    return {op["operationId"]: op for path in document["paths"].values() for op in path.values()}


def test_an_operation_taking_a_content_length_documents_the_parsers_400() -> None:
    taking = {
        op_id: op for op_id, op in _operations().items()
        if any(p["in"] == "header" and p["name"].lower() == "content-length"
               for p in op.get("parameters", []))
    }  # fmt: skip
    assert "artifacts_upload" in taking
    for op_id, op in taking.items():
        assert "400" in op["responses"], f"{op_id} does not document 400"


def test_a_malformed_content_length_answers_a_documented_400(live: Live) -> None:
    # requests sends the header as given (httpx refuses to); so does the fuzzer
    answer = requests.put(
        f"{live.url}/api/v1/jobs/{uuid.uuid4()}/artifacts/out.csv",
        headers={
            "Authorization": f"Bearer {live.agent_key}",
            "X-Conveyor-Lease-Token": str(uuid.uuid4()),
            "Content-Length": "null",
        },
        timeout=30,
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "bad_request"
    assert "400" in _operations()["artifacts_upload"]["responses"]
