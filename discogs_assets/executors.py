"""How runs execute their steps: on this machine (multiprocess), or on Celery workers.

``DISCOGS_EXECUTOR=celery`` sends every step of every run (the monthly job, asset-page runs,
backfills) to Celery workers through the broker ``DISCOGS_CELERY_BROKER`` (RabbitMQ). Steps go
to one of two queues, each worker serving a queue with its own concurrency:

- ``io``: network-bound steps (``discogs_checksum``, ``raw_*``), tagged ``IO_STEP_TAGS``;
- ``cpu``: everything else (parse, load, checks, caches): the default queue.

Workers are started with ``discogs-pipeline worker``; they need the same code, the same
environment (warehouse, data directory on storage every machine mounts, Dagster instance in
PostgreSQL) as the process that launches runs. A worker that dies mid-step loses nothing: tasks
are acknowledged only once done (``task_acks_late``) and requeued when their worker is lost,
so another worker runs the step again (every step is idempotent: atomic writes, verified files
kept).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Sequence
from typing import Any

import dagster as dg

from discogs_assets.lib.settings import Settings

EXECUTORS = ("multiprocess", "celery")
IO_QUEUE, CPU_QUEUE = "io", "cpu"
QUEUES = (IO_QUEUE, CPU_QUEUE)
CELERY_QUEUE_TAG = "dagster-celery/queue"  # dagster_celery.tags.DAGSTER_CELERY_QUEUE_TAG
IO_STEP_TAGS = {CELERY_QUEUE_TAG: IO_QUEUE}
"""op_tags of the network-bound steps (ignored by the multiprocess executor)."""
RESULT_BACKEND = "rpc://"  # results travel back through the broker: nothing else to run

CELERY_SETTINGS: dict[str, Any] = {
    "task_default_queue": CPU_QUEUE,
    # A step's task is acknowledged when it finishes, and requeued when its worker dies, so a
    # lost machine's step runs again elsewhere instead of leaving its run waiting forever.
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    # One task reserved at a time: a long download must not hold steps another worker could run.
    "worker_prefetch_multiplier": 1,
    "broker_connection_retry_on_startup": True,
}


def select_executor(settings: Settings) -> dg.ExecutorDefinition | None:
    """The executor of every job in the code location; None keeps Dagster's default
    (multiprocess)."""
    if settings.executor not in EXECUTORS:
        raise ValueError(f"DISCOGS_EXECUTOR={settings.executor!r}: use one of "
                         f"{', '.join(EXECUTORS)}")
    if settings.executor == "multiprocess":
        return None
    from dagster_celery import celery_executor

    return celery_executor.configured(celery_executor_config(settings), name="celery")


def celery_executor_config(settings: Settings) -> dict[str, Any]:
    """The Celery executor's config; workers build their app from the same values."""
    # The broker URL may hold a password: an env reference keeps it out of the run config.
    broker: Any = ({"env": "DISCOGS_CELERY_BROKER"} if os.environ.get("DISCOGS_CELERY_BROKER")
                   else settings.celery_broker)
    return {"broker": broker, "backend": RESULT_BACKEND, "config_source": CELERY_SETTINGS}


def _worker_app(settings: Settings) -> Any:
    """The Celery app the executor submits to, with its step task registered."""
    from dagster_celery.executor import CeleryExecutor
    from dagster_celery.make_app import make_app
    from dagster_celery.tasks import create_task

    executor = CeleryExecutor.for_cli(broker=settings.celery_broker, backend=RESULT_BACKEND,
                                      config_source=CELERY_SETTINGS)
    app = make_app(executor.app_args())
    # The task returns the step's serialized events: keep its "succeeded" log line short.
    create_task(app, resultrepr_maxsize=160)
    return app


def run_worker(queues: Sequence[str], name: str | None, settings: Settings) -> int:
    """Serve ``queues``: one Celery worker node per queue (each with that queue's
    concurrency), forked from here after the code location is imported once; returns when they
    stop (a signal to this process stops them all)."""
    unknown = set(queues) - set(QUEUES)
    if unknown or not queues:
        raise ValueError(f"--queue takes {', '.join(QUEUES)} (comma-separated), not "
                         f"{','.join(queues)}")
    # Imported before any fork: each node and each pool process then starts a step without
    # importing the code location again (several seconds each).
    import discogs_assets.definitions  # noqa: F401

    if len(queues) == 1:
        return _run_node(queues[0], name, settings)
    children: list[int] = []
    for queue in queues:
        pid = os.fork()
        if pid == 0:  # the node: never returns into the caller's code
            code = 1
            try:
                code = _run_node(queue, name, settings)
            finally:
                os._exit(code)
        children.append(pid)

    def stop(signum: int, _frame: object) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
    return max(codes, key=abs)


def _run_node(queue: str, name: str | None, settings: Settings) -> int:
    concurrency = (settings.celery_io_concurrency if queue == IO_QUEUE
                   else settings.celery_cpu_concurrency or os.cpu_count() or 1)
    app = _worker_app(settings)
    try:
        app.worker_main([
            "worker", "--loglevel=INFO", "--queues", queue, "--concurrency", str(concurrency),
            "--hostname", f"{queue}@{name or '%h'}", "--without-gossip", "--without-mingle",
        ])
    except SystemExit as exc:  # Celery's command line ends by exiting
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return 0
