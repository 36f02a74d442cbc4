"""The contract as a file: ``openapi.json`` is the app's document, valid, and readable.

Operation ids are stable names (``<resource>_<verb>``) given on each route, every
operation names its credential, and the interactive docs load nothing from outside.
"""

from __future__ import annotations

import difflib
import re
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from openapi_spec_validator import validate

from conveyor.api import examples
from conveyor.api.app import create_app
from conveyor.api.contract import render
from conveyor.api.deps import require
from conveyor.api.models import JobCreate, JobOut, LoginRequest, TokenResponse
from conveyor.api.openapi import api_routes
from conveyor.settings import ServerSettings
from tests.api.conftest import Live
from tests.api.test_route_permissions import PUBLIC_ROUTES
from tests.helpers.contract import CONTRACT, load_contract

OPERATION_ID = re.compile(r"[a-z]+(_[a-z]+)+")
SIGNED_URL_OPERATIONS = {"logs_stream", "events_stream", "artifacts_download"}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(ServerSettings())


def test_the_committed_contract_is_the_apps_document(app: FastAPI) -> None:
    generated = render(app.openapi())
    committed = CONTRACT.read_text(encoding="utf-8") if CONTRACT.exists() else ""
    if generated != committed:
        diff = difflib.unified_diff(
            committed.splitlines(), generated.splitlines(), "openapi.json", "the app", lineterm=""
        )
        shown = "\n".join(list(diff)[:40])
        pytest.fail(f"openapi.json is not the app's document: run `make openapi`\n{shown}")


def test_the_committed_contract_is_valid_openapi() -> None:
    document = load_contract()
    validate(document)  # raises on the first error
    assert document["openapi"].startswith("3.1")
    assert "itemSchema" not in CONTRACT.read_text(encoding="utf-8")  # an OpenAPI 3.2 keyword


def operation_id_problems(app: FastAPI) -> list[str]:
    """Every route in the document names its operation ``<tag>_<verb>``, by hand, once."""
    problems, seen = [], set()
    for route in filter(lambda route: route.include_in_schema, api_routes(app)):
        name, tags = route.operation_id, [str(tag) for tag in route.tags]
        if name is None:
            problems.append(f"{route.path}: no operation_id=")
        elif not OPERATION_ID.fullmatch(name) or not tags or not name.startswith(f"{tags[0]}_"):
            problems.append(f"{route.path}: {name!r} is not `<tag>_<verb>` (tags {tags})")
        elif name in seen:
            problems.append(f"{route.path}: {name!r} is used twice")
        seen.add(name)
    return problems


def test_every_operation_has_a_stable_id_named_for_its_resource(app: FastAPI) -> None:
    assert operation_id_problems(app) == []
    ids = {route.operation_id for route in api_routes(app)}
    assert {"jobs_create", "jobs_list", "jobs_read", "logs_stream", "auth_login"} <= ids


def test_the_id_check_catches_a_missing_a_malformed_and_a_repeated_id() -> None:
    app = create_app(ServerSettings())
    sneaky = APIRouter(prefix="/api/v1/sneaky", tags=["sneaky"])
    for path, name in [("/a", None), ("/b", "SneakyRead"), ("/c", "sneaky_read"), ("/d", "sneaky_read")]:  # fmt: skip
        sneaky.add_api_route(path, _nothing, operation_id=name, dependencies=[require("jobs:read")])
    app.include_router(sneaky)
    found = operation_id_problems(app)
    assert [problem.split(":")[0] for problem in found] == [
        "/api/v1/sneaky/a", "/api/v1/sneaky/b", "/api/v1/sneaky/d",
    ]  # fmt: skip


async def _nothing() -> dict[str, str]:
    return {}


def _operations(document: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        operation["operationId"]: (path, operation)
        for path, methods in document["paths"].items()
        for operation in methods.values()
    }


def test_every_operation_but_the_public_ones_takes_the_bearer(app: FastAPI) -> None:
    document = app.openapi()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"]["type"] == "http" and schemes["bearer"]["scheme"] == "bearer"
    assert "API key" in schemes["bearer"]["description"]
    public = set()
    for name, (path, operation) in _operations(document).items():
        security = operation.get("security")
        if security is None:
            public.add(path)
        elif name in SIGNED_URL_OPERATIONS:
            assert security == [{"bearer": []}, {"signedUrl": []}], name
        else:
            assert security == [{"bearer": []}], name
    # The routes that answer without a credential (/metrics, Prometheus' text format with
    # its own optional token, is not in the document).
    assert public == PUBLIC_ROUTES - {"/metrics"}


def test_event_streams_name_the_model_of_their_data(app: FastAPI) -> None:
    operations = _operations(app.openapi())
    for name, model in [("events_stream", "EventOut"), ("logs_stream", "LogChunk")]:
        answer = operations[name][1]["responses"]["200"]
        media = answer["content"]["text/event-stream"]
        assert media["schema"]["type"] == "string"
        assert media["x-event-data"] == {"$ref": f"#/components/schemas/{model}"}
        assert "Last-Event-ID" in answer["description"]


def test_the_examples_are_valid_bodies() -> None:
    assert JobCreate.model_validate(examples.JOB_CREATE).action == examples.JOB_CREATE["action"]
    assert str(JobOut.model_validate(examples.JOB_OUT).id) == examples.JOB_OUT["id"]
    assert LoginRequest.model_validate(examples.LOGIN_REQUEST).email == "ada@example.com"
    assert TokenResponse.model_validate(examples.TOKEN_RESPONSE).token_type == "bearer"
    schemas = load_contract()["components"]["schemas"]
    assert schemas["JobCreate"]["examples"] == [examples.JOB_CREATE]
    shown = {key: value for key, value in examples.JOB_OUT.items() if value is not None}
    assert schemas["JobOut"]["examples"] == [shown]  # FastAPI leaves nulls out of the document


class _Assets(HTMLParser):
    """The URLs of the scripts, styles and icons a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


def test_the_docs_page_loads_everything_from_this_server(live: Live) -> None:
    with httpx.Client(base_url=live.url, timeout=60) as http:
        page = http.get("/api/v1/docs")
        assert page.status_code == 200 and "SwaggerUIBundle" in page.text
        assert "://" not in page.text  # no CDN, no public validator: works offline
        parser = _Assets()
        parser.feed(page.text)
        assert len(parser.urls) >= 3  # the script, the style and the icon
        for url in parser.urls:
            assert url.startswith("/api/v1/docs/"), url
            asset = http.get(url)
            assert asset.status_code == 200 and len(asset.content) > 1000, url
        assert "'/api/v1/openapi.json'" in page.text
        assert http.get("/api/v1/openapi.json").json()["components"]["securitySchemes"]
