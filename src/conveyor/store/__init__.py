"""The store: Conveyor's only source of truth, on SQLite or PostgreSQL.

Public, and all that code outside the store imports of it: this package (the
:class:`Store`, opened with ``await Store.open(url)``, and the parameter types its
methods take), :mod:`conveyor.store.records` and :mod:`conveyor.store.team_records`
(the rows it returns). Every other module of the store is private to it.
"""

from conveyor.store.backup import Backup, backup_database
from conveyor.store.migrate import SchemaUpgrade, upgrade_schema
from conveyor.store.probe import DatabaseMissing, DatabaseProbe, probe_database
from conveyor.store.queries.accounts import normalize_email
from conveyor.store.queries.artifacts import check_artifact_name
from conveyor.store.queries.audit import AuditEntry, AuditFilter
from conveyor.store.queries.bulk import BULK_MAX
from conveyor.store.queries.claim import ClaimRequest
from conveyor.store.queries.flow_settings import UNSET, QueueChange
from conveyor.store.queries.job_filter import JobFilter
from conveyor.store.queries.leases import Lease, Outcome, Report
from conveyor.store.queries.retention import KeepFinished
from conveyor.store.queries.rollups import STATS_OUTCOMES, Rollup, percentiles
from conveyor.store.queries.submit import JobSpec
from conveyor.store.queries.throttle import Limit
from conveyor.store.read_cache import TOPICS as CACHED_TOPICS
from conveyor.store.schedule_records import (
    SCHEDULE_FIELDS,
    Fired,
    Schedule,
    SchedulePage,
    Tick,
    TickIn,
    TickPage,
)
from conveyor.store.store import Store
from conveyor.store.transaction import Committed

__all__ = [
    "BULK_MAX",
    "CACHED_TOPICS",
    "SCHEDULE_FIELDS",
    "STATS_OUTCOMES",
    "UNSET",
    "AuditEntry",
    "AuditFilter",
    "Backup",
    "ClaimRequest",
    "Committed",
    "DatabaseMissing",
    "DatabaseProbe",
    "Fired",
    "JobFilter",
    "JobSpec",
    "KeepFinished",
    "Lease",
    "Limit",
    "Outcome",
    "QueueChange",
    "Report",
    "Rollup",
    "Schedule",
    "SchedulePage",
    "SchemaUpgrade",
    "Store",
    "Tick",
    "TickIn",
    "TickPage",
    "backup_database",
    "check_artifact_name",
    "normalize_email",
    "percentiles",
    "probe_database",
    "upgrade_schema",
]
