"""One sample-mirror month through the multiprocess executor, run as an operator would.

    uv run python benchmarks/bench_month_executor.py [--runs 3] [--month 2026-01] [--scale 1]
                                                     [--via job|assets] [--help-runs 10]

Builds the sample mirror once; each run gets a fresh data dir, SQLite warehouse (schema and
identities applied first, as in the end-to-end test) and DAGSTER_HOME, then runs the month with
``dagster job execute -j discogs_monthly`` (or ``dagster asset materialize``, the path of the
UI's asset pages, with ``--via assets``) in a subprocess. Printed, medians over runs: wall
seconds for the month, steps executed, wall seconds per step; per step the start-up (worker
starting → step start; of it the process start, worker starting → worker started) and the
compute (step start → step end); peak RSS of the largest process in the run's process tree and
of the whole tree at once, and the tree's CPU seconds (sampled from /proc: VmHWM per process,
VmRSS summed, utime + stime; CPU seconds hold better than wall time on a shared machine); and
the wall time of ``discogs-pipeline --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, fields
from pathlib import Path

import dagster as dg

from discogs_assets.instance import LOCAL_INSTANCE_YAML
from discogs_assets.lib.caches import import_identities
from discogs_assets.lib.sample_mirror import build_sample_mirror
from discogs_assets.lib.warehouse import make_engine, run_models

MONTHLY_GROUPS = ("acquisition", "parsing", "warehouse", "caches")
BIN = Path(sys.executable).parent
_KB = re.compile(r"^(VmHWM|VmRSS):\s+(\d+) kB", re.MULTILINE)


@dataclass
class RunStats:
    wall_s: float
    steps: int
    startup_s: float  # median per step: worker starting -> step start
    process_s: float  # of which: worker starting -> worker started (process start, imports)
    compute_s: float  # median per step: step start -> success/failure
    cpu_s: float  # user + system seconds of the whole process tree
    peak_process_mb: float
    peak_tree_mb: float

    def __str__(self) -> str:
        return (f"{self.wall_s:.1f} s, {self.steps:.0f} steps, {self.wall_s / self.steps:.2f} "
                f"s/step; per step: start-up {self.startup_s:.2f} s (process start "
                f"{self.process_s:.2f} s), compute {self.compute_s:.2f} s; CPU "
                f"{self.cpu_s:.1f} s; peak RSS {self.peak_process_mb:.0f} MB/process, "
                f"{self.peak_tree_mb:.0f} MB/tree")


class TreeSampler(threading.Thread):
    """Samples the process tree under ``root_pid`` every ``interval`` seconds.

    VmHWM is each process's own peak (ru_maxrss of an exec'd child would start at its parent's
    peak, and forkserver children are not waited for by the process we start); the summed
    VmRSS approximates the tree's peak at one moment (steps running side by side). CPU time is
    each process's last sampled utime + stime (a machine's load stretches wall time, not this).
    """

    def __init__(self, root_pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.root_pid, self.interval = root_pid, interval
        self.hwm_kb: dict[int, int] = {}
        self.cpu_ticks: dict[int, int] = {}
        self.tree_kb = 0
        self._done = threading.Event()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        ticks: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()  # fields 3.. of proc(5)
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            ticks[int(entry.name)] = int(fields[11]) + int(fields[12])  # utime + stime
        out, todo = [], [self.root_pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(children.get(pid, []))
            self.cpu_ticks[pid] = max(self.cpu_ticks.get(pid, 0), ticks.get(pid, 0))
        return out

    @property
    def cpu_s(self) -> float:
        return sum(self.cpu_ticks.values()) / os.sysconf("SC_CLK_TCK")

    def sample(self) -> None:
        total = 0
        for pid in self._tree():
            try:
                fields = dict(_KB.findall(Path(f"/proc/{pid}/status").read_text()))
            except OSError:
                continue
            if "VmHWM" in fields:
                self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), int(fields["VmHWM"]))
                total += int(fields["VmRSS"])
        self.tree_kb = max(self.tree_kb, total)

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._done.set()
        self.join()


def _command(via: str, month: str) -> list[str]:
    if via == "job":
        return [str(BIN / "dagster"), "job", "execute", "-m", "discogs_assets.definitions",
                "-j", "discogs_monthly", "--tags", json.dumps({"dagster/partition": month})]
    selection = ",".join(f"group:{g}" for g in MONTHLY_GROUPS)
    return [str(BIN / "dagster"), "asset", "materialize", "-m", "discogs_assets.definitions",
            "--select", selection, "--partition", month]


def _step_timings(home: Path
                  ) -> tuple[int, list[float], list[float], list[float], list[str]]:
    """Steps of the (only) run in ``home``: count, start-up, process start and compute
    seconds, failures."""
    starting: dict[str, float] = {}
    started: dict[str, float] = {}
    startup: list[float] = []
    process: list[float] = []
    compute: list[float] = []
    failed: list[str] = []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        if len(runs) != 1:
            raise RuntimeError(f"expected one run in {home}, found {len(runs)}")
        for record in instance.all_logs(runs[0].run_id):
            event = record.dagster_event
            if event is None or event.step_key is None:
                continue
            kind, key = event.event_type, event.step_key
            if kind == dg.DagsterEventType.STEP_WORKER_STARTING:
                starting.setdefault(key, record.timestamp)
            elif kind == dg.DagsterEventType.STEP_WORKER_STARTED and key in starting:
                process.append(record.timestamp - starting[key])
            elif kind == dg.DagsterEventType.STEP_START:
                started[key] = record.timestamp
                if key in starting:
                    startup.append(record.timestamp - starting[key])
            elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                compute.append(record.timestamp - started.get(key, record.timestamp))
                if kind == dg.DagsterEventType.STEP_FAILURE:
                    failed.append(key)
    return len(started), startup, process, compute, failed


def run_month(mirror: Path, month: str, via: str, work: Path) -> RunStats:
    data, home = work / "data", work / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)
    url = f"sqlite:///{work / 'warehouse.sqlite'}"
    engine = make_engine(url)
    run_models(engine)
    import_identities(engine, mirror / "identities.csv")
    engine.dispose()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LML_", "SENTRY_", "DISCOGS_", "DAGSTER_"))}
    env.update(DISCOGS_DATA_DIR=str(data), DISCOGS_DUMPS_URL=mirror.as_uri(),
               DISCOGS_WAREHOUSE_URL=url, DISCOGS_INGESTION_ENABLED="true",
               DAGSTER_HOME=str(home))
    log = work / "dagster.log"
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(_command(via, month), env=env, stdout=out,
                                stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        code = proc.wait()
        wall = time.perf_counter() - started
        sampler.stop()
    steps, startup, process, compute, failed = _step_timings(home)
    if code != 0 or failed:
        tail = log.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"month run failed (exit {code}, failed steps {failed}):\n{tail}")
    return RunStats(
        wall_s=wall, steps=steps,
        startup_s=statistics.median(startup) if startup else 0.0,
        process_s=statistics.median(process) if process else 0.0,
        compute_s=statistics.median(compute) if compute else 0.0,
        cpu_s=sampler.cpu_s,
        peak_process_mb=max(sampler.hwm_kb.values(), default=0) / 1024,
        peak_tree_mb=sampler.tree_kb / 1024,
    )


def help_seconds(runs: int) -> float:
    """Median wall time of ``discogs-pipeline --help`` (interpreter start-up included)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(BIN / "discogs-pipeline"), "--help"], check=True,
                       stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--month", default="2026-01")
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--via", choices=("job", "assets"), default="job",
                        help="dagster job execute (default) or dagster asset materialize")
    parser.add_argument("--help-runs", type=int, default=10,
                        help="times to run `discogs-pipeline --help` (0 skips it)")
    args = parser.parse_args(argv)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"cores={os.cpu_count()} load average at start: {load}", flush=True)
    if args.help_runs:
        print(f"discogs-pipeline --help: {help_seconds(args.help_runs):.3f} s "
              f"(median of {args.help_runs})", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-month-") as tmp:
        mirror = Path(tmp) / "mirror"
        build_sample_mirror(mirror, months=(args.month,), scale=args.scale)
        results = []
        for i in range(args.runs):
            work = Path(tmp) / f"run{i}"
            stats = run_month(mirror, args.month, args.via, work)
            shutil.rmtree(work)
            results.append(stats)
            print(f"run {i + 1}: {stats}", flush=True)
    median = RunStats(*(statistics.median(getattr(r, f.name) for r in results)
                        for f in fields(RunStats)))
    print(f"month {args.month} via {args.via}, median of {args.runs}: {median}")


if __name__ == "__main__":
    main()
