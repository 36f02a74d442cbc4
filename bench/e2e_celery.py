"""Celery with its Redis broker, measured the same way as Conveyor.

One ``celery worker`` process (prefork pool, ``-c 2``, default prefetch), results
ignored. Jobs are submitted with ``apply_async`` (Celery has no batch publish; a
"batch" is a loop of publishes). Start and done come from the worker through Redis
(see :mod:`bench.e2e_celery_app`), on the same wall clock as the submitter.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from bench.e2e_conveyor import REPO, Mark, Timing
from bench.e2e_procs import Proc, pids_running

STARTUP_S = 90.0
POLL_S = 0.5
CONCURRENCY = 2
REDIS_HELP = (
    "start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 "
    '--save "" --appendonly no   (or run with --skip-celery)'
)


def celery_installed() -> bool:
    try:
        import celery  # noqa: F401
        import redis  # noqa: F401
    except ImportError:
        return False
    return True


def redis_durability(url: str) -> dict[str, str]:
    """Redis's persistence settings; raises with a clear message if it is not running."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
        info: dict[str, str] = {"redis_version": str(client.info("server")["redis_version"])}
        for name in ("appendonly", "appendfsync", "save"):
            info[name] = str(client.config_get(name).get(name, "?")) or '""'
    except redis.ConnectionError as exc:
        raise SystemExit(f"Redis is not reachable at {url}: {exc}\n  {REDIS_HELP}") from None
    finally:
        client.close()
    return info


class CeleryStack:
    """A Celery worker on a queue and key prefix of its own, so runs never collide."""

    def __init__(self, broker: str, workdir: Path) -> None:
        run = uuid.uuid4().hex[:8]
        self.broker = broker
        self.workdir = workdir
        self.queue = f"conveyor-bench-{run}"
        self.prefix = f"conveyor-bench:{run}"
        os.environ.update(
            BENCH_CELERY_BROKER=broker,
            BENCH_CELERY_QUEUE=self.queue,
            BENCH_CELERY_PREFIX=self.prefix,
        )
        from bench import e2e_celery_app as appmod  # reads the variables just set

        self.appmod = appmod
        self.redis: Any = appmod._client()
        self.worker: Proc | None = None

    def settings(self) -> dict[str, Any]:
        return {**self.appmod.settings(), "pool": "prefork", "concurrency": CONCURRENCY}

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bench.e2e_celery_app",
            "worker",
            "-P",
            "prefork",
            "-c",
            str(CONCURRENCY),
            "-Q",
            self.queue,
            "-n",
            f"bench-{self.queue}@%h",
            "--loglevel",
            "WARNING",
        ]
        self.worker = Proc("celery worker", argv, env, self.workdir / "celery.log", cwd=REPO)

    def wait_ready(self) -> None:
        assert self.worker is not None
        if self.redis.blpop([f"{self.prefix}:ready"], timeout=STARTUP_S) is None:
            self.worker.check()
            raise TimeoutError("the Celery worker did not become ready")

    def roots(self) -> dict[str, int]:
        return {"celery worker": self.worker.pid} if self.worker else {}

    def store_pids(self) -> list[int]:
        """The Redis broker (shared with nothing else during the run)."""
        return pids_running("redis-server")

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        keys = [*self.redis.scan_iter(f"{self.prefix}:*"), self.queue]
        keys += self.redis.scan_iter(f"_kombu.binding*.{self.queue}")
        self.redis.delete(*keys)

    def _submit(self, key: str) -> None:
        self.appmod.noop.apply_async(args=(key,), queue=self.queue)

    def throughput(self, jobs: int, batch: int, checkpoint: int, on_mark: Mark) -> float:
        """Like :meth:`ConveyorStack.throughput`: first submit to the last task's end."""
        key = f"{self.prefix}:throughput"
        errors: list[BaseException] = []

        def submit_all() -> None:
            try:
                for first in range(0, jobs, batch):
                    for _ in range(min(batch, jobs - first)):
                        self._submit(key)
            except BaseException as exc:
                errors.append(exc)

        started = time.time()
        submitter = threading.Thread(target=submit_all, name="celery-submitter")
        submitter.start()
        done, marked = 0, False
        while done < jobs:
            if errors:
                raise errors[0]
            assert self.worker is not None
            self.worker.check()
            time.sleep(POLL_S)
            done = int(self.redis.llen(key))
            if done >= checkpoint and not marked:
                on_mark("checkpoint")
                marked = True
        on_mark("end")
        submitter.join()
        last = max(float(entry.split()[1]) for entry in self.redis.lrange(key, 0, -1))
        self.redis.delete(key)
        return jobs / (last - started)

    def latency_round(self, n: int) -> list[Timing]:
        """``n`` tasks one at a time; the next is sent once the previous has ended."""
        timings = []
        for _ in range(n):
            key = f"{self.prefix}:lat:{uuid.uuid4().hex}"
            t0 = time.time()
            self._submit(key)
            answer = self.redis.blpop([key], timeout=60)
            if answer is None:
                raise TimeoutError("a Celery task did not finish within 60 s")
            ran, done = (float(x) for x in answer[1].split())
            # Celery records no separate "handed to a worker" time: start is when it ran.
            timings.append(Timing(created=None, start=ran - t0, ran=ran - t0, done=done - t0))
        return timings
