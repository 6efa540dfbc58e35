"""The metrics exporter, as an operator starts it (``discogs-pipeline metrics serve`` in its own
process), over a warehouse with a good month and a silently broken one, on SQLite and
PostgreSQL; and its answers when the warehouse cannot be read (503 with the reason)."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from discogs_assets.lib.monitoring.snapshot import WarehouseUnreadable, read_snapshot
from discogs_assets.lib.parsing import PARSER_VERSION
from discogs_assets.lib.warehouse import make_engine
from tests.monitoring_helpers import BROKEN, GOOD, exporter, good_and_broken_warehouse


def scrape(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """(name, labels) -> value of every sample."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


def env_for(url: str, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "DISCOGS_WAREHOUSE_URL": url, "DISCOGS_DATA_DIR": str(data_dir)}


def test_exporter_shows_the_silent_failure_and_the_month_in_full(
    warehouse_url: str, tmp_path: Path
) -> None:
    good_and_broken_warehouse(warehouse_url, tmp_path).dispose()
    with exporter(env_for(warehouse_url, tmp_path)) as metrics_url:
        status, text = scrape(metrics_url)
    assert status == 200, text
    found = samples(text)

    assert value(found, "discogs_entity_silent_failure", month=BROKEN, entity="labels") == 1
    assert value(found, "discogs_entity_silent_failure", month=GOOD, entity="labels") == 0
    assert value(found, "discogs_silent_failure_months") == 1
    assert value(found, "discogs_months", status="completed") == 2
    assert value(found, "discogs_month_status", month=BROKEN, status="completed") == 1
    for stage in ("parsed", "loaded"):
        assert value(found, "discogs_entity_records", month=GOOD, entity="labels",
                     stage=stage) == 3
        assert value(found, "discogs_entity_records", month=BROKEN, entity="labels",
                     stage=stage) == 0
    assert value(found, "discogs_entity_changes", month=BROKEN, entity="labels",
                 change="removed") == 3
    assert value(found, "discogs_entity_changes", month=BROKEN, entity="releases",
                 change="added") == 1
    # release labels 777 and 4 are not in the warehouse; label 1 is tombstoned but present
    assert value(found, "discogs_entity_dangling_references", month=BROKEN, entity="releases",
                 reference="release_label.label_id") == 2
    assert value(found, "discogs_parser_version_info", month=GOOD, entity="masters",
                 parser_version=PARSER_VERSION) == 1
    assert value(found, "discogs_entity_parser_outdated", month=GOOD, entity="masters") == 0
    assert value(found, "discogs_identity_cache_last_run", month=GOOD,
                 counter="local.identities_scanned") == 2
    assert value(found, "discogs_identity_cache_last_run", month=GOOD,
                 counter="local.not_found") == 1
    assert value(found, "discogs_phase_bytes", month=GOOD, entity="labels",
                 phase="download") == 1006
    parquet = sum(f.stat().st_size for f in (tmp_path / "parsed" / GOOD / "labels").iterdir())
    assert value(found, "discogs_phase_bytes", month=GOOD, entity="labels",
                 phase="parse") == parquet
    assert value(found, "discogs_phase_seconds", month=GOOD, entity="releases",
                 phase="load") > 0
    assert value(found, "discogs_month_retries_exhausted", month=BROKEN) == 0
    assert value(found, "discogs_month_retries_total") == 0
    assert value(found, "discogs_last_completed_month_timestamp_seconds") == \
        value(found, "discogs_month_completed_timestamp_seconds", month=BROKEN)
    assert value(found, "discogs_data_dir_free_bytes") > 0

    for family in text_string_to_metric_families(text):  # `_total` only on counters
        assert family.name.startswith("discogs_")
        for sample in family.samples:
            assert sample.name.endswith("_total") == (family.type == "counter"), sample.name
    months = {dict(labels).get("month") for _, labels in found} - {None}
    assert months <= {GOOD, BROKEN, _current_month(found)}


def _current_month(found: dict) -> str:
    return next(dict(labels)["month"] for name, labels in found
                if name == "discogs_current_month_completed")


def test_month_label_is_bounded_by_the_window(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    engine = good_and_broken_warehouse(url, tmp_path)
    snap = read_snapshot(engine, tmp_path, months=1)
    engine.dispose()
    assert snap.window == (BROKEN,)
    assert {e["month"] for e in snap.entities} == {BROKEN}
    assert len(snap.months) == 2 and snap.silent_failure_months == 1  # totals: every month


def test_a_warehouse_not_migrated_is_reported_not_read_as_empty(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE unrelated (x INTEGER)"))
    with pytest.raises(WarehouseUnreadable, match="not migrated: discogs_data_processing, "
                       "discogs_month_phases, v_month_entities missing"):
        read_snapshot(engine, tmp_path)
    engine.dispose()


def test_unreadable_warehouse_answers_503_with_the_reason_and_the_exporter_recovers(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "later" / "warehouse.sqlite"
    url = f"sqlite:///{missing}"
    with exporter(env_for(url, tmp_path)) as metrics_url:
        status, text = scrape(metrics_url)
        assert status == 503
        assert "does not exist" in text and str(missing) in text
        assert not missing.exists()  # read-only: a scrape never creates the warehouse
        missing.parent.mkdir()
        good_and_broken_warehouse(url, tmp_path).dispose()
        status, text = scrape(metrics_url)
        assert status == 200 and "discogs_entity_silent_failure" in text

    closed = "postgresql+psycopg://monitor:s3cret-pass@127.0.0.1:1/warehouse"
    with exporter(env_for(closed, tmp_path)) as metrics_url:
        status, text = scrape(metrics_url)
        index_status, index = scrape(metrics_url.removesuffix("metrics"))
    assert status == 503
    assert text.startswith("metrics unavailable: warehouse postgresql+psycopg://monitor:***@"
                           "127.0.0.1:1/warehouse cannot be read: OperationalError")
    assert "s3cret" not in text
    assert index_status == 200 and "/metrics" in index


def test_the_command_line_stays_light() -> None:
    """The exporter's and verify's imports happen inside their subcommands."""
    code = ("import sys, discogs_assets.cli; "
            "print(sorted(m for m in ('dagster', 'prometheus_client', 'polars') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"
