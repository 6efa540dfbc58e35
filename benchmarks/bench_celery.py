"""Per-step overhead of the Celery executor against the default multiprocess executor.

    uv run python benchmarks/bench_celery.py [--months 2026-01] [--scale 1] [--runs 1]

Needs PostgreSQL (``DISCOGS_TEST_PG_URL``, a database to create others from) and RabbitMQ
(``DISCOGS_TEST_CELERY_BROKER``, default the local guest account). For each configuration —
multiprocess, Celery with 1 worker, Celery with 2 workers (each worker: an ``io`` node and a
``cpu`` node of concurrency 1) — one month of the sample mirror runs through ``dagster job
execute`` into a fresh warehouse and a fresh PostgreSQL Dagster instance. From the run's events:

- launch: from the executor handing a step over (multiprocess: STEP_WORKER_STARTING; Celery:
  the task submitted) to STEP_START in the process that runs it;
- body: STEP_START to STEP_SUCCESS;
- wall: the run's start to its end.

Prints medians per configuration (a shared machine drifts: compare ratios taken in one run).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from dagster._core.instance.ref import InstanceRef

from discogs_assets.executors import delete_queues
from discogs_assets.lib.caches import import_identities
from discogs_assets.lib.sample_mirror import build_sample_mirror
from discogs_assets.lib.settings import Settings
from discogs_assets.lib.warehouse import make_engine, run_models

REPO = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get("DISCOGS_TEST_PG_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BROKER = os.environ.get("DISCOGS_TEST_CELERY_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
CONFIGS = (("multiprocess", 0), ("celery", 1), ("celery", 2))


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


def instance_yaml(url: str) -> str:
    db = sa.make_url(url)
    return (f"telemetry:\n  enabled: false\nstorage:\n  postgres:\n    postgres_db:\n"
            f"      hostname: {db.host}\n      port: {db.port or 5432}\n"
            f"      username: {db.username}\n      db_name: {db.database}\n"
            + (f"      password: {db.password}\n" if db.password else "")
            + "      scheme: postgresql+psycopg2\n")


def measure(instance: dg.DagsterInstance, run_id: str) -> dict[str, list[float] | float]:
    handed: dict[str, float] = {}
    started: dict[str, float] = {}
    launch: list[float] = []
    body: list[float] = []
    stamps = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        stamps.append(entry.timestamp)
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
                launch.append(entry.timestamp - handed[key])
        elif kind == dg.DagsterEventType.STEP_SUCCESS and key in started:
            body.append(entry.timestamp - started[key])
    return {"launch": launch, "body": body, "wall": max(stamps) - min(stamps)}


def one_run(root: Path, mirror: Path, month: str, executor: str, workers: int) -> dict:
    with database() as instance_url, database() as warehouse_url:
        engine = make_engine(warehouse_url)
        run_models(engine)
        import_identities(engine, mirror / "identities.csv")
        engine.dispose()
        home = root / f"home-{uuid.uuid4().hex[:6]}"
        home.mkdir()
        (home / "dagster.yaml").write_text(instance_yaml(instance_url))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCOGS_", "LML_"))}
        env.update(DAGSTER_HOME=str(home), DISCOGS_DATA_DIR=str(home / "data"),
                   DISCOGS_DUMPS_URL=mirror.as_uri(), DISCOGS_WAREHOUSE_URL=warehouse_url,
                   DISCOGS_INGESTION_ENABLED="true", DISCOGS_EXECUTOR=executor,
                   DISCOGS_CELERY_BROKER=BROKER, DISCOGS_CELERY_IO_CONCURRENCY="1",
                   DISCOGS_CELERY_CPU_CONCURRENCY="1",
                   DISCOGS_CELERY_QUEUE_PREFIX=f"bench-{uuid.uuid4().hex[:8]}-")
        logs = [home / f"worker{i}.log" for i in range(workers)]
        procs = [subprocess.Popen([sys.executable, "-m", "discogs_assets.cli", "worker",
                                   "--name", f"bench{i}"], cwd=REPO, env=env,
                                  stdout=log.open("w"), stderr=subprocess.STDOUT,
                                  start_new_session=True) for i, log in enumerate(logs)]
        try:
            # both nodes (io, cpu) of every worker ready before the run starts
            while sum(log.read_text().count(" ready.") for log in logs) < 2 * workers:
                if any(proc.poll() is not None for proc in procs):
                    raise RuntimeError("a worker exited before it was ready")
                time.sleep(0.2)
            done = subprocess.run(
                [sys.executable, "-m", "dagster", "job", "execute", "-m",
                 "discogs_assets.definitions", "-j", "discogs_monthly", "--tags",
                 f'{{"dagster/partition": "{month}"}}'],
                cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
            if done.returncode:
                raise RuntimeError(done.stdout[-3000:] + done.stderr[-3000:])
            with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
                (run,) = instance.get_runs()
                return measure(instance, run.run_id)
        finally:
            for proc in procs:
                os.killpg(proc.pid, signal.SIGTERM)
            for proc in procs:
                proc.wait(timeout=60)
            delete_queues(Settings.from_env(env))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", nargs="+", default=["2026-01"])
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    month = args.months[-1]
    with tempfile.TemporaryDirectory(prefix="bench-celery-") as tmp:
        root = Path(tmp)
        build_sample_mirror(root / "mirror", months=args.months, scale=args.scale)
        print(f"{'executor':<22} {'steps':>5} {'launch s':>9} {'body s':>7} {'wall s':>7}")
        for executor, workers in CONFIGS:
            results = []
            for _ in range(args.runs):
                started = time.monotonic()
                results.append(one_run(root, root / "mirror", month, executor, workers))
                print(f"  ({executor}, {workers} worker(s): one run in "
                      f"{time.monotonic() - started:.0f} s incl. setup)", file=sys.stderr)
            label = executor if not workers else f"{executor}, {workers} worker(s)"
            launch = statistics.median(statistics.median(r["launch"]) for r in results)
            body = statistics.median(statistics.median(r["body"]) for r in results)
            wall = statistics.median(r["wall"] for r in results)
            print(f"{label:<22} {len(results[0]['body']):>5} {launch:>9.2f} {body:>7.2f} "
                  f"{wall:>7.1f}")


if __name__ == "__main__":
    main()
