"""One error tree for every layer.

Each class carries a stable ``code`` (what an API client matches on) and a
docstring that serves as its default message. The API maps this tree to
``{"error": {"code", "message", "details"}}`` in one place.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ConveyorError(Exception):
    """Something went wrong in Conveyor."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or (self.__doc__ or self.code).strip()
        self.details = details
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidInput(ConveyorError):
    """The request is not valid."""

    code = "invalid_input"


class InvalidParams(InvalidInput):
    """The job's params are not valid."""

    code = "invalid_params"


class LimitExceeded(InvalidInput):
    """A size limit was exceeded."""

    code = "limit_exceeded"


class NotFound(ConveyorError):
    """No such object."""

    code = "not_found"


class Conflict(ConveyorError):
    """The request conflicts with the current state."""

    code = "conflict"


class IdempotencyConflict(Conflict):
    """A job with this idempotency key already exists with different params."""

    code = "idempotency_conflict"


class InvalidTransition(Conflict):
    """The job is not in a state that allows this."""

    code = "invalid_transition"


class LeaseLost(ConveyorError):
    """The lease on this job is no longer held: another attempt owns it."""

    code = "lease_lost"


class StoreError(ConveyorError):
    """The store failed."""

    code = "store_error"


class StoreUnavailable(StoreError):
    """The database cannot be reached just now (restarting, overloaded): try again shortly."""

    code = "store_error"


class SchemaTooNew(StoreError):
    """The database schema is newer than this version of Conveyor knows: upgrade Conveyor."""

    code = "schema_too_new"


class SchemaOutdated(StoreError):
    """The database schema is older than this version of Conveyor: run `conveyor migrate`."""

    code = "schema_outdated"


class Unauthenticated(ConveyorError):
    """Authentication is required: send a valid access token or API key."""

    code = "unauthenticated"


class PermissionDenied(ConveyorError):
    """You may not do this."""

    code = "permission_denied"


class RateLimited(ConveyorError):
    """Too many attempts: wait before trying again (``retry_after`` seconds)."""

    code = "rate_limited"


class TooLarge(LimitExceeded):
    """The request body is too large."""

    code = "too_large"
