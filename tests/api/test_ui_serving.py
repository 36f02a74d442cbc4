"""The dashboard at ``/``: its files, deep links, caching, security headers, and the page
shown when it is not built. A tiny built UI is written to a temporary folder; the API's
own answers (404 envelopes, 405) stay as they were. No database is needed: nothing
here reaches a route that uses the server's services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from conveyor.api import ui
from conveyor.api.app import DOCS_URL, create_app
from conveyor.settings import ServerSettings

INDEX = "<!doctype html><html><head><title>Conveyor</title></head><body>app</body></html>"


@pytest.fixture
def built(tmp_path: Path) -> Path:
    folder = tmp_path / "ui"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text(INDEX)
    (folder / "assets" / "index-3f9a1c.js").write_text("console.log('app')")
    (folder / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return folder


async def _client(folder: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ServerSettings(ui_dir=str(folder), database_url="sqlite:///unused.db"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://conveyor.test") as client:
        yield client


@pytest.fixture
async def web(built: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(built):
        yield client


@pytest.fixture
async def unbuilt(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(tmp_path / "missing"):
        yield client


def _assert_secured(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "style-src 'self' 'unsafe-inline'" in csp  # Mantine's inline styles
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/", "/jobs", "/jobs/0193e2a4-7c1d", "/agents/", "/index.html"])
async def test_pages_and_deep_links_get_the_app_revalidated(
    web: httpx.AsyncClient, path: str
) -> None:
    page = await web.get(path)
    assert page.status_code == 200
    assert page.text == INDEX and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    _assert_secured(page)


async def test_a_deep_link_keeps_its_query(web: httpx.AsyncClient) -> None:
    page = await web.get("/jobs?state=dead&queue=default")
    assert page.status_code == 200 and page.text == INDEX


async def test_hashed_assets_are_cached_for_a_year(web: httpx.AsyncClient) -> None:
    asset = await web.get("/assets/index-3f9a1c.js")
    assert asset.status_code == 200 and asset.text == "console.log('app')"
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    _assert_secured(asset)
    # an unhashed file at the top is asked for again each time
    icon = await web.get("/favicon.svg")
    assert icon.status_code == 200 and icon.headers["cache-control"] == "no-cache"


async def test_an_unchanged_index_answers_304(web: httpx.AsyncClient) -> None:
    first = await web.get("/")
    again = await web.get("/jobs", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "path", ["/assets/missing-123.js", "/robots.txt", "/api/v1/nope", "/api", "/healthzz"]
)
async def test_missing_files_and_api_paths_are_404_envelopes_not_the_app(
    web: httpx.AsyncClient, path: str
) -> None:
    answer = await web.get(path)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert "content-security-policy" not in answer.headers


async def test_the_api_keeps_its_own_answers(web: httpx.AsyncClient) -> None:
    wrong_method = await web.delete("/api/v1/jobs")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert (await web.get("/healthz")).json() == {"status": "ok"}
    docs = await web.get(DOCS_URL)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert (await web.post("/jobs")).status_code == 404  # the app answers only GET and HEAD
    assert (await web.head("/jobs")).status_code == 200


async def test_a_path_cannot_climb_out_of_the_ui_folder(web: httpx.AsyncClient) -> None:
    answer = await web.get("/assets/..%2F..%2Fsecret.txt")
    assert answer.status_code == 404


async def test_without_a_build_the_page_says_how_to_build_it(unbuilt: httpx.AsyncClient) -> None:
    for path in ("/", "/jobs/123"):
        page = await unbuilt.get(path)
        assert page.status_code == 200 and "make web" in page.text
        assert "Node.js 20" in page.text and f'href="{DOCS_URL}"' in page.text
        _assert_secured(page)
    assert (await unbuilt.get("/assets/index-3f9a1c.js")).status_code == 404
    assert (await unbuilt.get("/healthz")).status_code == 200


def test_the_packaged_ui_folder_is_inside_the_package() -> None:
    assert ui.PACKAGED_UI.parent.name == "conveyor"
    assert (ui.PACKAGED_UI.parent / "__init__.py").is_file()


@pytest.mark.parametrize(
    ("path", "page"),
    [("/", True), ("/jobs/1", True), ("/api/v1/jobs", False), ("/healthz", False),
     ("/readyz", False), ("/metrics", False), ("/apis", True)],
)  # fmt: skip
def test_which_paths_may_be_pages(path: str, page: bool) -> None:
    assert ui.is_ui_path(path) is page
