"""The interactive API docs (Swagger UI), served from files shipped in a package: no CDN.

FastAPI's own page loads Swagger UI from a CDN, so an offline user gets a blank
page. ``fastapi-offline`` (MIT) ships Swagger UI's script, style and icon; only
those files are used, served by this app under ``ASSETS_URL``.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse

ASSETS_URL = "/api/v1/docs/assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"

SWAGGER_UI_PARAMETERS = {
    "validatorUrl": None,  # Swagger UI would send the document to a public validator
    "persistAuthorization": True,  # the token given to Authorize survives a reload
}


def install(app: FastAPI, docs_url: str, openapi_url: str) -> None:
    """Serve the docs page at ``docs_url``, describing the document at ``openapi_url``."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=None,
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    app.add_route(docs_url, swagger_ui, include_in_schema=False)
