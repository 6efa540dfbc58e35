"""A newest-first backfill: older months loaded after a newer one never change the current
state (the warehouse's monotonic rule), they are recorded as historical snapshots, and every
month completes."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from chain_helpers import chain_defs, failures, run_month, warehouse_snapshot

from discogs_assets.lib.sample_mirror import build_sample_mirror
from discogs_assets.lib.tables import ENTITIES, TABLES
from discogs_assets.lib.warehouse import make_engine

MONTHS = ("2026-01", "2026-02", "2026-03")


def test_newest_first_backfill_keeps_the_newest_state(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pg_url: str
) -> None:
    mirror = build_sample_mirror(tmp_path / "mirror", months=MONTHS)
    definitions = chain_defs(monkeypatch, tmp_path / "data", mirror.root, pg_url)
    current = [t.name for t in TABLES]
    with dg.DagsterInstance.ephemeral() as instance:
        newest = run_month(definitions, MONTHS[-1], instance)
        assert newest.success, failures(newest)
        after_newest = warehouse_snapshot(pg_url)
        for month in reversed(MONTHS[:-1]):
            older = run_month(definitions, month, instance)
            assert older.success, failures(older)
    after_all = warehouse_snapshot(pg_url)
    for table in current:  # per table, so a failure shows the rows that moved
        assert set(after_all[table]) ^ set(after_newest[table]) == set(), table
    assert after_newest["release"], "the newest month loaded releases"
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        status = dict(conn.execute(sa.text(
            "SELECT month, status FROM discogs_data_processing")).all())
        historical = conn.execute(sa.text(
            "SELECT month, entity FROM month_changes WHERE historical")).all()
    engine.dispose()
    assert status == dict.fromkeys(MONTHS, "completed")
    assert sorted(historical) == sorted((m, e) for m in MONTHS[:-1] for e in ENTITIES)
