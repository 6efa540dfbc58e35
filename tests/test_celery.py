"""DISCOGS_EXECUTOR=celery with real workers: RabbitMQ broker, Dagster instance and warehouse in
PostgreSQL, worker processes started with ``discogs-pipeline worker``.

- workers alpha and beta (hosts of their own names) each serve ``io`` and ``cpu`` with a node
  per queue: a month's steps go to the right queues, run on both workers, and leave the
  warehouse an in-process run of the same month leaves;
- an asset run (``dagster asset materialize``, job ``__ASSET_JOB``) of the next month's
  releases: the worker downloading the file is killed mid-step (its whole process group, as a
  machine dies); the step runs again on the other worker and the parse downstream gets every
  record, nothing lost.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from chain_helpers import chain_defs, failures, run_month, warehouse_snapshot
from conftest import IN_CI, pg_database
from dagster._core.instance.ref import InstanceRef

from discogs_assets.executors import delete_queues
from discogs_assets.lib.acquisition import sha256_file
from discogs_assets.lib.acquisition.mirror_server import Fault, FaultPlan, MirrorServer
from discogs_assets.lib.caches import import_identities
from discogs_assets.lib.sample_mirror import MirrorSummary, build_sample_mirror
from discogs_assets.lib.settings import Settings
from discogs_assets.lib.warehouse import make_engine, run_models

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
BROKER = os.environ.get("DISCOGS_TEST_CELERY_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
MONTHS = ("2026-01", "2026-02")
LATE_RELEASES = "discogs_20260201_releases.xml.gz"
IO_STEPS = {"discogs_checksum", "raw_labels", "raw_artists", "raw_masters", "raw_releases"}
RUN_TIMEOUT_S = 240


def _require_rabbitmq() -> None:
    host, port = BROKER.rsplit("@", 1)[1].split("/")[0].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except OSError as exc:
        if IN_CI:
            pytest.fail(f"CI must have RabbitMQ at {host}:{port}: {exc}")
        pytest.skip(f"RabbitMQ not reachable at {host}:{port}: {exc}")


@dataclass
class Cluster:
    root: Path
    server: MirrorServer
    warehouse_url: str
    env: dict[str, str]
    released: threading.Event
    mirror: MirrorSummary = field(init=False)
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start_worker(self, name: str, queues: str) -> None:
        log = open(self.root / f"worker-{name}.log", "w")  # noqa: SIM115 - closed by the child
        self.workers[name] = subprocess.Popen(
            [sys.executable, "-m", "discogs_assets.cli", "worker", "--queue", queues,
             "--name", name], cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)  # its own process group: killed as a machine would be

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

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_ref(InstanceRef.from_dir(self.env["DAGSTER_HOME"]))

    def launch(self, month: str, assets: str | None = None) -> subprocess.Popen:
        """The month job, or an asset run of ``assets``, as an operator launches it."""
        target = (["asset", "materialize", "--select", assets, "--partition", month] if assets
                  else ["job", "execute", "-j", "discogs_monthly", "--tags",
                        f'{{"dagster/partition": "{month}"}}'])
        return subprocess.Popen(
            [sys.executable, "-m", "dagster", *target, "-m", "discogs_assets.definitions"],
            cwd=REPO, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _instance_yaml(url: str) -> str:
    db = sa.make_url(url)
    return (f"telemetry:\n  enabled: false\nstorage:\n  postgres:\n    postgres_db:\n"
            f"      hostname: {db.host}\n      port: {db.port or 5432}\n"
            f"      username: {db.username}\n      db_name: {db.database}\n"
            + (f"      password: {db.password}\n" if db.password else "")
            + "      scheme: postgresql+psycopg2\n")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    _require_rabbitmq()
    # Queues of this session only: other deployments (or test sessions) on the same broker
    # must neither take these steps nor hand theirs to these workers.
    prefix = f"test-{uuid.uuid4().hex[:8]}-"
    root = tmp_path_factory.mktemp("celery")
    (root / "mirror").mkdir()
    with pg_database() as instance_url, pg_database() as warehouse_url:
        home = root / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(_instance_yaml(instance_url))
        released = threading.Event()
        # The second month's releases file is answered only once the test has killed the
        # worker downloading it (the retried request is answered at once).
        late = FaultPlan(Fault("delay", target=LATE_RELEASES, delay_seconds=RUN_TIMEOUT_S,
                               release_when=released.is_set))
        with MirrorServer(root / "mirror", faults=late) as server:
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith(("DISCOGS_", "LML_", "SENTRY_"))}
            env.update(DAGSTER_HOME=str(home), DISCOGS_DATA_DIR=str(root / "data"),
                       DISCOGS_DUMPS_URL=server.url, DISCOGS_WAREHOUSE_URL=warehouse_url,
                       DISCOGS_INGESTION_ENABLED="true", DISCOGS_EXECUTOR="celery",
                       DISCOGS_CELERY_BROKER=BROKER, DISCOGS_CELERY_IO_CONCURRENCY="1",
                       DISCOGS_CELERY_CPU_CONCURRENCY="1", DISCOGS_CELERY_QUEUE_PREFIX=prefix)
            c = Cluster(root, server, warehouse_url, env, released)
            try:
                c.start_worker("alpha", "io,cpu")
                c.start_worker("beta", "io,cpu")
                # while the workers import the code location: the mirror and the warehouse
                c.mirror = build_sample_mirror(root / "mirror", months=MONTHS, scale=1)
                engine = make_engine(warehouse_url)
                run_models(engine)
                import_identities(engine, c.mirror.root / "identities.csv")
                engine.dispose()
                c.wait_ready(["io@alpha", "cpu@alpha", "io@beta", "cpu@beta"])
                yield c
            finally:
                released.set()
                for proc in c.workers.values():  # the tests are over: no warm shutdown
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=30)
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


def test_month_runs_on_both_workers_and_matches_an_in_process_run(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    proc = cluster.launch(MONTHS[0])
    # Meanwhile the same month in process, into a warehouse of its own.
    with pg_database() as reference_url:
        engine = make_engine(reference_url)
        run_models(engine)
        import_identities(engine, cluster.mirror.root / "identities.csv")
        engine.dispose()
        definitions = chain_defs(monkeypatch, tmp_path / "data", cluster.mirror.root,
                                 reference_url)
        monkeypatch.setenv("DISCOGS_DUMPS_URL", cluster.server.url)
        with dg.DagsterInstance.ephemeral() as instance:
            result = run_month(definitions, MONTHS[0], instance)
        assert result.success, failures(result)
        expected = warehouse_snapshot(reference_url)
    output, _ = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, output[-4000:]
    with cluster.instance() as instance:
        ran = _step_workers(instance, _run_id(instance, MONTHS[0]))
    steps = {step for step, _ in ran}
    assert steps > IO_STEPS and "parsed_releases" in steps and "warehouse_releases" in steps
    assert len(ran) == len(steps), "no step ran twice"
    # each step on its queue's nodes, and both workers took steps
    assert {node.split("@")[0] for step, node in ran if step in IO_STEPS} == {"io"}
    assert {node.split("@")[0] for step, node in ran if step not in IO_STEPS} == {"cpu"}
    assert {node.split("@")[1] for _, node in ran} == {"alpha", "beta"}
    # Celery's own log: one "succeeded" line per step task
    assert cluster.worker_logs().count("] succeeded in ") >= len(ran)
    actual = warehouse_snapshot(cluster.warehouse_url)
    for table in expected:
        assert set(actual[table]) ^ set(expected[table]) == set(), table


def test_worker_killed_mid_step_its_step_runs_on_another_worker(cluster: Cluster) -> None:
    month = MONTHS[1]
    proc = cluster.launch(month, "discogs_checksum,raw_releases,parsed_releases")
    downloader = None
    with cluster.instance() as instance:
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
