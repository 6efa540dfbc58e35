"""A load killed with SIGKILL mid-transaction, and two loads racing for the same warehouse."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from warehouse_helpers import base_month, load_all, next_month, snapshot, write_month

from discogs_assets.lib.tables import ENTITIES, TABLES_BY_NAME
from discogs_assets.lib.warehouse import WarehouseBusy, load_month, make_engine, run_models

REPO = Path(__file__).resolve().parents[1]
HELPER = Path(__file__).with_name("warehouse_helpers.py")
DATA_TABLES = [*TABLES_BY_NAME, "month_changes"]
pytestmark = pytest.mark.timeout(120)


def start_paused_load(url: str, parsed: Path, month: str, entity: str,
                      go_file: Path) -> subprocess.Popen[str]:
    """A real child process that loads and stops inside the transaction (after a write)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(HELPER), url, str(parsed), month, entity, str(go_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "PAUSED":
            return proc
    proc.wait()
    pytest.fail(f"child load never paused (rc={proc.returncode}): {proc.stderr.read()}")


def comparable(engine: sa.Engine) -> dict[str, list[tuple]]:
    snap = snapshot(engine, list(TABLES_BY_NAME))
    with engine.connect() as conn:  # month_changes minus timings and run counts
        snap["month_changes"] = sorted(tuple(r) for r in conn.execute(sa.text(
            "SELECT month, entity, added, changed, removed, unchanged, revived, staged_rows "
            "FROM month_changes")))
    return snap


@pytest.mark.parametrize("phase", ["first_load", "merge"])
def test_kill_mid_load_then_rerun_matches_uninterrupted(
    warehouse_url: str, tmp_path: Path, phase: str
) -> None:
    write_month(tmp_path, "2026-01", base_month())
    write_month(tmp_path, "2026-02", next_month(base_month()))
    months = ["2026-01"] if phase == "first_load" else ["2026-01", "2026-02"]
    engine = make_engine(warehouse_url)
    run_models(engine)
    for month in months[:-1]:
        load_all(engine, tmp_path, month)
    last = months[-1]
    for entity in ENTITIES[:-1]:
        load_month(engine, month=last, entity=entity, parsed_dir=tmp_path / last / entity)
    before = comparable(engine)

    proc = start_paused_load(warehouse_url, tmp_path / last / "releases", last, "releases",
                             tmp_path / "never")
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert comparable(engine) == before, "a killed load must leave the last good state"

    rerun = load_month(engine, month=last, entity="releases",
                       parsed_dir=tmp_path / last / "releases")
    assert rerun.first_load == (phase == "first_load")

    reference = make_engine(f"sqlite:///{tmp_path / 'reference.sqlite'}")
    run_models(reference)
    for month in months:
        load_all(reference, tmp_path, month)
    assert comparable(engine) == comparable(reference)
    engine.dispose()
    reference.dispose()


def test_concurrent_loads_never_interleave(warehouse_url: str, tmp_path: Path) -> None:
    write_month(tmp_path, "2026-01", base_month())
    parsed = tmp_path / "2026-01" / "labels"
    engine = make_engine(warehouse_url)
    run_models(engine)
    go = tmp_path / "go"
    first = start_paused_load(warehouse_url, parsed, "2026-01", "labels", go)
    try:
        with pytest.raises(WarehouseBusy, match=r"another load .*warehouse lock"):
            load_month(engine, month="2026-01", entity="labels", parsed_dir=parsed,
                       lock_wait_s=0.5)
        said: list[str] = []
        threading.Timer(1.0, go.touch).start()  # the first load resumes and commits
        second = load_month(engine, month="2026-01", entity="labels", parsed_dir=parsed,
                            lock_wait_s=60, log=said.append)
    finally:
        go.touch()
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert "DONE added=3" in out
    assert any("waiting up to 60s: another load holds the warehouse lock" in m for m in said)
    # the second load ran after the first committed: it saw the first's rows as its baseline
    assert (second.added, second.unchanged, second.first_load) == (0, 3, False)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT runs FROM month_changes")).scalar_one() == 2
    engine.dispose()
