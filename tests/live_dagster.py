"""Real Dagster processes for a test, the way operators run them.

A temporary ``DAGSTER_HOME`` (its ``dagster.yaml``: telemetry off, a queued run coordinator,
optionally PostgreSQL storage and run monitoring), a workspace pointing at the project's code
location, then ``dagster-daemon run`` and/or ``dagster-webserver`` as subprocesses, each in its
own process group (so its code server, run workers and step processes go down with it). Logs go
to files and their tails are shown on failure. Everything waits by polling, with a deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import httpx
import yaml

from discogs_assets.instance import postgres_storage
from discogs_assets.lib.caches import import_identities
from discogs_assets.lib.settings import Settings
from discogs_assets.lib.warehouse import make_engine, run_models
from resources.warehouse import WarehouseResource

REPO = Path(__file__).resolve().parents[1]
# dagster, dagster-daemon and dagster-webserver are installed beside the test interpreter.
BIN = Path(sys.executable).parent
T = TypeVar("T")

# Sensor minimum intervals for tests: a few seconds instead of minutes or hours.
SHORT_TICKS = {
    "DISCOGS_NEW_DUMP_INTERVAL_SECONDS": "3",
    "DISCOGS_RETRY_TICK_SECONDS": "2",
    "DISCOGS_GATE_WATCH_TICK_SECONDS": "5",
    "DISCOGS_CHECK_ALERT_TICK_SECONDS": "3",
}
FINISHED = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED)
STOP_GRACE_S = 15.0
_NOISE = re.compile(r"(Beta|Preview|Deprecation)Warning: |^\s+return fn\(\*args, \*\*kwargs\)$")


class LiveTimeout(AssertionError):
    """A bounded wait ran out; the message carries what was awaited and the process logs."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def instance_yaml(*, postgres_url: str | None = None, run_monitoring: bool = False,
                  max_concurrent_runs: int = 4) -> str:
    """The test instance: the queued coordinator and pools of production, no run retries."""
    config: dict[str, Any] = {
        "telemetry": {"enabled": False},
        "run_coordinator": {"module": "dagster.core.run_coordinator",
                            "class": "QueuedRunCoordinator"},
        "concurrency": {"runs": {"max_concurrent_runs": max_concurrent_runs},
                        "pools": {"default_limit": 2}},
        "run_retries": {"enabled": False},
        "code_servers": {"local_startup_timeout": 240},
    }
    if postgres_url:
        config["storage"] = postgres_storage(postgres_url)
    if run_monitoring:
        config["run_monitoring"] = {"enabled": True, "start_timeout_seconds": 180,
                                    "max_resume_run_attempts": 0, "poll_interval_seconds": 5}
    return json.dumps(config, indent=2)  # JSON is YAML


def wait_until(what: str, probe: Callable[[], T | None], timeout: float,
               interval: float = 1.0, on_timeout: Callable[[], str] | None = None) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = on_timeout() if on_timeout else ""
            raise LiveTimeout(f"timed out after {timeout:.0f} s waiting for {what}\n{detail}")
        time.sleep(interval)


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


class LiveDagster:
    """A ``DAGSTER_HOME`` under ``root`` and the Dagster processes started on it.

    ``project_env`` is the project's configuration (``DISCOGS_*``, ``SENTRY_DSN``) for every
    process, with the short sensor ticks; the test's own environment contributes none of the
    project's settings (a developer's shell must not point the processes elsewhere). Use as a
    context manager: leaving it stops every process and disposes of the instance.
    """

    def __init__(self, root: Path, project_env: Mapping[str, str], *,
                 postgres_url: str | None = None, run_monitoring: bool = False,
                 max_concurrent_runs: int = 4) -> None:
        self.root = root
        self.home = root / "dagster_home"
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "dagster.yaml").write_text(
            instance_yaml(postgres_url=postgres_url, run_monitoring=run_monitoring,
                          max_concurrent_runs=max_concurrent_runs))
        # The project's own workspace, made to work from anywhere.
        workspace = yaml.safe_load((REPO / "workspace.yaml").read_text())
        [entry] = workspace["load_from"]
        entry["python_module"]["working_directory"] = str(REPO)
        self.location_name: str = entry["python_module"]["location_name"]
        self.workspace = root / "workspace.yaml"
        self.workspace.write_text(json.dumps(workspace))
        scrubbed = {"DAGSTER_HOME", *(name for name, _, _ in Settings.documented())}
        env = {k: v for k, v in os.environ.items() if k not in scrubbed}
        self.env = {**env, **SHORT_TICKS, **project_env, "DAGSTER_HOME": str(self.home),
                    "PYTHONUNBUFFERED": "1"}
        self.services: list[Service] = []
        self._instance: dg.DagsterInstance | None = None
        self.webserver_url: str | None = None

    # -- processes -------------------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str]) -> Service:
        log = self.root / f"{name}.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(
                argv, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)  # its own process group
        service = Service(name, process, log)
        self.services.append(service)
        return service

    def _alive(self, service: Service) -> bool:
        if service.process.poll() is not None:
            raise AssertionError(f"{service.name} exited with {service.process.returncode}\n"
                                 f"{self.logs_tail()}")
        return True

    def start_daemon(self, timeout: float = 240) -> None:
        """``dagster-daemon run``; ready once every daemon the instance needs has a heartbeat."""
        started = time.time()
        service = self._spawn("daemon", [str(BIN / "dagster-daemon"), "run",
                                          "-w", str(self.workspace)])
        required = set(self.instance.get_required_daemon_types())

        def ready() -> bool:
            self._alive(service)
            beats = self.instance.get_daemon_heartbeats()
            return required <= {t for t, b in beats.items() if b.timestamp >= started}

        wait_until(f"daemon heartbeats {sorted(required)}", ready, timeout, 2,
                   self.logs_tail)

    def start_webserver(self, timeout: float = 240) -> str:
        """``dagster-webserver`` on a free port; ready once the code location has loaded."""
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        service = self._spawn("webserver", [str(BIN / "dagster-webserver"),
                                             "-w", str(self.workspace),
                                             "-h", "127.0.0.1", "-p", str(port)])
        query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus " \
                "locationOrLoadError { __typename } } } } }"

        def ready() -> bool:
            self._alive(service)
            try:
                if httpx.get(f"{url}/server_info", timeout=5).status_code != 200:
                    return False
                data = httpx.post(f"{url}/graphql", json={"query": query}, timeout=10).json()
            except httpx.HTTPError:
                return False
            entries = data["data"]["workspaceOrError"]["locationEntries"]
            if any(e["locationOrLoadError"] and e["locationOrLoadError"]["__typename"]
                   == "PythonError" for e in entries):
                raise AssertionError(f"code location failed to load: {entries}\n"
                                     f"{self.logs_tail()}")
            return bool(entries) and all(e["loadStatus"] == "LOADED" for e in entries)

        wait_until("the webserver and its code location", ready, timeout, 2, self.logs_tail)
        self.webserver_url = url
        return url

    def cli(self, *args: str, timeout: float = 180) -> str:
        """Run the ``dagster`` CLI on this instance and workspace; its output."""
        argv = [str(BIN / "dagster"), *args]
        if "-w" not in args:
            argv += ["-w", str(self.workspace)]
        done = subprocess.run(argv, cwd=REPO, env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({done.returncode}):\n"
                                 f"{done.stdout}\n{done.stderr}")
        return done.stdout

    def start_automation(self) -> None:
        """Switch every sensor and schedule on, as an operator does (``dagster ... start``)."""
        self.cli("sensor", "start", "--start-all")
        self.cli("schedule", "start", "--start-all")

    def owns(self, pid: int) -> bool:
        """Whether ``pid`` belongs to one of the process groups started here."""
        try:
            return os.getpgid(pid) in {s.process.pid for s in self.services}
        except ProcessLookupError:
            return False

    def logs_tail(self, lines: int = 60) -> str:
        """The last ``lines`` of each process log, without the warnings every process prints
        when it imports the code location."""
        out = []
        for service in self.services:
            text = service.log.read_text(errors="replace") if service.log.exists() else ""
            kept = [line for line in text.splitlines() if not _NOISE.search(line)]
            out.append(f"----- {service.name} log (last {lines} lines) -----")
            out.extend(kept[-lines:])
        return "\n".join(out)

    def stop(self) -> None:
        """Terminate each process group, then kill what is left after a grace period."""
        for service in self.services:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for service in self.services:
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            # The leader may be gone while its children (code server, run workers) linger.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.process.wait(timeout=5)
        if self._instance is not None:
            self._instance.dispose()
            self._instance = None

    def __enter__(self) -> LiveDagster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the instance --------------------------------------------------------------------

    @property
    def instance(self) -> dg.DagsterInstance:
        if self._instance is None:
            self._instance = dg.DagsterInstance.from_config(str(self.home))
        return self._instance

    def runs(self) -> list[dg.DagsterRun]:
        """Every run of the instance, oldest first."""
        return [r.dagster_run for r in self.instance.get_run_records(ascending=True)]

    def run_errors(self, run_id: str) -> str:
        """The step and run failures of a run, for assertion messages."""
        lines = []
        for record in self.instance.get_records_for_run(
                run_id, of_type={dg.DagsterEventType.STEP_FAILURE,
                                 dg.DagsterEventType.RUN_FAILURE}).records:
            event = record.event_log_entry
            data = event.dagster_event.event_specific_data if event.dagster_event else None
            error = getattr(data, "error", None)
            lines.append(f"{event.step_key or 'run'}: "
                         f"{error.to_string() if error else event.user_message}")
        return "\n".join(lines)

    def wait_for_run(self, what: str, match: Callable[[dg.DagsterRun], bool],
                     statuses: Iterable[dg.DagsterRunStatus] = FINISHED,
                     timeout: float = 600) -> dg.DagsterRun:
        """The newest run matching ``match`` once it reaches one of ``statuses``."""
        wanted = set(statuses)

        def probe() -> dg.DagsterRun | None:
            for run in reversed(self.runs()):
                if match(run):
                    return run if run.status in wanted else None
            return None

        return wait_until(f"{what} to reach {sorted(s.value for s in wanted)}", probe,
                          timeout, 2, self.describe)

    def describe(self) -> str:
        """Every run of the instance and the tail of each process log (for failure messages)."""
        lines = [f"{r.run_id[:8]} {r.job_name} {r.tags.get('dagster/partition')} "
                 f"{r.status.value} {r.tags.get('discogs/trigger', '')}" for r in self.runs()]
        return "runs:\n" + "\n".join(lines) + "\n" + self.logs_tail()


def processing(warehouse_url: str, data_dir: Path) -> Any:
    """The warehouse's processing table (read API: ``.get(month)``, ``.all()``)."""
    return WarehouseResource(url=warehouse_url, data_dir=str(data_dir)).processing()


def project_env(*, data_dir: Path, dumps_url: str, warehouse_url: str,
                sentry_dsn: str | None = None, **extra: str) -> dict[str, str]:
    """The project's configuration for the live processes (the gate on, as in production)."""
    env = {"DISCOGS_DATA_DIR": str(data_dir), "DISCOGS_DUMPS_URL": dumps_url,
           "DISCOGS_WAREHOUSE_URL": warehouse_url, "DISCOGS_INGESTION_ENABLED": "true", **extra}
    if sentry_dsn:
        env["SENTRY_DSN"] = sentry_dsn
    return env


def prepare_warehouse(url: str, identities: Path) -> None:
    """A migrated warehouse holding the identities the caches warm (before any run)."""
    engine = make_engine(url)
    run_models(engine)
    import_identities(engine, identities)
    engine.dispose()
