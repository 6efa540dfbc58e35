"""One month as an operator runs it: ``dagster asset materialize`` with the default
multiprocess executor, against a dump host that answers the releases file late, so the month's
steps really overlap (labels are parsed and loaded while releases still download)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from discogs_assets.lib.acquisition.mirror_server import Fault, FaultPlan, MirrorServer
from discogs_assets.lib.caches import import_identities
from discogs_assets.lib.lifecycle import CHECKSUM_STEP, EntityPhase, MonthLifecycle
from discogs_assets.lib.sample_mirror import build_sample_mirror
from discogs_assets.lib.tables import ENTITIES
from discogs_assets.lib.warehouse import make_engine, run_models

REPO = Path(__file__).resolve().parents[1]
MONTH = "2026-01"
RELEASES = "discogs_20260101_releases.xml.gz"
RELEASES_LATE_MAX_S = 240.0
MONTH_ASSETS = ",".join(["discogs_checksum", *(f"{stage}_{e}" for stage in
                         ("raw", "parsed", "warehouse") for e in ENTITIES), "identity_caches"])


def dagster_env(tmp_path: Path, dumps_url: str, warehouse_url: str) -> dict[str, str]:
    """The environment of an operator's shell: a DAGSTER_HOME, the project's settings."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCOGS_", "LML_"))}
    env.pop("SENTRY_DSN", None)
    env.update(DAGSTER_HOME=str(home), DISCOGS_DATA_DIR=str(tmp_path / "data"),
               DISCOGS_DUMPS_URL=dumps_url, DISCOGS_WAREHOUSE_URL=warehouse_url,
               DISCOGS_INGESTION_ENABLED="true")
    return env


@pytest.mark.slow
def test_month_with_overlapping_steps_completes_through_the_multiprocess_executor(
    tmp_path: Path, pg_url: str
) -> None:
    mirror = tmp_path / "mirror"
    build_sample_mirror(mirror, months=[MONTH], scale=1)
    engine = make_engine(pg_url)
    run_models(engine)
    import_identities(engine, mirror / "identities.csv")
    lifecycle = MonthLifecycle(engine)

    def labels_loaded() -> bool:
        labels = lifecycle.phases(MONTH).get("labels")
        return labels is not None and labels["phase"] is EntityPhase.LOADED

    # The releases file is answered only once labels are in the warehouse (bounded wait).
    late = FaultPlan(Fault("delay", target=RELEASES, delay_seconds=RELEASES_LATE_MAX_S,
                           release_when=labels_loaded))
    with MirrorServer(mirror, faults=late) as server:
        proc = subprocess.run(
            [sys.executable, "-m", "dagster", "asset", "materialize",
             "-m", "discogs_assets.definitions", "--select", MONTH_ASSETS,
             "--partition", MONTH],
            cwd=REPO, env=dagster_env(tmp_path, server.url, pg_url),
            capture_output=True, text=True, timeout=RELEASES_LATE_MAX_S + 300,
        )
        assert late.pending == 0, "the releases file was never asked for"
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert "MULTIPROCESS" in output.upper() or "multiprocess" in output, output[-2000:]

    row = lifecycle.get(MONTH)
    assert row is not None and str(row["status"]) == "completed", row
    assert (row["retry_count"], row["failed_at"], row["last_error"]) == (0, None, None)
    phases = lifecycle.phases(MONTH)
    assert set(phases) == {CHECKSUM_STEP, *ENTITIES}
    # The steps really overlapped: labels were loaded before releases finished downloading.
    assert phases["labels"]["loaded_at"] < phases["releases"]["downloaded_at"]
    # Phase timestamps are sane per entity and for the month.
    for entity in ENTITIES:
        p = phases[entity]
        stamps = [p[c] for c in ("download_started_at", "downloaded_at", "parse_started_at",
                                 "parsed_at", "load_started_at", "loaded_at")]
        assert None not in stamps and stamps == sorted(stamps), (entity, stamps)
    assert row["download_started_at"] <= row["processing_started_at"] <= row["completed_at"]
    assert row["download_started_at"] <= row["ready_at"] <= row["completed_at"]
    assert row["completed_at"] == phases["releases"]["loaded_at"]  # releases load last
    with engine.connect() as conn:
        releases = conn.execute(sa.text("SELECT COUNT(*) FROM release")).scalar_one()
    assert releases > 0
    engine.dispose()
