"""The store: Conveyor's only source of truth, on SQLite or PostgreSQL.

Public: :class:`Store` (open with ``await Store.open(url)``), the request types
:class:`JobSpec`, :class:`ClaimRequest`, :class:`Lease`, :class:`Report`,
:class:`Outcome`, :class:`AuditEntry`, and the records in :mod:`conveyor.store.records`.
"""

from conveyor.store.queries.audit import AuditEntry
from conveyor.store.queries.claim import ClaimRequest
from conveyor.store.queries.leases import Lease, Outcome, Report
from conveyor.store.queries.submit import JobSpec
from conveyor.store.store import Store

__all__ = ["AuditEntry", "ClaimRequest", "JobSpec", "Lease", "Outcome", "Report", "Store"]
