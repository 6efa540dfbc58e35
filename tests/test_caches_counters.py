"""Counters: the two named sets, the stale-reference figures, and the span in both Sentry modes
(received by a stand-in through the SDK's real transport)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sentry_sdk
from orchestration_helpers import SentryStandIn
from pytest_httpserver import HTTPServer

from discogs_assets.lib.caches import (
    LmlCounters,
    LocalCounters,
    sentry_span,
    stale_references,
)


def test_each_identity_is_resolved_or_an_error_and_names_say_whose() -> None:
    lml = LmlCounters()
    for outcome, release, artists in (("warmed", True, 2), ("warmed", False, 1),
                                      ("not_found", False, 0), ("not_implemented", False, 0),
                                      ("error", True, 5)):
        lml.record(outcome, release_warmed=release, artists_warmed=artists)
    lml.record_failed_batch(3)
    assert lml.as_metadata() == {
        "lml.identities_scanned": 8, "lml.identities_resolved": 4,
        "lml.warmed_releases": 1, "lml.warmed_artists": 3,  # an error warms nothing
        "lml.not_found": 1, "lml.not_implemented": 1, "lml.lml_error": 4,
    }
    local = LocalCounters()
    local.record("error")
    assert local.as_metadata()["local.error"] == 1
    assert set(local.as_metadata()) == {f"local.{k.split('.')[1]}" for k in lml.as_metadata()
                                        if k != "lml.lml_error"} | {"local.error"}
    with pytest.raises(ValueError, match="unknown outcome 'great'"):
        local.record("great")


def test_stale_references_prefer_the_service_and_fall_back_to_the_local_warm() -> None:
    lml = LmlCounters(identities_scanned=100, not_found=1)
    local = {"local.not_found": 2, "local.identities_scanned": 100}
    first = stale_references(lml, local)
    assert (first.basis, first.ratio, first.passed) == ("lml", 0.01, True)  # 1 % still passes
    fallback = stale_references(None, local)
    assert (fallback.basis, fallback.ratio, fallback.passed) == ("local", 0.02, False)
    assert not stale_references(None, None).passed  # no counters at all: nothing vouches


@pytest.fixture(params=["static", "stream"])
def sentry(request: pytest.FixtureRequest, httpserver: HTTPServer) -> Iterator[SentryStandIn]:
    stand_in = SentryStandIn(httpserver)
    sentry_sdk.init(dsn=stand_in.dsn, traces_sample_rate=1.0, default_integrations=False,
                    trace_lifecycle=request.param)
    yield stand_in
    sentry_sdk.init(dsn=None, default_integrations=False)


def test_one_span_carries_every_counter_as_a_number(sentry: SentryStandIn) -> None:
    counters = {**LmlCounters(identities_scanned=10, not_found=2).as_metadata(),
                "skipped_discogs_unavailable": 3}
    with sentry_span(counters, name="identity caches: LML refresh"):
        pass
    sentry_sdk.flush()
    transactions = sentry.items("transaction")
    if transactions:  # the transaction API: the counters are its trace-context data
        (payload,) = transactions
        data = {k: v for k, v in payload["contexts"]["trace"]["data"].items() if k in counters}
    else:  # span streaming: typed attributes
        (batch,) = sentry.items("span")
        (span,) = batch["items"]
        assert all(span["attributes"][k]["type"] == "integer" for k in counters)
        data = {k: span["attributes"][k]["value"] for k in counters}
    assert data == counters
    assert all(type(v) is int for v in data.values())


def test_without_a_sentry_client_the_span_is_a_no_op() -> None:
    with sentry_span({"lml.not_found": 1}, name="x") as span:
        assert span is not None
