"""Examples of the main request and response bodies, shown in the OpenAPI document.

Made up but consistent with one another: the job created by ``JOB_CREATE`` is
``JOB_OUT``, submitted with the token of ``TOKEN_RESPONSE``.
"""

from __future__ import annotations

from typing import Any

LOGIN_REQUEST: dict[str, Any] = {"email": "ada@example.com", "password": "correct horse battery"}

TOKEN_RESPONSE: dict[str, Any] = {
    "access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiIuLi4ifQ.c2ln",
    "refresh_token": "cvr_8Jq2wLxN5tZ0",
    "token_type": "bearer",
    "expires_in": 900,
}

JOB_CREATE: dict[str, Any] = {
    "action": "reports.export_csv",
    "params": {"customer_id": 42, "month": "2026-05"},
    "queue": "exports",
    "priority": 10,
    "max_attempts": 5,
    "timeout_s": 600,
    "labels": {"region": "eu"},
    "idempotency_key": "export-42-2026-05",
    "concurrency_key": "customer-42",
}

JOB_OUT: dict[str, Any] = {
    "id": "0197a3c2-5b1e-7d7a-9f10-3c5e8d2a4b61",
    "action": "reports.export_csv",
    "params": {"customer_id": 42, "month": "2026-05"},
    "queue": "exports",
    "priority": 10,
    "state": "running",
    "attempt": 1,
    "max_attempts": 5,
    "progress": {"done": 1200, "total": 5000},
    "result": None,
    "error": None,
    "agent_id": "0197a3b0-11c2-7e44-8a5d-6f0b9e1c2d33",
    "created_at": "2026-06-01T09:30:00.123456Z",
    "started_at": "2026-06-01T09:30:00.412000Z",
    "finished_at": None,
    "run_at": "2026-06-01T09:30:00.123456Z",
    "labels": {"region": "eu"},
    "timeout_s": 600.0,
    "cancel_requested": False,
    "cancel_requested_at": None,
    "idempotency_key": "export-42-2026-05",
    "concurrency_key": "customer-42",
    "parent_id": None,
    "waiting_reason": None,
    "created_by": {
        "kind": "user",
        "id": "0197a3a1-0c4d-7b2e-9e61-5d7f3a8b1c20",
        "name": "ada@example.com",
    },
}
