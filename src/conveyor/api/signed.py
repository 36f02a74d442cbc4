"""Where signed URLs point: the resource a URL names, and the URL for a resource.

The resource is the path the URL opens plus the query parameters its purpose
pins (an event stream's ``job_id``); other parameters (``after``, ``kind``) stay
free. The path is compared decoded, as the server routes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote, urlencode

from pydantic import BaseModel

SIGNED_PARAM = "token"
PINNED_QUERY: dict[str, tuple[str, ...]] = {"artifact": (), "events": ("job_id",), "logs": ()}


class SignedUrl(BaseModel):
    """A link that works without a bearer header, for one resource, until ``expires_at``."""

    url: str
    expires_at: datetime


def resource_of(path: str, query: Mapping[str, str], purpose: str) -> str:
    pinned = [(name, query[name]) for name in PINNED_QUERY[purpose] if query.get(name)]
    return f"{path}?{urlencode(pinned)}" if pinned else path


def url_of(segments: list[str], query: Mapping[str, str], token: str) -> str:
    """The relative URL of ``/api/v1/<segments…>`` with ``query`` and the token."""
    path = "/api/v1/" + "/".join(quote(segment, safe="") for segment in segments)
    return f"{path}?{urlencode({**query, SIGNED_PARAM: token})}"


def path_of(segments: list[str]) -> str:
    """The decoded path of the same URL: what the resource names."""
    return "/api/v1/" + "/".join(segments)
