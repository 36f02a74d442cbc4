"""Artifacts: files jobs produce. Agents upload them streamed, fenced by the lease
token; people list and download them, with HTTP ranges so a download resumes.

No request or response holds a whole file in memory: uploads stream into blob
storage, downloads stream from it.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request, status
from starlette.responses import FileResponse, MalformedRangeHeader, RangeNotSatisfiable, Response

from conveyor import bounds
from conveyor.api.audit import record_request
from conveyor.api.deps import require, services
from conveyor.api.errors import error_response, responses
from conveyor.api.models import ArtifactList, ArtifactOut
from conveyor.api.signed import SignedUrl, path_of, url_of
from conveyor.auth.permissions import Principal
from conveyor.errors import InvalidInput, LeaseLost, NotFound, TooLarge
from conveyor.store import check_artifact_name

router = APIRouter(prefix="/api/v1/jobs", tags=["artifacts"])

LEASE_HEADER = "X-Conveyor-Lease-Token"
DEFAULT_CONTENT_TYPE = "application/octet-stream"

_BINARY = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}

Name = Annotated[bounds.Name, Path(min_length=1, max_length=255)]


@router.get(
    "/{job_id}/artifacts",
    operation_id="artifacts_list",
    responses=responses(401, 403, 404, 422),
    summary="List a job's artifacts",
)
async def list_artifacts(
    job_id: uuid.UUID, request: Request, principal: Annotated[Principal, require("jobs:read")]
) -> ArtifactList:
    store = services(request).store
    await store.job_get(principal.team_id, job_id)  # 404 for a job of another team
    found = await store.artifact_list(principal.team_id, job_id)
    return ArtifactList(items=[ArtifactOut.of(a) for a in found])


@router.get(
    "/{job_id}/artifacts/{name}",
    operation_id="artifacts_download",
    response_class=Response,
    responses={
        200: {"content": _BINARY, "description": "the file"},
        206: {"content": _BINARY, "description": "the range asked for"},
        **responses(400, 401, 403, 404, 416, 422),
    },
    summary="Download an artifact (HTTP ranges supported)",
)
async def download_artifact(
    job_id: uuid.UUID,
    name: Name,
    request: Request,
    principal: Annotated[Principal, require("jobs:read", signed="artifact")],
) -> Response:
    """The whole file (200), or with ``Range: bytes=…`` the part asked for (206);
    416 when the range lies outside the file. The ETag is the file's SHA-256."""
    svc = services(request)
    artifact = await svc.store.artifact_get(principal.team_id, job_id, name)
    path = svc.blobs.path(artifact.storage_key)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise NotFound(
            f"the file of artifact {name!r} is missing from blob storage", name=name
        ) from None
    response = FileResponse(
        path,
        media_type=artifact.content_type,
        filename=name,
        stat_result=stat,
        headers={"ETag": f'"{artifact.sha256}"', "X-Content-Type-Options": "nosniff"},
    )
    refused = _range_refusal(response, request, stat.st_size)
    return refused or response


def _range_refusal(response: FileResponse, request: Request, size: int) -> Response | None:
    """The enveloped error for a Range header the file response would refuse, if any.

    Starlette answers bad ranges itself in plain text; deciding them here keeps
    every error in the error envelope.
    """
    http_range = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if http_range is None or (if_range is not None and not response._should_use_range(if_range)):
        return None
    try:
        FileResponse._parse_range_header(http_range, size)
    except MalformedRangeHeader as exc:
        return error_response(400, "bad_request", f"bad Range header: {exc.content}")
    except RangeNotSatisfiable:
        return error_response(
            416,
            "range_not_satisfiable",
            f"the range lies outside the file ({size} bytes)",
            {"size": size},
            headers={"Content-Range": f"bytes */{size}"},
        )
    return None


@router.put(
    "/{job_id}/artifacts/{name}",
    operation_id="artifacts_upload",
    status_code=status.HTTP_201_CREATED,
    # 400: a Content-Length the HTTP parser refuses (not a number) never reaches the route
    responses=responses(400, 401, 403, 404, 409, 413, 422),
    summary="Upload an artifact (agents, with the job's lease token)",
)
async def upload_artifact(
    principal: Annotated[Principal, require("agent:connect")],
    job_id: uuid.UUID,
    name: Name,
    request: Request,
    lease_token: Annotated[str, Header(alias=LEASE_HEADER)],
    content_type: Annotated[str | None, Header()] = None,
    content_length: Annotated[int | None, Header(ge=0)] = None,
) -> ArtifactOut:
    """The body is the file, streamed; it is recorded only while the lease is the job's
    (409 otherwise). Uploading a name again replaces the file."""
    svc = services(request)
    check_artifact_name(name)
    token = _lease_token(lease_token)
    limit = svc.settings.max_artifact_bytes
    if content_length is not None and content_length > limit:
        raise TooLarge(f"the artifact is larger than {limit} bytes", limit=limit)
    await svc.store.job_get(principal.team_id, job_id)  # 404 for a job of another team
    if not await svc.store.job_lease_valid(principal.team_id, job_id, token):
        raise LeaseLost(f"job {job_id} is not running under this lease", job_id=str(job_id))
    blob = await svc.blobs.write(request.stream(), max_bytes=limit)
    try:
        artifact = await svc.store.artifact_record(
            principal.team_id,
            job_id,
            token,
            name=name,
            size=blob.size,
            sha256=blob.sha256,
            content_type=_content_type(content_type),
            storage_key=blob.key,
        )
    except BaseException:
        svc.blobs.delete(blob.key)
        raise
    if artifact.replaced_storage_key is not None:
        svc.blobs.delete(artifact.replaced_storage_key)
    return ArtifactOut.of(artifact)


def _lease_token(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise InvalidInput(f"{LEASE_HEADER} must be the job's lease token (a UUID)") from None


def _content_type(value: str | None) -> str:
    value = (value or "").strip()
    if not value or len(value) > 200 or not value.isprintable():
        return DEFAULT_CONTENT_TYPE
    return value


@router.post(
    "/{job_id}/artifacts/{name}/url",
    operation_id="artifacts_download_sign",
    responses=responses(401, 403, 404, 422),
    summary="A signed URL to download an artifact from a browser",
)
async def sign_artifact_url(
    job_id: uuid.UUID,
    name: Name,
    request: Request,
    principal: Annotated[Principal, require("jobs:read", audit="artifacts.sign_url")],
) -> SignedUrl:
    """The URL downloads this artifact without a bearer header, for a few minutes, and only
    while its user may still read the job."""
    svc = services(request)
    await svc.store.artifact_get(principal.team_id, job_id, name)  # 404 unless it is there
    segments = ["jobs", str(job_id), "artifacts", name]
    token, expires = await svc.auth.signed_urls.issue(principal, "artifact", path_of(segments))
    await record_request(request, "job", job_id, artifact=name)
    return SignedUrl(url=url_of(segments, {}, token), expires_at=expires)
