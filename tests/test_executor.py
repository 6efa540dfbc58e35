"""Steps run in processes forked from a server that preloaded only thread-free modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import dagster as dg
import pytest

from discogs_assets.definitions import STEP_PRELOAD_MODULES, defs
from discogs_assets.instance import LOCAL_INSTANCE_YAML
from discogs_assets.lib.sample_mirror import build_sample_mirror

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Imported by steps themselves: they start threads on import (allocators, spill cleaner), or
# come only with those that do.
STEP_IMPORTED = {"polars", "polars_hash", "_polars_runtime_32", "pyarrow", "pandera",
                 "typing_inspect", "mypy_extensions"}

_PROBE = """
import importlib, json, os, pkgutil, sys, warnings
warnings.simplefilter("ignore")
from importlib.metadata import packages_distributions
preload = json.loads(sys.argv[1])
for name in preload:
    importlib.import_module(name)  # the forkserver would skip a failing one without a word
def sockets():
    links = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
        except FileNotFoundError:  # the listing's own descriptor, closed by now
            pass
    return [link for link in links if link.startswith("socket:")]
after_preload = {
    "threads": len(os.listdir("/proc/self/task")), "sockets": sockets(),
    "heavy": sorted(m for m in ("polars", "pyarrow", "pandera") if m in sys.modules),
}
before = {m.split(".")[0] for m in sys.modules}
import discogs_assets.defs
from discogs_assets.definitions import defs
for info in pkgutil.iter_modules(discogs_assets.defs.__path__):
    importlib.import_module(f"discogs_assets.defs.{info.name}")
defs().get_repository_def()
from resources.warehouse import _engine_for, _migrated
third_party = set(packages_distributions()) - set(sys.stdlib_module_names)
print(json.dumps({
    "after_preload": after_preload,
    "sockets_after_load": sockets(),
    "engines": _engine_for.cache_info().currsize + _migrated.cache_info().currsize,
    "not_preloaded": sorted({m.split(".")[0] for m in sys.modules} - before & third_party),
}))
"""


def test_monthly_and_asset_page_jobs_use_the_forkserver_executor() -> None:
    repo = defs().get_repository_def()
    jobs = [repo.get_job("discogs_monthly"), repo.get_implicit_global_asset_job_def()]
    for job in jobs:
        schema = job.executor_def.config_schema
        config = schema.resolve_config({}).value["config"]
        assert config["start_method"] == {
            "forkserver": {"preload_modules": list(STEP_PRELOAD_MODULES)}}, job.name
        assert config["max_concurrent"] is None  # Dagster's default: the CPU count
        override = schema.resolve_config({"config": {"max_concurrent": 3}}).value["config"]
        assert override["max_concurrent"] == 3


def test_preload_starts_no_thread_and_the_code_location_opens_nothing() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(STEP_PRELOAD_MODULES)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    # A fork copies only the calling thread: one held lock would stay locked in every step.
    assert probe["after_preload"] == {"threads": 1, "sockets": [], "heavy": []}
    # Loading the definitions connects nowhere: engines are made per step process, on use.
    assert probe["sockets_after_load"] == []
    assert probe["engines"] == 0
    # Every other library the code location imports is preloaded (a new dependency must be
    # added to one list or the other).
    assert set(probe["not_preloaded"]) <= STEP_IMPORTED


def _forkserver_pids(stop: threading.Event, seen: set[int]) -> None:
    """Collect the pids of processes running the forkserver's code (a forked step keeps the
    forkserver's command line; a spawned one has ``spawn_main`` in its own)."""
    while not stop.wait(0.02):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    if b"multiprocessing.forkserver" in Path(entry.path, "cmdline").read_bytes():
                        seen.add(int(entry.name))
                except OSError:
                    continue


@pytest.mark.slow
def test_operator_run_forks_its_steps_from_the_forkserver(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    build_sample_mirror(mirror, months=("2026-01",), scale=1)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LML_", "SENTRY_", "DISCOGS_", "DAGSTER_"))}
    env.update(DISCOGS_DATA_DIR=str(tmp_path / "data"), DISCOGS_DUMPS_URL=mirror.as_uri(),
               DISCOGS_WAREHOUSE_URL=f"sqlite:///{tmp_path / 'warehouse.sqlite'}",
               DISCOGS_INGESTION_ENABLED="true", DAGSTER_HOME=str(home))
    seen: set[int] = set()
    stop = threading.Event()
    watcher = threading.Thread(target=_forkserver_pids, args=(stop, seen), daemon=True)
    watcher.start()
    try:
        done = subprocess.run(
            [str(BIN / "dagster"), "asset", "materialize", "-m", "discogs_assets.definitions",
             "--select", "discogs_checksum,raw_labels", "--partition", "2026-01"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    finally:
        stop.set()
        watcher.join()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert run.job_name == "__ASSET_JOB"
        step_pids = {
            record.dagster_event.step_key: int(record.dagster_event.event_specific_data
                                               .metadata["pid"].value)
            for record in instance.all_logs(run.run_id,
                                            of_type=dg.DagsterEventType.STEP_WORKER_STARTED)
        }
        materialized = {r.asset_key.to_user_string() for r in instance.fetch_materializations(
            dg.AssetKey("raw_labels"), limit=1).records}
    assert {"discogs_checksum", "raw_labels"} <= set(step_pids)
    assert materialized == {"raw_labels"}
    assert (tmp_path / "data" / "raw" / "2026-01").is_dir()
    # Every step process was forked from the forkserver (not spawned afresh).
    assert set(step_pids.values()) <= seen, (step_pids, seen)
