"""The month lifecycle: derived status under overlapping steps, attempts, failures, waits.

Runs on SQLite and PostgreSQL. The interleaving tests drive the lifecycle the way the
multiprocess executor does: the four entities' steps in any order relative to each other,
some of them in parallel threads.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from discogs_assets.lib.lifecycle import (
    CHECKSUM_STEP,
    EntityPhase,
    MonthLifecycle,
    ProcessingStatus,
    Stage,
    derive_status,
)
from discogs_assets.lib.tables import ENTITIES
from discogs_assets.lib.warehouse import make_engine, run_models

S = ProcessingStatus
P = EntityPhase
M = "2026-02"
RANK = {S.NOT_STARTED: 0, S.DOWNLOADING: 1, S.READY_FOR_PROCESSING: 2, S.PROCESSING: 3,
        S.COMPLETED: 4}


@pytest.fixture
def lifecycle(warehouse_url: str) -> Iterator[MonthLifecycle]:
    engine = make_engine(warehouse_url)
    run_models(engine, names=["discogs_data_processing", "discogs_month_phases",
                              "dump_host_backoff"])
    yield MonthLifecycle(engine)
    engine.dispose()


def _entity_steps(entity: str) -> list[tuple[str, Stage, bool]]:
    """(owner, stage, finished?) in the order one entity's three steps report."""
    return [(entity, stage, done) for stage in Stage for done in (False, True)]


def _apply(lc: MonthLifecycle, event: tuple[str, Stage, bool], run_id: str) -> dict:
    owner, stage, done = event
    if done:
        return lc.finish_stage(M, owner, stage, run_id=run_id,
                               stats_patch={f"{stage}_{owner}": {"ok": True}})
    return lc.start_stage(M, owner, stage, run_id=run_id)


@pytest.mark.parametrize(("phases", "started", "expected"), [
    ({}, False, S.NOT_STARTED),
    ({}, True, S.DOWNLOADING),
    ({"labels": P.DOWNLOADING}, False, S.DOWNLOADING),
    ({e: P.DOWNLOADED for e in ENTITIES}, True, S.READY_FOR_PROCESSING),
    ({**{e: P.DOWNLOADED for e in ENTITIES[:3]}, "releases": P.DOWNLOADING}, True,
     S.DOWNLOADING),
    # labels parse while releases still download: the overlap of every real month
    ({"labels": P.PARSING, "releases": P.DOWNLOADING}, True, S.PROCESSING),
    ({**{e: P.LOADED for e in ENTITIES[:3]}, "releases": P.LOADING}, True, S.PROCESSING),
    ({e: P.LOADED for e in ENTITIES}, True, S.COMPLETED),
])
def test_status_is_derived_from_entity_phases(phases: dict, started: bool, expected: S) -> None:
    assert derive_status(phases, ENTITIES, started=started) is expected


@pytest.mark.parametrize("seed", range(12))
def test_any_interleaving_of_steps_completes_without_going_back(
    lifecycle: MonthLifecycle, seed: int
) -> None:
    rng = random.Random(seed)
    queues = {e: _entity_steps(e) for e in ENTITIES}
    seen = [lifecycle.start_stage(M, CHECKSUM_STEP, Stage.DOWNLOAD, run_id="r1")["status"],
            lifecycle.finish_stage(M, CHECKSUM_STEP, Stage.DOWNLOAD, run_id="r1")["status"]]
    while any(queues.values()):
        entity = rng.choice([e for e, q in queues.items() if q])
        seen.append(_apply(lifecycle, queues[entity].pop(0), "r1")["status"])
    ranks = [RANK[s] for s in seen]
    assert ranks == sorted(ranks), seen  # never back, whatever the order
    row = lifecycle.get(M)
    assert row is not None and row["status"] is S.COMPLETED
    assert set(row["stats"]) == {f"{s}_{e}" for e in ENTITIES for s in Stage}
    assert (row["retry_count"], row["failed_at"], row["last_run_id"]) == (0, None, "r1")
    assert row["download_started_at"] <= row["processing_started_at"] <= row["completed_at"]
    assert row["download_started_at"] <= row["ready_at"] <= row["completed_at"]
    for entity, phase in lifecycle.phases(M).items():
        stamps = [phase[c] for c in ("download_started_at", "downloaded_at", "parse_started_at",
                                     "parsed_at", "load_started_at", "loaded_at")
                  if entity != CHECKSUM_STEP or c in ("download_started_at", "downloaded_at")]
        assert stamps == sorted(stamps), entity


def test_parallel_steps_in_threads_lose_no_update(lifecycle: MonthLifecycle) -> None:
    """The four entities' steps really at once (one thread each), as parallel step processes
    write: every phase and every stats key arrives, and the month completes."""
    lifecycle.start_stage(M, CHECKSUM_STEP, Stage.DOWNLOAD, run_id="r1")
    errors: list[BaseException] = []

    def run(entity: str) -> None:
        try:
            for event in _entity_steps(entity):
                _apply(lifecycle, event, "r1")
        except BaseException as exc:  # surfaced below with the thread's entity
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in ENTITIES]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    row = lifecycle.get(M)
    assert row is not None and row["status"] is S.COMPLETED
    assert len(row["stats"]) == len(ENTITIES) * len(Stage)
    assert {e: p["phase"] for e, p in lifecycle.phases(M).items() if e != CHECKSUM_STEP} == \
        {e: P.LOADED for e in ENTITIES}


def test_a_failure_holds_the_month_until_another_run_starts_an_attempt(
    lifecycle: MonthLifecycle,
) -> None:
    lifecycle.start_stage(M, CHECKSUM_STEP, Stage.DOWNLOAD, run_id="r1")
    lifecycle.start_stage(M, "labels", Stage.DOWNLOAD, run_id="r1")
    lifecycle.start_stage(M, "releases", Stage.DOWNLOAD, run_id="r1")
    retry_at = datetime.now(UTC) + timedelta(hours=1)
    row = lifecycle.record_failure(M, error="raw_labels: HTTP 429", retryable=True,
                                   run_id="r1", next_retry_at=retry_at)
    assert row["status"] is S.FAILED and row["failure_retryable"] is True
    assert abs((row["next_retry_at"] - retry_at).total_seconds()) < 1
    # A sibling step of the failing run finishing later does not revive the month.
    row = lifecycle.finish_stage(M, "releases", Stage.DOWNLOAD, run_id="r1")
    assert row["status"] is S.FAILED and row["last_error"] == "raw_labels: HTTP 429"
    # The retry (another run) starts with its checksum step: a new attempt, a new timeline.
    row = lifecycle.start_stage(M, CHECKSUM_STEP, Stage.DOWNLOAD, run_id="r2")
    assert row["status"] is S.DOWNLOADING
    assert (row["retry_count"], row["failed_at"], row["next_retry_at"]) == (1, None, None)
    assert row["failure_retryable"] is None and row["last_error"] == "raw_labels: HTTP 429"
    assert set(lifecycle.phases(M)) == {CHECKSUM_STEP}
    # A non-retryable failure, then a partial rerun from the UI (one step, no checksum step).
    lifecycle.record_failure(M, error="shrink guard", retryable=False, run_id="r2")
    row = lifecycle.start_stage(M, "labels", Stage.LOAD, run_id="r3")
    assert (row["status"], row["retry_count"]) == (S.PROCESSING, 2)


def test_a_rerun_of_a_completed_month_is_not_a_retry(lifecycle: MonthLifecycle) -> None:
    lifecycle.start_stage(M, CHECKSUM_STEP, Stage.DOWNLOAD, run_id="r1")
    for entity in ENTITIES:
        for event in _entity_steps(entity):
            _apply(lifecycle, event, "r1")
    assert lifecycle.get(M)["status"] is S.COMPLETED
    row = lifecycle.start_stage(M, "labels", Stage.LOAD, run_id="ui-run")
    assert (row["status"], row["completed_at"], row["retry_count"]) == (S.PROCESSING, None, 0)
    row = lifecycle.finish_stage(M, "labels", Stage.LOAD, run_id="ui-run")
    assert row["status"] is S.COMPLETED and row["completed_at"] is not None


def test_gate_hold_in_flight_and_on_a_completed_month(lifecycle: MonthLifecycle) -> None:
    lifecycle.start_stage(M, "labels", Stage.PARSE, run_id="r1")
    row = lifecycle.mark_gate_disabled(M, note="gate disabled: off by ops", run_id="r1")
    assert (row["status"], row["gate_disabled"], row["failure_retryable"]) == (
        S.FAILED, True, False)
    row = lifecycle.release_gate_hold(M, note="gate on again")
    assert (row["status"], row["gate_disabled"], row["gate_note"]) == (
        S.FAILED, False, "gate on again")
    done = "2026-01"
    lifecycle.start_stage(done, CHECKSUM_STEP, Stage.DOWNLOAD, run_id="r0")
    for entity in ENTITIES:
        lifecycle.finish_stage(done, entity, Stage.LOAD, run_id="r0")
    row = lifecycle.mark_gate_disabled(done, note="queued rerun cancelled")
    assert (row["status"], row["gate_disabled"]) == (S.COMPLETED, True)


def test_checksum_seen_keeps_the_first_sighting_until_republished(
    lifecycle: MonthLifecycle,
) -> None:
    t0 = datetime(2026, 2, 3, 10, tzinfo=UTC)
    lifecycle.record_checksum_seen(M, sha256="a" * 64, listed_at=t0, seen_at=t0)
    lifecycle.record_checksum_seen(M, sha256="a" * 64, listed_at=t0,
                                   seen_at=t0 + timedelta(days=1))
    seen = lifecycle.get(M)["stats"]["checksum_seen"]
    assert seen["seen_at"] == t0.isoformat() and seen["listed_at"] == t0.isoformat()
    later = t0 + timedelta(days=2)
    lifecycle.record_checksum_seen(M, sha256="b" * 64, listed_at=None, seen_at=later)
    seen = lifecycle.get(M)["stats"]["checksum_seen"]
    assert (seen["sha256"], seen["seen_at"], seen["listed_at"]) == ("b" * 64, later.isoformat(),
                                                                     None)


def test_host_backoff_only_grows_and_expires(lifecycle: MonthLifecycle) -> None:
    now = datetime.now(UTC)
    assert lifecycle.host_backoff_until("data.discogs.com", now) is None
    lifecycle.record_host_backoff("data.discogs.com", now + timedelta(hours=1), "429 on labels")
    lifecycle.record_host_backoff("data.discogs.com", now + timedelta(minutes=5), "shorter")
    until, reason = lifecycle.host_backoff_until("data.discogs.com", now)
    assert abs((until - now - timedelta(hours=1)).total_seconds()) < 1
    assert reason == "429 on labels"
    assert lifecycle.host_backoff_until("127.0.0.1", now) is None
    assert lifecycle.host_backoff_until("data.discogs.com", now + timedelta(hours=2)) is None


def test_unknown_owner_and_bad_month_are_refused(lifecycle: MonthLifecycle) -> None:
    with pytest.raises(ValueError, match="unknown lifecycle step owner 'tracks'"):
        lifecycle.start_stage(M, "tracks", Stage.PARSE, run_id="r1")
    with pytest.raises(ValueError, match="not a month"):
        lifecycle.record_stats("2026-13", {"x": 1})


def test_database_checks_reject_unknown_status_and_phase(lifecycle: MonthLifecycle) -> None:
    lifecycle.start_stage(M, "labels", Stage.DOWNLOAD, run_id="r1")
    for statement in ("UPDATE discogs_data_processing SET status = 'bogus'",
                      "UPDATE discogs_month_phases SET phase = 'bogus'"):
        with pytest.raises(sa.exc.DBAPIError), lifecycle.engine.begin() as conn:
            conn.execute(sa.text(statement))
