"""The new-dump sensor against a real HTTP stand-in of the dump host (requests counted)."""

import hashlib
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
import time_machine

from discogs_assets.lib.acquisition.mirror_server import Fault, FaultPlan, MirrorServer
from discogs_assets.lib.sample_mirror import build_sample_mirror
from sensors.new_dump import new_dump_sensor
from tests.orchestration_helpers import Env, dump_source, make_env

MONTH = "2026-03"
NOW = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def mirror_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mirror")
    build_sample_mirror(root, months=["2026-02", MONTH])
    return root


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


@pytest.fixture(autouse=True)
def frozen_now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


def _checksum(root: Path) -> Path:
    return next((root / "data" / "2026").glob("discogs_202603*_CHECKSUM.txt"))


def _tick(env: Env, server: MirrorServer, instance: dg.DagsterInstance,
          cursor: str | None) -> dg.SensorResult:
    with dg.build_sensor_context(
        instance=instance, cursor=cursor,
        resources=env.resources(dump_source=dump_source(server.url))) as context:
        return new_dump_sensor(context)


def test_new_dump_then_same_dump_then_republished(
    env: Env, mirror_root: Path, tmp_path: Path
) -> None:
    root = tmp_path / "mirror"
    shutil.copytree(mirror_root, root)
    checksum = _checksum(root)
    with dg.DagsterInstance.ephemeral() as instance, MirrorServer(root) as server:
        first = _tick(env, server, instance, None)
        assert len(first.run_requests) == 1
        request = first.run_requests[0]
        sha = hashlib.sha256(checksum.read_bytes()).hexdigest()
        assert request.run_key == f"{MONTH}:{sha}"
        assert request.partition_key == MONTH
        assert request.run_config["ops"]["discogs_checksum"]["config"]["refresh_listing"] is True
        assert len(server.requests) == 2  # the year listing + the CHECKSUM

        # The same dump again: one listing request, no fetch, no run.
        second = _tick(env, server, instance, first.cursor)
        assert not second.run_requests
        assert "already requested" in second.skip_reason.skip_message
        assert len(server.requests) == 3

        # Re-published: new CHECKSUM bytes (and a new listing time) -> a new run key.
        checksum.write_text(checksum.read_text() + "\n")
        os.utime(checksum, (NOW.timestamp() + 60, NOW.timestamp() + 60))
        third = _tick(env, server, instance, second.cursor)
        assert len(third.run_requests) == 1
        new_sha = hashlib.sha256(checksum.read_bytes()).hexdigest()
        assert third.run_requests[0].run_key == f"{MONTH}:{new_sha}" != request.run_key
        assert len(server.requests) == 5

    # The freshness check needs to know when the CHECKSUM appeared.
    row = env.warehouse.processing().get(MONTH)
    assert row is not None and row["stats"]["checksum_seen"]["sha256"] == new_sha
    assert str(row["status"]) == "not_started"


def test_listing_rate_limited_backs_off_without_further_requests(
    env: Env, mirror_root: Path
) -> None:
    faults = FaultPlan(Fault("status", target="listing", status=429,
                             headers={"Retry-After": "3600"}))
    with dg.DagsterInstance.ephemeral() as instance, \
            MirrorServer(mirror_root, faults=faults) as server:
        first = _tick(env, server, instance, None)
        assert not first.run_requests
        assert "listing failed" in first.skip_reason.skip_message
        assert "429" in first.skip_reason.skip_message
        assert len(server.requests) == 1
        # Recorded for every process (schedule, retry sensor, steps), not only this sensor.
        not_before, reason = env.lifecycle().host_backoff_until("127.0.0.1", NOW)
        assert abs((not_before - NOW).total_seconds() - 3600) < 60 and "429" in reason
        second = _tick(env, server, instance, first.cursor)
        assert "asked us to wait" in second.skip_reason.skip_message
        assert len(server.requests) == 1  # no request while the host's Retry-After runs
    with time_machine.travel(datetime(2026, 3, 20, 10, 1, tzinfo=UTC), tick=True), \
            dg.DagsterInstance.ephemeral() as instance, MirrorServer(mirror_root) as server:
        third = _tick(env, server, instance, second.cursor)
        assert len(third.run_requests) == 1 and len(server.requests) == 2


def test_month_not_published_skips_with_the_reason(env: Env, tmp_path: Path) -> None:
    root = tmp_path / "empty-mirror"
    build_sample_mirror(root, months=["2026-02"])
    with dg.DagsterInstance.ephemeral() as instance, MirrorServer(root) as server:
        result = _tick(env, server, instance, None)
        assert not result.run_requests
        assert "no dump published for 2026-03" in result.skip_reason.skip_message
        assert len(server.requests) == 1


def test_incomplete_dump_without_checksum_is_not_requested(
    env: Env, mirror_root: Path, tmp_path: Path
) -> None:
    root = tmp_path / "mirror"
    shutil.copytree(mirror_root, root)
    _checksum(root).unlink()  # data files listed, CHECKSUM not yet written
    with dg.DagsterInstance.ephemeral() as instance, MirrorServer(root) as server:
        result = _tick(env, server, instance, None)
        assert not result.run_requests
        assert "CHECKSUM not yet published" in result.skip_reason.skip_message


@pytest.mark.parametrize("how", ["env", "table"])
def test_gate_off_skips_before_any_request(
    tmp_path: Path, mirror_root: Path, how: str
) -> None:
    env = make_env(tmp_path, gate=how == "table")
    if how == "table":
        env.flip(False)  # the table wins over DISCOGS_INGESTION_ENABLED=true
    with dg.DagsterInstance.ephemeral() as instance, MirrorServer(mirror_root) as server:
        result = _tick(env, server, instance, None)
        assert not result.run_requests
        assert "Discogs ingestion is gated" in result.skip_reason.skip_message
        assert server.requests == []
        env.flip(True)
        assert len(_tick(env, server, instance, result.cursor).run_requests) == 1


def test_listing_refused_for_good_skips_and_asks_again_next_tick(
    env: Env, mirror_root: Path
) -> None:
    faults = FaultPlan(Fault("status", target="listing", status=404))
    with dg.DagsterInstance.ephemeral() as instance, \
            MirrorServer(mirror_root, faults=faults) as server:
        first = _tick(env, server, instance, None)
        assert not first.run_requests
        assert "HTTP 404" in first.skip_reason.skip_message
        # No Retry-After to honour, and a refusal is not a rate limit: no wait recorded.
        assert env.lifecycle().host_backoff_until("127.0.0.1", NOW) is None
        second = _tick(env, server, instance, first.cursor)
        assert len(second.run_requests) == 1 and len(server.requests) == 3
