"""Warehouse states for the monitoring tests, built the way the monthly assets build them: the
lifecycle's named operations around the real loader and the real cache warm; and the
Prometheus binaries (the Debian package ``prometheus``), required in CI."""

from __future__ import annotations

import copy
import select
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from discogs_assets.lib.caches import import_identities, warm_local
from discogs_assets.lib.lifecycle import CHECKSUM_STEP, MonthLifecycle, Stage
from discogs_assets.lib.parsing import PARSER_VERSION
from discogs_assets.lib.tables import ENTITIES, ENTITY_ROOT_TABLE
from discogs_assets.lib.warehouse import load_month, make_engine, run_models
from tests.caches_helpers import ListLog
from tests.conftest import IN_CI, REPO
from tests.warehouse_helpers import Month, base_month, next_month, write_month

GOOD, BROKEN = "2026-09", "2026-10"
IDENTITIES = """identity_id,source,external_id
1,discogs_release,1000
2,discogs_release,424242
"""
"""One identity found, one not: a not_found ratio of 50 %, far above the 1 % alert line."""


def run_month(engine: sa.Engine, data_dir: Path, month: str, data: Month, *, run_id: str,
              parser_version: str = PARSER_VERSION, allow_shrink: bool = False,
              note: str | None = None) -> dict[str, Any]:
    """``month`` through checksum, downloads, parses and loads (in the assets' order), with
    the parsed files under ``data_dir/parsed`` and the real loader; ``note`` goes with a load
    that applied no records (the override's explanation, as the warehouse asset writes it)."""
    lc = MonthLifecycle(engine)
    lc.start_stage(month, CHECKSUM_STEP, Stage.DOWNLOAD, run_id=run_id)
    lc.record_dump(month, run_id=run_id, dump_date=month.replace("-", "") + "01",
                   checksum_sha256="0" * 64, checksums={}, unverified=False)
    lc.finish_stage(month, CHECKSUM_STEP, Stage.DOWNLOAD, run_id=run_id)
    write_month(data_dir / "parsed", month, data)
    for entity in ENTITIES:
        lc.start_stage(month, entity, Stage.DOWNLOAD, run_id=run_id)
        lc.finish_stage(month, entity, Stage.DOWNLOAD, run_id=run_id,
                        stats_patch={f"raw_{entity}": {"bytes": 1000 + len(entity)}})
        lc.start_stage(month, entity, Stage.PARSE, run_id=run_id, parser_version=parser_version)
        records = len(data[entity][ENTITY_ROOT_TABLE[entity]])
        lc.finish_stage(month, entity, Stage.PARSE, run_id=run_id, records=records,
                        parser_version=parser_version,
                        stats_patch={f"parsed_{entity}": {"records": records}})
    for entity in ENTITIES:
        lc.start_stage(month, entity, Stage.LOAD, run_id=run_id)
        result = load_month(engine, month=month, entity=entity, run_id=run_id,
                            parsed_dir=data_dir / "parsed" / month / entity,
                            allow_shrink=allow_shrink)
        lc.finish_stage(month, entity, Stage.LOAD, run_id=run_id, records=result.staged_rows,
                        note=note if result.staged_rows == 0 else None)
    return lc.get(month) or {}


def empty_labels(data: Month) -> Month:
    """The month with no labels at all: what a parser that lost its record tag would give."""
    out = copy.deepcopy(data)
    out["labels"] = {table: [] for table in out["labels"]}
    return out


def warm_caches(engine: sa.Engine, tmp_path: Path, month: str) -> None:
    """Import the identities and warm the caches for ``month``, recording the counters as the
    identity_caches step does."""
    csv = tmp_path / "identities.csv"
    csv.write_text(IDENTITIES)
    import_identities(engine, csv)
    warm = warm_local(engine, month, ListLog())
    MonthLifecycle(engine).record_stats(month, {"identity_caches": {
        **warm.counters.as_metadata(),
        "skipped_discogs_unavailable": warm.skipped_discogs_unavailable}})


def good_and_broken_warehouse(url: str, data_dir: Path) -> sa.Engine:
    """A migrated warehouse with a good month (``GOOD``, caches warmed: one of two identities
    not found) and then a silently broken one (``BROKEN``: completed, zero labels, applied
    under the allow_shrink override with a note)."""
    engine = make_engine(url)
    run_models(engine)
    first = base_month()
    run_month(engine, data_dir, GOOD, first, run_id="run-good")
    warm_caches(engine, data_dir, GOOD)
    run_month(engine, data_dir, BROKEN, empty_labels(next_month(first)), run_id="run-broken",
              allow_shrink=True, note="0 labels records applied under the allow_shrink override")
    return engine


def require_tool(name: str) -> str:
    """The path of a Prometheus binary; skip with the reason without one, fail in CI."""
    path = shutil.which(name)
    if path is None:
        reason = (f"{name} not found: install the Debian package prometheus "
                  "(apt-get install prometheus); .ci/run does")
        if IN_CI:
            pytest.fail(f"CI must have {name}: {reason}")
        pytest.skip(reason)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, probe: Any, timeout_s: float, interval_s: float = 0.2) -> Any:
    """Call ``probe`` until it returns something truthy; fail naming ``what`` after the
    timeout (with the last value seen)."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval_s)
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}; last seen: {last!r}")


@contextmanager
def exporter(env: dict[str, str], *args: str, timeout_s: float = 60.0) -> Iterator[str]:
    """``discogs-pipeline metrics serve --port 0`` in a subprocess; yields its /metrics URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "discogs_assets.cli", "metrics", "serve", "--port", "0", *args],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
        line = proc.stdout.readline() if ready else ""
        assert " at http://" in line, (f"the exporter did not start within {timeout_s:.0f} s "
                                       f"(exit code {proc.poll()}): {line!r}")
        yield line.split(" at ", 1)[1].split()[0]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
