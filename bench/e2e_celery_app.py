"""The Celery side of the end-to-end benchmark: one app, one no-op task.

Imported by the benchmark (to submit) and by ``celery -A bench.e2e_celery_app worker``
(to run). Configuration comes from the benchmark through the environment:
``BENCH_CELERY_BROKER`` (a Redis URL), ``BENCH_CELERY_QUEUE`` and ``BENCH_CELERY_PREFIX``
(a key prefix, unique per run). Everything else is Celery's default except that
results are ignored, as the issue asks.

The task returns ``time.time()`` when its body runs; Celery hands that to
``task_postrun``, which appends ``"<ran> <done>"`` to the Redis list named by the
task's ``key`` argument: the benchmark's shared clock for submit -> start and
submit -> done. ``worker_ready`` pushes to ``<prefix>:ready``.
"""

from __future__ import annotations

import os
import time
from typing import Any

import redis
from celery import Celery
from celery.signals import task_postrun, worker_ready

BROKER = os.environ.get("BENCH_CELERY_BROKER", "redis://127.0.0.1:6379/0")
QUEUE = os.environ.get("BENCH_CELERY_QUEUE", "conveyor-bench")
PREFIX = os.environ.get("BENCH_CELERY_PREFIX", "conveyor-bench")

app = Celery("conveyor_bench", broker=BROKER)
app.conf.update(
    task_ignore_result=True,
    task_default_queue=QUEUE,
    broker_connection_retry_on_startup=True,
)

_redis: redis.Redis | None = None


def _client() -> redis.Redis:
    """One connection per process, made after the pool forked."""
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(BROKER, socket_timeout=120)  # > any BLPOP's timeout
    return _redis


@app.task(name="bench.noop")  # type: ignore[untyped-decorator]
def noop(key: str) -> float:
    return time.time()


@task_postrun.connect  # type: ignore[untyped-decorator]
def _record(
    sender: Any = None, args: Any = None, retval: Any = None, **_: Any
) -> None:  # pragma: no cover - runs in the worker
    if getattr(sender, "name", None) == "bench.noop" and args:
        _client().rpush(args[0], f"{retval} {time.time()}")


@worker_ready.connect  # type: ignore[untyped-decorator]
def _ready(**_: Any) -> None:  # pragma: no cover - runs in the worker
    _client().rpush(f"{PREFIX}:ready", str(os.getpid()))


def settings() -> dict[str, Any]:
    """The effective settings that matter for the comparison."""
    conf = app.conf
    return {
        "broker": BROKER,
        "queue": QUEUE,
        "task_ignore_result": conf.task_ignore_result,
        "worker_prefetch_multiplier": conf.worker_prefetch_multiplier,
        "task_acks_late": conf.task_acks_late,
        "broker_transport_options": dict(conf.broker_transport_options or {}),
        "task_serializer": conf.task_serializer,
    }
