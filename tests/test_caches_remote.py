"""The LML refresh client against a real HTTP server on 127.0.0.1 implementing the contract."""

from __future__ import annotations

import json

import httpx
import pytest
from caches_helpers import API_KEY, Fault, ListLog, lml_server, recorder, sent_batches

from discogs_assets.lib.caches import (
    LML_REFRESH_BATCH_CAP,
    RemoteRefreshConfig,
    RemoteRefreshConfigError,
    RemoteRefreshUnauthorized,
)
from discogs_assets.lib.caches.remote import RateLimiter, parse_retry_after, refresh_ids


def cfg(url: str, **kw: object) -> RemoteRefreshConfig:
    defaults: dict[str, object] = {"batches_per_minute": 6000, "batch_timeout_s": 10}
    return RemoteRefreshConfig(base_url=url, api_key=API_KEY, **{**defaults, **kw})


def test_server_implements_the_contract_limits() -> None:
    """The test server itself: 400 above the cap, 422 on an empty list, 401 on a bad key."""
    with lml_server() as lml:
        endpoint = lml.url + "/api/v1/cache/refresh-for-identities"
        auth = {"Authorization": f"Bearer {API_KEY}"}
        ids = [f"id-{n}" for n in range(51)]
        assert httpx.post(endpoint, json={"identity_ids": ids}, headers=auth).status_code == 400
        assert httpx.post(endpoint, json={"identity_ids": ids[:50]},
                          headers=auth).status_code == 200
        assert httpx.post(endpoint, json={"identity_ids": []}, headers=auth).status_code == 422
        assert httpx.post(endpoint, json={"identity_ids": ["x"]},
                          headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_batches_stay_within_the_cap_and_counters_are_exact() -> None:
    ids = ([f"ok-{n}" for n in range(100)] + [f"nf-{n}" for n in range(7)]
           + [f"ni-{n}" for n in range(5)] + [f"err-{n}" for n in range(3)]
           + [f"odd-{n}" for n in range(2)] + ["gone-1"] + [f"a4-{n}" for n in range(10)])
    log = ListLog()
    with lml_server() as lml:
        counters = refresh_ids(cfg(lml.url), ids, log)
    batches = sent_batches(lml)
    assert [len(b) for b in batches] == [50, 50, 28]
    assert sorted(i for b in batches for i in b) == sorted(ids)
    assert {r["auth"] for r in lml.requests} == {f"Bearer {API_KEY}"}
    # 100 "ok" ids warm their release and 2 artists; the 10 "a4" ones warm 3 of 4 artists.
    assert counters.as_metadata() == {
        "identities_scanned": 0,  # set by refresh_remote, which knows the identity set
        "identities_resolved": 100 + 7 + 5 + 10,
        "warmed_releases": 110,
        "warmed_artists": 200 + 30,
        "not_found": 7,
        "not_implemented": 5,
        "lml_error": 3 + 2 + 1,  # server errors, unknown statuses, the id missing from the body
        "skipped_discogs_unavailable": 0,
    }
    assert counters.outcomes["odd-0"] == "error"
    assert "unknown status 'exploded'" in log.text()
    assert "gone-1: missing from the response" in log.text()


def test_nothing_is_sent_for_no_identities() -> None:
    """An empty batch would be a 422: the client never sends one."""
    with lml_server() as lml:
        counters = refresh_ids(cfg(lml.url), [], ListLog())
    assert lml.requests == []
    assert counters.as_metadata()["lml_error"] == 0


def test_a_400_fails_the_batch_without_retrying() -> None:
    with lml_server(cap=10) as lml:  # a server with a lower cap than ours answers 400
        counters = refresh_ids(cfg(lml.url, batch_size=20), [f"x-{n}" for n in range(25)],
                               log := ListLog())
    assert [len(b) for b in sent_batches(lml)] == [20, 5]  # the 20-batch was not retried
    assert counters.lml_error == 1
    assert counters.identities_resolved == 5
    assert counters.count("error") == 20
    assert "HTTP 400" in log.text()


def test_a_redirect_is_not_followed_so_the_key_never_leaves_the_host() -> None:
    with lml_server() as elsewhere, lml_server() as lml:
        lml.faults.append(Fault(307, location=elsewhere.url + "/api/v1/cache/"
                                                            "refresh-for-identities"))
        counters = refresh_ids(cfg(lml.url), ["a-1"], log := ListLog())
    assert elsewhere.requests == []
    assert len(lml.requests) == 1
    assert counters.lml_error == 1
    assert "HTTP 307" in log.text()


def test_batch_cap_is_refused_at_startup() -> None:
    assert LML_REFRESH_BATCH_CAP == 50
    with pytest.raises(RemoteRefreshConfigError, match="exceeds the server cap of 50"):
        RemoteRefreshConfig(base_url="https://lml.example", api_key="k", batch_size=51)
    env = {"LML_BASE_URL": "https://lml.example", "LML_API_KEY": "k",
           "LML_REFRESH_BATCH_SIZE": "80"}
    with pytest.raises(RemoteRefreshConfigError, match="batch size 80 exceeds"):
        RemoteRefreshConfig.from_env(env)
    assert RemoteRefreshConfig.from_env({}) is None
    ok = RemoteRefreshConfig.from_env({**env, "LML_REFRESH_BATCH_SIZE": "50"})
    assert ok is not None
    assert (ok.batch_size, ok.batches_per_minute, ok.concurrency, ok.batch_timeout_s) == (
        50, 20, 3, 360)


def test_config_refuses_plain_http_to_a_remote_host_and_hides_the_key() -> None:
    with pytest.raises(RemoteRefreshConfigError, match="must use https"):
        RemoteRefreshConfig(base_url="http://lml.example", api_key="k")
    with pytest.raises(RemoteRefreshConfigError, match="LML_API_KEY is empty"):
        RemoteRefreshConfig(base_url="https://lml.example", api_key="")
    assert API_KEY not in repr(cfg("https://lml.example"))


def test_401_stops_the_run_with_a_clear_message() -> None:
    with lml_server() as lml:
        bad = RemoteRefreshConfig(base_url=lml.url, api_key="wrong-key", concurrency=1,
                                  batches_per_minute=6000)
        with pytest.raises(RemoteRefreshUnauthorized, match="LML_API_KEY") as info:
            refresh_ids(bad, [f"x-{n}" for n in range(500)], ListLog())
    assert "wrong-key" not in str(info.value)
    assert len(lml.requests) <= 2  # the remaining batches were not sent


def test_429_retry_after_is_honoured() -> None:
    asked, sleep = recorder()
    with lml_server(faults=[Fault(429, retry_after="1")]) as lml:
        counters = refresh_ids(cfg(lml.url, concurrency=1), ["a-1", "a-2"], ListLog(),
                               sleep=sleep)
    assert len(lml.requests) == 2
    assert lml.requests[1]["t"] - lml.requests[0]["t"] >= 0.95
    assert any(s >= 0.95 for s in asked)
    assert counters.identities_resolved == 2
    assert counters.lml_error == 0


def test_503_is_retried_then_given_up() -> None:
    faults = [Fault(503, retry_after="0")] * 3
    with lml_server(faults=list(faults)) as lml:
        counters = refresh_ids(cfg(lml.url, max_attempts=3), ["a-1"], log := ListLog())
    assert len(lml.requests) == 3
    assert counters.lml_error == 1
    assert counters.outcomes == {"a-1": "error"}
    assert "gave up after 3 attempts; last: HTTP 503" in log.text()
    with lml_server(faults=[Fault(503)]) as lml:  # no Retry-After: a short backoff, then success
        counters = refresh_ids(cfg(lml.url), ["a-1"], ListLog())
    assert (len(lml.requests), counters.warmed_releases) == (2, 1)


def test_a_retry_after_beyond_the_limit_fails_the_batch_instead_of_waiting() -> None:
    with lml_server(faults=[Fault(429, retry_after="3600")]) as lml:
        counters = refresh_ids(cfg(lml.url), ["a-1"], log := ListLog())
    assert len(lml.requests) == 1
    assert counters.lml_error == 1
    assert "Retry-After 3600 s exceeds" in log.text()


@pytest.mark.parametrize("fault", [Fault(delay_s=1.5), Fault(trickle_s=0.05)],
                         ids=["slow-headers", "trickled-body"])
def test_slow_response_past_the_timeout_fails_the_batch(fault: Fault) -> None:
    with lml_server(faults=[fault]) as lml:
        counters = refresh_ids(cfg(lml.url, batch_timeout_s=0.5, concurrency=1),
                               ["a-1", "b-2", "c-3"], log := ListLog())
    assert len(lml.requests) == 1  # a timeout is not retried
    assert counters.lml_error == 1
    assert counters.count("error") == 3
    assert "timed out after 0.5 s" in log.text()


@pytest.mark.parametrize("body", [b"<html>oops</html>", b'{"results": "nope"}', b"[]",
                                  b'{"res'])
def test_malformed_200_bodies_count_as_errors(body: bytes) -> None:
    with lml_server(faults=[Fault(200, body=body)]) as lml:
        counters = refresh_ids(cfg(lml.url), ["a-1", "a-2"], log := ListLog())
    assert counters.lml_error == 1
    assert counters.identities_resolved == 0
    assert "malformed response" in log.text()


def test_stray_results_count_as_errors() -> None:
    body = json.dumps({"results": [
        {"identity_id": "a-1", "status": "warmed", "sources": None, "message": None},
        {"identity_id": "someone-else", "status": "warmed"}, "junk"]}).encode()
    with lml_server(faults=[Fault(200, body=body)]) as lml:
        counters = refresh_ids(cfg(lml.url), ["a-1"], ListLog())
    assert counters.outcomes == {"a-1": "warmed"}
    assert counters.warmed_releases == 0  # sources null: nothing to count as warmed
    assert counters.lml_error == 2


def test_dry_run_sends_nothing() -> None:
    with lml_server() as lml:
        counters = refresh_ids(cfg(lml.url, dry_run=True), ["a-1"] * 120, log := ListLog())
    assert lml.requests == []
    assert counters.outcomes == {}
    assert "would send 120 identities in 3 batches" in log.text()


def test_request_rate_stays_within_budget_over_500_identities() -> None:
    """500 identities in batches of 10 at 1200 batches/minute with 3 workers: the server never
    sees more requests in any window than the budget allows (one extra for the window edge)."""
    per_minute = 1200
    with lml_server() as lml:
        counters = refresh_ids(cfg(lml.url, batch_size=10, batches_per_minute=per_minute,
                                   concurrency=3), [f"a-{n}" for n in range(500)], ListLog())
    assert counters.identities_resolved == 500
    times = sorted(r["t"] for r in lml.requests)
    assert len(times) == 50
    window = 1.0
    budget = per_minute / 60 * window
    for i, start in enumerate(times):
        in_window = sum(1 for t in times[i:] if t - start < window)
        assert in_window <= budget + 1, f"{in_window} requests within {window} s of #{i}"
    overall = (len(times) - 1) / (times[-1] - times[0]) * 60
    assert overall <= per_minute * 1.05


def test_rate_limiter_spaces_and_pauses_with_an_injected_clock() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(20, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        limiter.acquire()
    assert slept == [3.0, 3.0]
    limiter.pause(30)
    limiter.acquire()
    assert slept[-1] == pytest.approx(30.0)


def test_parse_retry_after() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 2, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Sun, 01 Feb 2026 12:01:00 GMT", now=now) == 60.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
