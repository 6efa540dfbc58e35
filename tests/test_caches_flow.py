"""The asset's sequence: import identities, warm locally, refresh remotely, merge the counters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from caches_helpers import API_KEY, ListLog, lml_server, sent_batches

from discogs_assets.lib.caches import (
    RemoteRefreshConfig,
    import_identities,
    refresh_remote,
    warm_local,
)
from discogs_assets.lib.warehouse import make_engine, run_models

# The LML test server answers by id prefix (see caches_helpers.LmlServer).
IDENTITIES = """identity_id,source,external_id,active,discogs_unavailable,discogs_unavailable_note
ok-1,discogs_release,5,,,
nf-2,discogs_release,6,,,
ni-3,spotify_album,abc,,,
a3-4,bandcamp,https://x.bandcamp.com/album/y,,,
flag-5,discogs_release,7,true,true,false match
off-6,discogs_release,8,false,,
"""


@pytest.fixture
def engine(warehouse_url: str, tmp_path: Path) -> Iterator[sa.Engine]:
    engine = make_engine(warehouse_url)
    run_models(engine)  # an empty warehouse: every Discogs record is missing locally
    csv = tmp_path / "identities.csv"
    csv.write_text(IDENTITIES)
    import_identities(engine, csv)
    yield engine
    engine.dispose()


def test_local_then_remote_counts_each_identity_once(engine: sa.Engine) -> None:
    log = ListLog()
    local = warm_local(engine, "2026-02", log)
    assert local.outcomes == {"ok-1": "not_found", "nf-2": "not_found",
                              "ni-3": "not_implemented", "a3-4": "not_implemented"}
    with lml_server() as lml:
        cfg = RemoteRefreshConfig(base_url=lml.url, api_key=API_KEY, batches_per_minute=6000)
        merged = refresh_remote(engine, cfg, local, log)
    assert sent_batches(lml) == [["a3-4", "nf-2", "ni-3", "ok-1"]]  # never flag-5 or off-6
    assert merged.as_metadata() == {
        "identities_scanned": 5,
        "identities_resolved": 4,
        "warmed_releases": 2,  # ok-1 and a3-4 warmed by the remote service
        "warmed_artists": 2 + 2,  # ok-1: 2 of 2; a3-4: 2 of 3
        "not_found": 1,
        "not_implemented": 1,
        "lml_error": 0,
        "skipped_discogs_unavailable": 1,
    }
    assert API_KEY not in log.text()


def test_dry_run_leaves_the_counters_as_they_were(engine: sa.Engine) -> None:
    local = warm_local(engine, "2026-02", ListLog())
    with lml_server() as lml:
        cfg = RemoteRefreshConfig(base_url=lml.url, api_key=API_KEY, dry_run=True)
        merged = refresh_remote(engine, cfg, local, log := ListLog())
    assert lml.requests == []
    assert merged.as_metadata() == local.as_metadata()
    assert "would send 4 identities in 1 batches" in log.text()
