"""The Celery executor against the default multiprocess executor, on the sample mirror.

    uv run python benchmarks/bench_celery.py [--months 12] [--scale 1] [--runs 3]
                                             [--backfill-runs 1]

Needs PostgreSQL (``DISCOGS_TEST_PG_URL``, a database to create others from) and RabbitMQ
(``DISCOGS_TEST_CELERY_BROKER``, default the local guest account). Every measurement uses a
fresh deployment: warehouse and Dagster instance in new PostgreSQL databases, queues of their
own on the broker, ``discogs-pipeline worker`` processes on this machine. The Celery workers
get one step per core on each queue in all (the default executor: one step per core, downloads
included; downloads from the ``file://`` mirror are short), so what differs is the executor's
overhead, not the parallelism:

1. Per-step overhead: the first month through ``dagster job execute`` with the multiprocess
   executor and with Celery (one worker: ``io`` and ``cpu`` nodes, concurrency one per core
   each), alternated ``--runs`` times. From the run's events, per step:
   - launch: the executor handing the step over (multiprocess: STEP_WORKER_STARTING; Celery:
     the task submitted) to STEP_START in the process that runs it;
   - body: STEP_START to STEP_SUCCESS; and the run's wall time.
2. A backfill of every month (``dagster job backfill``; the daemon launches its runs, four at a
   time as in ``deploy/dagster.yaml``) with one worker (concurrency one per core on each queue)
   and with two workers (half that each: the same cores), alternated ``--backfill-runs``
   times: wall time from the first run's start to the last run's end, and the medians of the
   steps' launch and body times.

Prints medians (a shared machine drifts: compare ratios taken in one run) and the load average.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from discogs_assets.executors import delete_queues
from discogs_assets.instance import POOL_LIMITS, postgres_storage
from discogs_assets.lib.caches import import_identities
from discogs_assets.lib.orchestration.backfill_inputs import month_range
from discogs_assets.lib.sample_mirror import build_sample_mirror
from discogs_assets.lib.settings import Settings
from discogs_assets.lib.warehouse import make_engine, run_models

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # dagster and dagster-daemon beside this interpreter
ADMIN_URL = os.environ.get("DISCOGS_TEST_PG_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BROKER = os.environ.get("DISCOGS_TEST_CELERY_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
CORES = os.cpu_count() or 1
MAX_CONCURRENT_RUNS = 4  # deploy/dagster.yaml
# Set before any run: on a fresh PostgreSQL instance, concurrent runs that each create a pool's
# default limit race, and the losers fail (dagster-io/dagster#33552).
POOLS = {"discogs_downloads": 2, "discogs_warehouse": 2, **POOL_LIMITS}
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED}


@contextlib.contextmanager
def database() -> Iterator[str]:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Deployment:
    home: Path
    env: dict[str, str]

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))

    def spawn(self, argv: list[str], log: str, env: dict[str, str] | None = None
              ) -> subprocess.Popen:
        """A process in its own process group (its children go down with it)."""
        with open(self.home / log, "w") as out:
            return subprocess.Popen(argv, cwd=REPO, env=env or self.env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def dagster(self, *args: str) -> None:
        done = subprocess.run([str(BIN / "dagster"), *args, "-m", "discogs_assets.definitions"],
                              cwd=REPO, env=self.env, capture_output=True, text=True,
                              timeout=3600)
        if done.returncode:
            raise RuntimeError(done.stdout[-3000:] + done.stderr[-3000:])


@contextlib.contextmanager
def deployment(root: Path, mirror: Path, executor: str,
               workers: Sequence[int] = ()) -> Iterator[Deployment]:
    """A fresh deployment; ``workers``: the per-queue concurrency of each Celery worker."""
    with database() as instance_url, database() as warehouse_url:
        engine = make_engine(warehouse_url)
        run_models(engine)
        import_identities(engine, mirror / "identities.csv")
        engine.dispose()
        home = root / f"home-{uuid.uuid4().hex[:6]}"
        home.mkdir()
        (home / "dagster.yaml").write_text(json.dumps({
            "telemetry": {"enabled": False}, "storage": postgres_storage(instance_url),
            "run_coordinator": {"module": "dagster.core.run_coordinator",
                                "class": "QueuedRunCoordinator"},
            "concurrency": {"runs": {"max_concurrent_runs": MAX_CONCURRENT_RUNS},
                            "pools": {"default_limit": 2}}}))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCOGS_", "LML_"))}
        env.update(DAGSTER_HOME=str(home), DISCOGS_DATA_DIR=str(home / "data"),
                   DISCOGS_DUMPS_URL=mirror.as_uri(), DISCOGS_WAREHOUSE_URL=warehouse_url,
                   DISCOGS_INGESTION_ENABLED="true", DISCOGS_EXECUTOR=executor,
                   DISCOGS_CELERY_BROKER=BROKER,
                   DISCOGS_CELERY_QUEUE_PREFIX=f"bench-{uuid.uuid4().hex[:8]}-")
        dep = Deployment(home, env)
        with dep.instance() as instance:
            for pool, limit in POOLS.items():
                instance.event_log_storage.set_concurrency_slots(pool, limit)
        procs = [dep.spawn([sys.executable, "-m", "discogs_assets.cli", "worker", "--name",
                            f"bench{i}"], f"worker{i}.log",
                           {**env, "DISCOGS_CELERY_IO_CONCURRENCY": str(slots),
                            "DISCOGS_CELERY_CPU_CONCURRENCY": str(slots)})
                 for i, slots in enumerate(workers)]
        try:
            # both nodes (io, cpu) of every worker ready before anything is launched
            logs = [home / f"worker{i}.log" for i in range(len(workers))]
            while sum(log.read_text().count(" ready.") for log in logs) < 2 * len(workers):
                if any(proc.poll() is not None for proc in procs):
                    raise RuntimeError("a worker exited before it was ready")
                time.sleep(0.2)
            yield dep
        finally:
            for proc in procs:
                os.killpg(proc.pid, signal.SIGTERM)
            for proc in procs:
                proc.wait(timeout=60)
            if workers:
                delete_queues(Settings.from_env(env))


def step_times(instance: dg.DagsterInstance, run_id: str) -> dict[str, list[float]]:
    """Per step of the run: launch and body seconds (see the module's docstring); and the
    run's start and end."""
    handed: dict[str, float] = {}
    started: dict[str, float] = {}
    out: dict[str, list[float]] = {"launch": [], "body": [], "stamps": []}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        out["stamps"].append(entry.timestamp)
        if event is None or entry.step_key is None:
            continue
        key, kind = entry.step_key, event.event_type
        if kind == dg.DagsterEventType.STEP_WORKER_STARTING or (
                kind == dg.DagsterEventType.ENGINE_EVENT
                and (event.message or "").startswith("Submitting celery task")):
            handed.setdefault(key, entry.timestamp)
        elif kind == dg.DagsterEventType.STEP_START:
            started[key] = entry.timestamp
            if key in handed:
                out["launch"].append(entry.timestamp - handed[key])
        elif kind == dg.DagsterEventType.STEP_SUCCESS and key in started:
            out["body"].append(entry.timestamp - started[key])
    return out


def summary(times: Sequence[dict[str, list[float]]]) -> tuple[int, float, float, float]:
    """Steps, median launch and body seconds, wall seconds of one or more runs."""
    launch = [t for run in times for t in run["launch"]]
    body = [t for run in times for t in run["body"]]
    stamps = [t for run in times for t in run["stamps"]]
    return (len(body), statistics.median(launch), statistics.median(body),
            max(stamps) - min(stamps))


def one_month(root: Path, mirror: Path, month: str, executor: str) -> tuple:
    workers = (CORES,) if executor == "celery" else ()
    with deployment(root, mirror, executor, workers) as dep:
        dep.dagster("job", "execute", "-j", "discogs_monthly", "--tags",
                    json.dumps({"dagster/partition": month}))
        with dep.instance() as instance:
            (run,) = instance.get_runs()
            return summary([step_times(instance, run.run_id)])


def backfill(root: Path, mirror: Path, months: Sequence[str], workers: Sequence[int]) -> tuple:
    with deployment(root, mirror, "celery", workers) as dep:
        daemon = dep.spawn([str(BIN / "dagster-daemon"), "run", "-m",
                            "discogs_assets.definitions"], "daemon.log")
        try:
            dep.dagster("job", "backfill", "-j", "discogs_monthly", "--partitions",
                        ",".join(months), "--noprompt")
            with dep.instance() as instance:
                while True:
                    runs = instance.get_runs()
                    if len(runs) == len(months) and all(r.status in FINISHED for r in runs):
                        break
                    if daemon.poll() is not None:
                        raise RuntimeError(f"the daemon exited: see {dep.home / 'daemon.log'}")
                    time.sleep(2)
                failed = {r.tags["dagster/partition"]: errors(instance, r.run_id) for r in runs
                          if r.status != dg.DagsterRunStatus.SUCCESS}
                if failed:
                    raise RuntimeError(f"backfill runs failed: {failed}")
                return summary([step_times(instance, r.run_id) for r in runs])
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=60)


def errors(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """The step and run failures of a run."""
    out = []
    for entry in instance.all_logs(run_id, of_type={dg.DagsterEventType.STEP_FAILURE,
                                                    dg.DagsterEventType.RUN_FAILURE}):
        error = getattr(entry.dagster_event.event_specific_data, "error", None)  # type: ignore[union-attr]
        out.append(f"{entry.step_key or 'run'}: {error.message if error else entry.message}")
    return out


def row(label: str, results: list[tuple]) -> str:
    steps = results[0][0]
    launch, body, wall = (statistics.median(r[i] for r in results) for i in (1, 2, 3))
    return f"{label:<34} {steps:>5} {launch:>9.2f} {body:>7.2f} {wall:>7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=12, help="months of the backfill")
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="runs of the one-month part")
    parser.add_argument("--backfill-runs", type=int, default=1)
    args = parser.parse_args()
    months = month_range("2025-01", "2030-12")[:args.months]
    print(f"{CORES} cores; load average at start {os.getloadavg()[0]:.2f}")
    header = f"{'':<34} {'steps':>5} {'launch s':>9} {'body s':>7} {'wall s':>7}"
    with tempfile.TemporaryDirectory(prefix="bench-celery-") as tmp:
        root = Path(tmp)
        build_sample_mirror(root / "mirror", months=months, scale=args.scale)
        single: dict[str, list[tuple]] = {"multiprocess": [], "celery": []}
        for _ in range(args.runs):  # alternated: both see the same drift of the machine
            for executor, results in single.items():
                results.append(one_month(root, root / "mirror", months[0], executor))
        if args.runs:
            print(f"one month ({months[0]}), medians of {args.runs} runs\n{header}")
            print(row("multiprocess", single["multiprocess"]))
            print(row(f"celery, 1 worker x {CORES}+{CORES} slots", single["celery"]))
        half = max(1, CORES // 2)
        shapes = {f"1 worker x {CORES}+{CORES} slots": (CORES,),
                  f"2 workers x {half}+{half} slots": (half, half)}
        filled: dict[str, list[tuple]] = {label: [] for label in shapes}
        for _ in range(args.backfill_runs):
            for label, workers in shapes.items():
                filled[label].append(backfill(root, root / "mirror", months, workers))
        print(f"backfill of {len(months)} months, medians of {args.backfill_runs} runs\n{header}")
        for label, results in filled.items():
            print(row(f"celery, {label}", results))
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
