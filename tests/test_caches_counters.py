"""Counters: merging two passes, the stale-reference ratio, and the one Sentry span."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from discogs_assets.lib.caches import CacheCounters, not_found_ratio, sentry_span
from discogs_assets.lib.caches.counters import COUNTER_NAMES, NOT_FOUND_RATIO_LIMIT


def counters(scanned: int, skipped: int, outcomes: dict[str, str], **work: int) -> CacheCounters:
    c = CacheCounters(identities_scanned=scanned, skipped_discogs_unavailable=skipped, **work)
    for identity_id, outcome in outcomes.items():
        c.record(identity_id, outcome)
    return c


def test_merging_counts_each_identity_once() -> None:
    local = counters(6, 1, {"a": "warmed", "b": "not_found", "c": "not_implemented",
                            "d": "warmed", "e": "error"},
                     warmed_releases=2, warmed_artists=5)
    local.documents = {"cache_release_inserted": 2}
    remote = counters(6, 1, {"a": "warmed", "b": "not_found", "c": "warmed", "d": "error",
                             "e": "warmed"}, warmed_releases=3, warmed_artists=4, lml_error=1)
    merged = local.merged(remote)
    assert merged.outcomes == {"a": "warmed", "b": "not_found", "c": "warmed", "d": "error",
                               "e": "error"}
    assert merged.as_metadata() == {
        "identities_scanned": 6,
        "identities_resolved": 3,
        "warmed_releases": 5,
        "warmed_artists": 9,
        "not_found": 1,
        "not_implemented": 0,
        "lml_error": 1,
        "skipped_discogs_unavailable": 1,
    }
    assert merged.documents == {"cache_release_inserted": 2}
    assert tuple(merged.as_metadata()) == COUNTER_NAMES
    with pytest.raises(ValueError, match="unknown outcome 'great'"):
        merged.record("x", "great")


def test_not_found_ratio() -> None:
    assert not_found_ratio(CacheCounters()) == 0.0
    ok = counters(100, 0, {"a": "not_found"})
    stale = counters(100, 0, {"a": "not_found", "b": "not_found"})
    assert not_found_ratio(ok) == 0.01
    assert not not_found_ratio(ok) > NOT_FOUND_RATIO_LIMIT  # exactly 1 % still passes
    assert not_found_ratio(stale) > NOT_FOUND_RATIO_LIMIT


CAPTURED: list[Envelope] = []


class _Capture(Transport):
    def capture_envelope(self, envelope: Envelope) -> None:
        CAPTURED.append(envelope)


@pytest.fixture(params=["static", "stream"])
def sentry_envelopes(request: pytest.FixtureRequest) -> Iterator[list[Envelope]]:
    """A real Sentry client (legacy or span-streaming mode) whose transport keeps the
    envelopes instead of sending them."""
    CAPTURED.clear()
    sentry_sdk.init(dsn="https://key@o0.ingest.sentry.io/1", transport=_Capture,
                    traces_sample_rate=1.0, default_integrations=False,
                    trace_lifecycle=request.param)
    yield CAPTURED
    sentry_sdk.init(dsn=None, default_integrations=False)  # back to an inactive client


def test_one_span_carries_every_counter_as_a_number(sentry_envelopes: list[Envelope]) -> None:
    run = counters(10, 2, {"a": "warmed", "b": "not_found"}, warmed_releases=1,
                   warmed_artists=3, lml_error=1)
    with sentry_span(run):
        pass
    sentry_sdk.flush()
    payloads = [item.payload.json for env in sentry_envelopes for item in env.items]
    assert len(payloads) == 1
    payload = payloads[0]
    if "items" in payload:  # streamed span: typed attributes
        (span,) = payload["items"]
        data = {k: v["value"] for k, v in span["attributes"].items() if k in COUNTER_NAMES}
        assert all(span["attributes"][k]["type"] == "integer" for k in COUNTER_NAMES)
    else:  # a transaction: the counters are its trace-context data
        data = {k: v for k, v in payload["contexts"]["trace"]["data"].items()
                if k in COUNTER_NAMES}
    assert data == run.as_metadata()
    assert all(type(v) is int for v in data.values())


def test_without_a_sentry_client_the_span_is_a_no_op() -> None:
    with sentry_span(CacheCounters()) as span:
        assert span is not None
