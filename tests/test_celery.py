"""DISCOGS_EXECUTOR=celery with real workers: RabbitMQ broker, Dagster instance and warehouse in
PostgreSQL, worker processes started with ``discogs-pipeline worker``, a real ``dagster-daemon``.

- workers alpha and beta (hosts of their own names) each serve ``io`` and ``cpu`` with a node
  per queue: a month's steps go to the right queues, run on both workers, and leave the
  warehouse the default (multiprocess) executor leaves with the same month;
- a backfill of the next two months, launched as operators do (``dagster job backfill``, the
  daemon dequeuing its runs): every step on the workers, and the warehouse equal to the default
  executor's after the same three months;
- an asset run (``dagster asset materialize``, job ``__ASSET_JOB``) of a fourth month's
  releases: the worker downloading the file is killed mid-step (its whole process group, as a
  machine dies); the step runs again on the other worker and the parse downstream gets every
  record, nothing lost. It runs last: one worker is left.

The default executor's runs go into a warehouse of their own, in a background thread while the
Celery runs go on.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pytest
from chain_helpers import warehouse_snapshot
from conftest import IN_CI, pg_database
from live_dagster import LiveDagster, prepare_warehouse, project_env

from discogs_assets.executors import delete_queues
from discogs_assets.lib.acquisition import sha256_file
from discogs_assets.lib.acquisition.mirror_server import Fault, FaultPlan, MirrorServer
from discogs_assets.lib.sample_mirror import MirrorSummary, build_sample_mirror
from discogs_assets.lib.settings import Settings

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
BROKER = os.environ.get("DISCOGS_TEST_CELERY_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
FIRST, *BACKFILL, KILLED = MONTHS = ("2026-01", "2026-02", "2026-03", "2026-04")
LATE_RELEASES = "discogs_20260401_releases.xml.gz"
IO_STEPS = {"discogs_checksum", "raw_labels", "raw_artists", "raw_masters", "raw_releases"}
RUN_TIMEOUT_S = 300
Snapshot = dict[str, list[tuple]]


def _require_rabbitmq() -> None:
    host, port = BROKER.rsplit("@", 1)[1].split("/")[0].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except OSError as exc:
        if IN_CI:
            pytest.fail(f"CI must have RabbitMQ at {host}:{port}: {exc}")
        pytest.skip(f"RabbitMQ not reachable at {host}:{port}: {exc}")


class Reference:
    """Months run one after the other through the default executor (``dagster job execute``
    without ``DISCOGS_EXECUTOR``) into a warehouse and data directory of their own, in a
    background thread; ``after(i)`` is the warehouse once ``stages[i]`` and those before ran."""

    def __init__(self, root: Path, env: dict[str, str], warehouse_url: str,
                 stages: Sequence[Sequence[str]]) -> None:
        home = root / "reference_home"
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        self.env = {k: v for k, v in env.items() if not k.startswith("DISCOGS_CELERY_")
                    and k != "DISCOGS_EXECUTOR"}
        self.env.update(DAGSTER_HOME=str(home), DISCOGS_WAREHOUSE_URL=warehouse_url,
                        DISCOGS_DATA_DIR=str(root / "reference_data"))
        self.warehouse_url = warehouse_url
        self._pool = ThreadPoolExecutor(1)
        self._stages: list[Future[Snapshot]] = [self._pool.submit(self._run, months)
                                                for months in stages]

    def _run(self, months: Sequence[str]) -> Snapshot:
        for month in months:
            done = subprocess.run(
                [sys.executable, "-m", "dagster", "job", "execute", "-j", "discogs_monthly",
                 "-m", "discogs_assets.definitions", "--tags",
                 json.dumps({"dagster/partition": month})],
                cwd=REPO, env=self.env, capture_output=True, text=True, timeout=3 * RUN_TIMEOUT_S)
            assert done.returncode == 0, f"default executor, {month}:\n{done.stdout[-4000:]}"
        return warehouse_snapshot(self.warehouse_url)

    def after(self, stage: int) -> Snapshot:
        return self._stages[stage].result(timeout=6 * RUN_TIMEOUT_S)

    def close(self) -> None:
        for stage in self._stages:
            stage.cancel()
        self._pool.shutdown(wait=True)


@dataclass
class Cluster:
    dagster: LiveDagster
    server: MirrorServer
    warehouse_url: str
    released: threading.Event
    mirror: MirrorSummary = field(init=False)
    reference: Reference = field(init=False)
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.dagster.root

    def start_worker(self, name: str, queues: str) -> None:
        log = open(self.root / f"worker-{name}.log", "w")  # noqa: SIM115 - closed by the child
        self.workers[name] = subprocess.Popen(
            [sys.executable, "-m", "discogs_assets.cli", "worker", "--queue", queues,
             "--name", name], cwd=REPO, env=self.dagster.env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)  # killed as a machine would be

    def wait_ready(self, nodes: list[str], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            logs = self.worker_logs()
            if all(f"{node} ready." in logs for node in nodes):
                return
            time.sleep(0.5)
        raise AssertionError(f"workers {nodes} not ready:\n{self.worker_logs()[-3000:]}")

    def worker_logs(self) -> str:
        return "".join(p.read_text() for p in sorted(self.root.glob("worker-*.log")))

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        os.killpg(self.workers[name].pid, sig)
        self.workers[name].wait(timeout=60)

    @property
    def instance(self) -> dg.DagsterInstance:
        return self.dagster.instance

    def launch(self, month: str, assets: str | None = None) -> subprocess.Popen:
        """The month job, or an asset run of ``assets``, as an operator launches it."""
        target = (["asset", "materialize", "--select", assets, "--partition", month] if assets
                  else ["job", "execute", "-j", "discogs_monthly", "--tags",
                        json.dumps({"dagster/partition": month})])
        return subprocess.Popen(
            [sys.executable, "-m", "dagster", *target, "-m", "discogs_assets.definitions"],
            cwd=REPO, env=self.dagster.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    _require_rabbitmq()
    # Queues of this session only: other deployments (or test sessions) on the same broker
    # must neither take these steps nor hand theirs to these workers.
    prefix = f"test-{uuid.uuid4().hex[:8]}-"
    root = tmp_path_factory.mktemp("celery")
    (root / "mirror").mkdir()
    with pg_database() as instance_url, pg_database() as warehouse_url, \
            pg_database() as reference_url:
        released = threading.Event()
        # The last month's releases file is answered only once the test has killed the
        # worker downloading it (the retried request is answered at once).
        late = FaultPlan(Fault("delay", target=LATE_RELEASES, delay_seconds=RUN_TIMEOUT_S,
                               release_when=released.is_set))
        with MirrorServer(root / "mirror", faults=late) as server:
            env = project_env(data_dir=root / "data", dumps_url=server.url,
                              warehouse_url=warehouse_url, DISCOGS_EXECUTOR="celery",
                              DISCOGS_CELERY_BROKER=BROKER, DISCOGS_CELERY_IO_CONCURRENCY="1",
                              DISCOGS_CELERY_CPU_CONCURRENCY="1",
                              DISCOGS_CELERY_QUEUE_PREFIX=prefix)
            # One run at a time: a backfill's months then load in the order the default
            # executor's loaded them (which month is historical depends on that order).
            with LiveDagster(root, env, postgres_url=instance_url,
                             max_concurrent_runs=1) as dagster:
                c = Cluster(dagster, server, warehouse_url, released)
                try:
                    c.start_worker("alpha", "io,cpu")
                    c.start_worker("beta", "io,cpu")
                    # while the workers import the code location: mirror, warehouses, daemon
                    c.mirror = build_sample_mirror(root / "mirror", months=MONTHS, scale=1)
                    for url in (warehouse_url, reference_url):
                        prepare_warehouse(url, c.mirror.root / "identities.csv")
                    dagster.start_daemon()
                    c.wait_ready(["io@alpha", "cpu@alpha", "io@beta", "cpu@beta"])
                    c.reference = Reference(root, dagster.env, reference_url,
                                            [(FIRST,), BACKFILL])
                    yield c
                finally:
                    released.set()
                    for proc in c.workers.values():  # the tests are over: no warm shutdown
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(proc.pid, signal.SIGKILL)
                        proc.wait(timeout=30)
                    if hasattr(c, "reference"):
                        c.reference.close()
                    delete_queues(Settings(celery_broker=BROKER, celery_queue_prefix=prefix))


def _step_workers(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str]]:
    """(step key, worker node) of every task a worker started for the run, in order."""
    out = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = entry.dagster_event.engine_event_data  # type: ignore[union-attr]
        node = data.metadata.get("Celery worker") if data else None
        if node is not None:
            out.append((entry.step_key or "", node.value))
    return out


def _run_id(instance: dg.DagsterInstance, month: str) -> str:
    (run,) = instance.get_runs(dg.RunsFilter(tags={"dagster/partition": month}))
    assert run.status == dg.DagsterRunStatus.SUCCESS, run.status
    return run.run_id


def _assert_routed(ran: list[tuple[str, str]]) -> None:
    """Every step of a month ran once, each on a node of its queue."""
    steps = {step for step, _ in ran}
    assert steps > IO_STEPS and "parsed_releases" in steps and "warehouse_releases" in steps
    assert len(ran) == len(steps), "no step ran twice"
    assert {node.split("@")[0] for step, node in ran if step in IO_STEPS} == {"io"}
    assert {node.split("@")[0] for step, node in ran if step not in IO_STEPS} == {"cpu"}


def _assert_same_warehouse(actual: Snapshot, expected: Snapshot) -> None:
    for table in expected:  # per table, so a failure shows the rows that differ
        assert set(actual[table]) ^ set(expected[table]) == set(), table


@pytest.fixture(scope="module")
def first_month(cluster: Cluster) -> str:
    """The first month through Celery, launched with ``dagster job execute``: its run id."""
    proc = cluster.launch(FIRST)
    output, _ = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, output[-4000:]
    return _run_id(cluster.instance, FIRST)


def test_month_runs_on_both_workers_and_matches_the_default_executor(
    cluster: Cluster, first_month: str
) -> None:
    ran = _step_workers(cluster.instance, first_month)
    _assert_routed(ran)
    assert {node.split("@")[1] for _, node in ran} == {"alpha", "beta"}
    # Celery's own log: one "succeeded" line per step task
    assert cluster.worker_logs().count("] succeeded in ") >= len(ran)
    _assert_same_warehouse(warehouse_snapshot(cluster.warehouse_url), cluster.reference.after(0))


def test_backfill_runs_on_both_workers_and_matches_the_default_executor(
    cluster: Cluster, first_month: str
) -> None:
    cluster.dagster.cli("job", "backfill", "-j", "discogs_monthly", "--partitions",
                        ",".join(BACKFILL), "--noprompt", timeout=300)
    runs = [cluster.dagster.wait_for_run(
        f"the backfill's run of {month}",
        lambda r, m=month: r.tags.get("dagster/partition") == m, timeout=2 * RUN_TIMEOUT_S)
        for month in BACKFILL]
    for run in runs:
        assert run.status is dg.DagsterRunStatus.SUCCESS, cluster.dagster.run_errors(run.run_id)
    (backfill,) = {run.tags.get("dagster/backfill") for run in runs}
    assert backfill is not None, "the runs belong to one backfill"
    ran = [_step_workers(cluster.instance, run.run_id) for run in runs]
    for month_ran in ran:
        _assert_routed(month_ran)
    assert {node.split("@")[1] for month_ran in ran for _, node in month_ran} == {"alpha", "beta"}
    _assert_same_warehouse(warehouse_snapshot(cluster.warehouse_url), cluster.reference.after(1))


def test_worker_killed_mid_step_its_step_runs_on_another_worker(cluster: Cluster) -> None:
    month = KILLED
    proc = cluster.launch(month, "discogs_checksum,raw_releases,parsed_releases")
    downloader = None
    instance = cluster.instance
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while downloader is None and time.monotonic() < deadline:
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/partition": month}))
        if runs:
            downloader = next((node for step, node in _step_workers(instance, runs[0].run_id)
                               if step == "raw_releases"), None)
        time.sleep(0.5)
    assert downloader is not None, "raw_releases never started"
    time.sleep(1)  # mid-step: it is waiting for the (held) releases file
    cluster.kill(downloader.split("@")[1])
    cluster.released.set()
    output, _ = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, output[-4000:]
    run_id = _run_id(instance, month)
    assert instance.get_run_by_id(run_id).job_name == "__ASSET_JOB"  # type: ignore[union-attr]
    ran = _step_workers(instance, run_id)
    parsed = instance.get_latest_materialization_event(dg.AssetKey("parsed_releases"))
    releases = [node for step, node in ran if step == "raw_releases"]
    assert releases[0] == downloader and len(releases) == 2, releases
    assert releases[1] != downloader and releases[1].startswith("io@"), releases
    assert [step for step, _ in ran].count("parsed_releases") == 1
    expected = cluster.mirror.months[month]
    meta = parsed.asset_materialization.metadata  # type: ignore[union-attr]
    assert meta["dagster/row_count"].value == expected.counts["releases"]
    raw = cluster.root / "data" / "raw" / month
    assert sha256_file(raw / LATE_RELEASES) == expected.files["releases"].sha256
    assert not list(raw.glob("*.part"))
