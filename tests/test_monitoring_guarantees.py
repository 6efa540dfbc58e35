"""The database-level guarantee against silent failures and the health views, on SQLite and
PostgreSQL: an entity is never loaded with zero records without a note (so no month completes
that way), existing warehouses get the guarantee through the models, and v_month_entities,
v_health_summary and v_parser_performance report what the lifecycle recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from discogs_assets.lib.lifecycle import (
    ZERO_RECORDS_CONSTRAINT,
    MonthLifecycle,
    ProcessingStatus,
    Stage,
    ZeroRecordsRefused,
)
from discogs_assets.lib.parsing import PARSER_VERSION
from discogs_assets.lib.tables import ENTITIES
from discogs_assets.lib.warehouse import make_engine, run_models
from discogs_assets.lib.warehouse.models import list_models, model_statements
from tests.lifecycle_helpers import drive_to
from tests.monitoring_helpers import BROKEN, GOOD, good_and_broken_warehouse

S = ProcessingStatus
M = "2026-10"


@pytest.fixture
def lifecycle(warehouse_url: str) -> Iterator[MonthLifecycle]:
    engine = make_engine(warehouse_url)
    run_models(engine)
    yield MonthLifecycle(engine)
    engine.dispose()


def _to_loading(lc: MonthLifecycle, month: str = M) -> None:
    drive_to(lc, month, "processing", run_id="r1")
    for entity in ENTITIES:
        lc.finish_stage(month, entity, Stage.PARSE, run_id="r1", records=5)
        lc.start_stage(month, entity, Stage.LOAD, run_id="r1")


def test_an_entity_loaded_with_zero_records_needs_a_note(lifecycle: MonthLifecycle) -> None:
    _to_loading(lifecycle)
    with pytest.raises(ZeroRecordsRefused, match="labels of 2026-10 loaded 0 records"):
        lifecycle.finish_stage(M, "labels", Stage.LOAD, run_id="r1", records=0)
    for entity in ENTITIES[1:]:
        row = lifecycle.finish_stage(M, entity, Stage.LOAD, run_id="r1", records=5)
    assert row["status"] is S.PROCESSING  # labels never got to 'loaded'
    assert lifecycle.phases(M)["labels"]["phase"] == "loading"
    with pytest.raises(ValueError, match="must say how many records"):
        lifecycle.finish_stage(M, "labels", Stage.LOAD, run_id="r1")

    row = lifecycle.finish_stage(M, "labels", Stage.LOAD, run_id="r1", records=0,
                                 note="operator override")
    assert row["status"] is S.COMPLETED
    labels = lifecycle.phases(M)["labels"]
    assert (labels["records_loaded"], labels["note"]) == (0, "operator override")


def test_hand_written_sql_cannot_complete_an_empty_entity_either(
    lifecycle: MonthLifecycle,
) -> None:
    drive_to(lifecycle, M, "completed", records=7)
    with pytest.raises(sa.exc.IntegrityError, match=ZERO_RECORDS_CONSTRAINT), \
            lifecycle.engine.begin() as conn:
        conn.execute(sa.text("UPDATE discogs_month_phases SET records_loaded = 0 "
                             "WHERE month = :m AND entity = 'releases'"), {"m": M})
    assert lifecycle.phases(M)["releases"]["records_loaded"] == 7


def test_figures_are_cleared_when_a_phase_is_entered_again(lifecycle: MonthLifecycle) -> None:
    _to_loading(lifecycle)
    lifecycle.finish_stage(M, "labels", Stage.LOAD, run_id="r1", records=0, note="override")
    lifecycle.start_stage(M, "labels", Stage.LOAD, run_id="r2")  # a rerun of the load
    labels = lifecycle.phases(M)["labels"]
    assert (labels["records_parsed"], labels["records_loaded"], labels["note"]) == (5, None, None)
    lifecycle.start_stage(M, "labels", Stage.PARSE, run_id="r2", parser_version="2")
    labels = lifecycle.phases(M)["labels"]
    assert (labels["records_parsed"], labels["parser_version"]) == (None, "2")


def test_an_existing_warehouse_gets_the_columns_and_the_check(warehouse_url: str) -> None:
    """A phase table created before the columns existed (its original CREATE TABLE, with a
    loaded row in it) is migrated by the models: the row keeps its data, with unknown (NULL)
    counts, and new rows are held to the CHECK. A second run changes nothing."""
    engine = make_engine(warehouse_url)
    run_models(engine, names=["discogs_data_processing"])
    phases = next(m for m in list_models() if m.name == "discogs_month_phases")
    original = model_statements(phases, engine.dialect.name)[0]
    assert original.startswith("CREATE TABLE") and "records_loaded" not in original
    with engine.begin() as conn:
        conn.exec_driver_sql(original)
        conn.execute(sa.text(
            "INSERT INTO discogs_month_phases (month, entity, phase, updated_at, loaded_at) "
            "VALUES ('2025-01', 'labels', 'loaded', '2025-01-05T00:00:00+00:00', "
            "'2025-01-05T00:00:00+00:00')"))

    run_models(engine)
    run_models(engine)

    checks = {c["name"] for c in sa.inspect(engine).get_check_constraints("discogs_month_phases")}
    assert ZERO_RECORDS_CONSTRAINT in checks
    with engine.connect() as conn:
        legacy = conn.execute(sa.text(
            "SELECT phase, records_parsed, records_loaded, note FROM discogs_month_phases"
        )).one()
    assert tuple(legacy) == ("loaded", None, None, None)
    with pytest.raises(sa.exc.IntegrityError, match=ZERO_RECORDS_CONSTRAINT), \
            engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO discogs_month_phases (month, entity, phase, updated_at, "
            "records_loaded) VALUES ('2025-02', 'labels', 'loaded', "
            "'2025-02-05T00:00:00+00:00', 0)"))
    engine.dispose()


def test_health_views_over_a_good_a_broken_and_a_failed_month(
    warehouse_url: str, tmp_path: Path
) -> None:
    engine = good_and_broken_warehouse(warehouse_url, tmp_path)
    lc = MonthLifecycle(engine)
    # A month parsed by an older parser whose labels parse failed; one still downloading.
    failed = "2026-11"
    drive_to(lc, failed, "processing", run_id="r-old")
    lc.start_stage(failed, "labels", Stage.PARSE, run_id="r-old", parser_version="0")
    lc.record_failure(failed, error="parsed_labels: broken XML", retryable=False, run_id="r-old")
    drive_to(lc, "2026-12", "downloading", run_id="r-new")

    with engine.connect() as conn:
        entities = {(r["month"], r["entity"]): r for r in conn.execute(
            sa.text("SELECT * FROM v_month_entities")).mappings()}
        summary = {r["window_days"]: dict(r) for r in conn.execute(
            sa.text("SELECT * FROM v_health_summary")).mappings()}
        parsers = {r["parser_version"]: dict(r) for r in conn.execute(
            sa.text("SELECT * FROM v_parser_performance")).mappings()}
    engine.dispose()

    assert {k for k, r in entities.items() if r["silent_failure"]} == {(BROKEN, "labels")}
    good = entities[(GOOD, "releases")]
    assert (good["records_parsed"], good["records_loaded"], good["added"]) == (3, 3, 3)
    assert good["parse_seconds"] is not None and good["load_seconds"] > 0
    broken = entities[(BROKEN, "labels")]
    assert (broken["records_loaded"], broken["removed"], broken["month_status"]) == (
        0, 3, "completed")
    assert "allow_shrink" in broken["note"]
    assert entities[(failed, "labels")]["parser_version"] == "0"

    assert set(summary) == {7, 30, 90, 365}
    for row in summary.values():  # everything happened just now: every window sees it all
        assert (row["completed"], row["failed"], row["pending"], row["silent_failures"]) == (
            2, 1, 1, 1)
        assert row["success_rate"] == pytest.approx(1 / 3)  # 1 good of 2 completed + 1 failed

    current = parsers[PARSER_VERSION]
    assert (current["months"], current["failed_months"], current["silent_failure_months"]) == (
        2, 0, 1)
    assert current["failure_rate"] == pytest.approx(0.5)
    assert current["records_parsed"] == 10 + 7  # the good month's records, then the broken one's
    assert current["records_per_s"] == pytest.approx(
        current["records_parsed"] / current["parse_seconds"])
    old = parsers["0"]
    assert (old["months"], old["failed_months"], old["failure_rate"]) == (1, 1, 1.0)
    assert old["records_parsed"] is None and old["records_per_s"] is None


def test_health_summary_windows_by_completion_time(lifecycle: MonthLifecycle) -> None:
    """A month completed 45 days ago counts in the 90- and 365-day windows only."""
    drive_to(lifecycle, "2026-08", "completed", run_id="r-aug")
    drive_to(lifecycle, "2026-10", "completed", run_id="r-oct")
    pg = lifecycle.engine.dialect.name == "postgresql"
    long_ago = "now() - interval '45 days'" if pg else \
        "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '-45 days')"
    with lifecycle.engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE discogs_data_processing SET completed_at = {long_ago} "
                             "WHERE month = '2026-08'"))
        completed = dict(conn.execute(sa.text(
            "SELECT window_days, completed FROM v_health_summary")).all())
    assert completed == {7: 1, 30: 1, 90: 2, 365: 2}
