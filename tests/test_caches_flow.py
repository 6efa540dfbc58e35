"""The two identity-cache assets through Dagster: the local warm, then the LML refresh of the
newest month, each with its own counters in the metadata and in a Sentry span that reaches a
Sentry stand-in through the SDK's real transport."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sentry_sdk
from caches_helpers import API_KEY, lml_server
from lifecycle_helpers import drive_to
from orchestration_helpers import Env, SentryStandIn, make_env
from pytest_httpserver import HTTPServer

from discogs_assets.cli import main
from discogs_assets.defs.caches import identity_caches, lml_cache_refresh
from discogs_assets.instance import LML_POOL
from discogs_assets.lib.caches import import_identities
from discogs_assets.lib.caches import lml_stand_in as lml
from discogs_assets.lib.caches.lml_stand_in import LmlStandIn
from resources.caches import CacheRefreshResource

MONTH, OLDER = "2026-02", "2026-01"
# The warehouse holds no Discogs record: locally, every Discogs identity is not_found.
IDENTITIES = """identity_id,source,external_id,active,discogs_unavailable,discogs_unavailable_note
100,discogs_release,5,,,
20,discogs_release,6,,,
3,spotify_album,abc,,,
4,bandcamp,https://x.bandcamp.com/album/y,,,
50,discogs_release,7,true,true,false match
60,discogs_release,8,false,,
"""
ANSWERS = {20: lml.NOT_FOUND, 3: lml.NOT_IMPLEMENTED, 4: lml.WARMED_PARTIAL}


@pytest.fixture
def env(tmp_path: Path, warehouse_url: str) -> Env:
    env = make_env(tmp_path, warehouse_url)
    csv = tmp_path / "identities.csv"
    csv.write_text(IDENTITIES)
    import_identities(env.warehouse.migrate(), csv)
    drive_to(env.lifecycle(), MONTH, "completed")
    return env


@pytest.fixture
def sentry(httpserver: HTTPServer) -> Iterator[SentryStandIn]:
    """A global Sentry client (as the process-level init makes one) sending to a stand-in."""
    stand_in = SentryStandIn(httpserver)
    sentry_sdk.init(dsn=stand_in.dsn, traces_sample_rate=1.0, default_integrations=False)
    yield stand_in
    sentry_sdk.init(dsn=None, default_integrations=False)  # back to an inactive client


def materialize(env: Env, server: LmlStandIn, month: str, *, force: bool = False,
                dry_run: bool = False) -> dg.ExecuteInProcessResult:
    refresh = CacheRefreshResource(base_url=server.url, api_key=API_KEY,
                                   batches_per_minute=6000, dry_run=dry_run)
    return dg.materialize(
        [identity_caches, lml_cache_refresh], partition_key=month,
        resources=env.resources(cache_refresh=refresh),
        run_config={"ops": {"lml_cache_refresh": {"config": {"force": force}}}})


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    (event,) = result.asset_materializations_for_node(asset)
    return {k: v.value for k, v in event.metadata.items()}


def check(result: dg.ExecuteInProcessResult) -> tuple[bool, dict[str, Any]]:
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation.passed, {k: v.value for k, v in evaluation.metadata.items()}


def test_local_and_remote_counters_apart_and_one_span_each(
        env: Env, sentry: SentryStandIn) -> None:
    with lml_server(answers=ANSWERS) as server:
        result = materialize(env, server, MONTH)
    assert result.success
    assert [r.ids for r in server.requests] == [[], [3, 4, 20, 100]]  # probe, one batch
    local = {k: v for k, v in metadata(result, "identity_caches").items() if k != "documents"}
    assert local == {
        "local.identities_scanned": 4, "local.identities_resolved": 4,
        "local.warmed_releases": 0, "local.warmed_artists": 0,
        "local.not_found": 2, "local.not_implemented": 2, "local.error": 0,
        "skipped_discogs_unavailable": 1,
    }
    remote = metadata(result, "lml_cache_refresh")
    assert remote == {
        "remote_refresh": "refreshed", "remote_refresh_reason": f"{MONTH} is the newest month",
        # only what the service answered: 100 warmed, 4 warmed (2 of 3 artists), 20 not found
        "lml.identities_scanned": 4, "lml.identities_resolved": 4,
        "lml.warmed_releases": 2, "lml.warmed_artists": 4,
        "lml.not_found": 1, "lml.not_implemented": 1, "lml.lml_error": 0,
        "skipped_discogs_unavailable": 1,
    }
    passed, figures = check(result)
    assert not passed and figures["basis"] == "lml" and figures["not_found_ratio"] == 0.25

    sentry_sdk.flush()
    spans = {t["transaction"]: t["contexts"]["trace"]["data"]
             for t in sentry.items("transaction")}
    assert set(spans) == {"identity caches: local warm", "identity caches: LML refresh"}
    for name, expected in (("identity caches: local warm", local),
                           ("identity caches: LML refresh",
                            {k: v for k, v in remote.items() if isinstance(v, int)})):
        data = {k: v for k, v in spans[name].items() if k in expected}
        assert data == expected
        assert all(type(v) is int for v in data.values())  # numbers stay numbers


def test_an_older_month_refreshes_only_when_forced(env: Env) -> None:
    drive_to(env.lifecycle(), OLDER, "completed")
    with lml_server(answers=ANSWERS) as server:
        skipped = materialize(env, server, OLDER)
        assert server.requests == []
        dry = materialize(env, server, OLDER, force=True, dry_run=True)
        assert server.requests == []
        forced = materialize(env, server, OLDER, force=True)
    assert metadata(skipped, "lml_cache_refresh") == {
        "remote_refresh": "skipped",
        "remote_refresh_reason": f"{MONTH} is newer (completed); the refresh runs once, for "
                                 "the newest month (run config force: true refreshes anyway)"}
    passed, figures = check(skipped)  # no answer from the service: the local warm's figures
    assert not passed and (figures["basis"], figures["not_found"], figures["scanned"]) == (
        "local", 2, 4)
    assert metadata(dry, "lml_cache_refresh")["remote_refresh"] == "dry_run"
    assert check(dry)[1]["basis"] == "local"
    assert metadata(forced, "lml_cache_refresh")["lml.identities_scanned"] == 4
    assert len(server.batches()) == 1


def test_only_the_remote_refresh_is_in_the_pool_and_init_home_limits_it_to_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert lml_cache_refresh.op.pool == LML_POOL
    assert identity_caches.op.pool is None
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert main(["init-home"]) == 0
    with dg.DagsterInstance.get() as instance:
        assert instance.event_log_storage.get_concurrency_info(LML_POOL).slot_count == 1
        instance.event_log_storage.set_concurrency_slots(LML_POOL, 2)  # an operator's choice
    assert main(["init-home"]) == 0
    with dg.DagsterInstance.get() as instance:
        assert instance.event_log_storage.get_concurrency_info(LML_POOL).slot_count == 2
