"""A FastAPI app that answers a submit-shaped request at once: no auth, no store.

Served by uvicorn on uvloop like Conveyor's server, it measures what one HTTP
request costs on this machine before any of Conveyor's own work (bench/e2e_floor.py).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Submit(BaseModel):
    action: str
    params: dict[str, Any] = {}


@app.post("/jobs", status_code=201)
async def submit(body: Submit) -> dict[str, str]:
    return {"id": str(uuid.uuid4()), "action": body.action}
