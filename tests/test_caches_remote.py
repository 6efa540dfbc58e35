"""The LML refresh client against the contract's stand-in, a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import multiprocessing
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from caches_helpers import API_KEY, ListLog, lml_server, recorder
from pyrate_limiter import Limiter

from discogs_assets.lib.caches import (
    LML_REFRESH_BATCH_CAP,
    RefreshEndpointMissing,
    RemoteRefreshConfig,
    RemoteRefreshConfigError,
    RemoteRefreshUnauthorized,
    request_budget,
)
from discogs_assets.lib.caches import lml_stand_in as lml
from discogs_assets.lib.caches.lml_stand_in import Fault
from discogs_assets.lib.caches.remote import (
    RefreshProbeFailed,
    RefreshServiceUnavailable,
    refresh_ids,
)
from discogs_assets.lib.http_retry import RetryPolicy

FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=600)


def cfg(url: str, **kw: object) -> RemoteRefreshConfig:
    defaults: dict[str, object] = {"batches_per_minute": 6000, "batch_timeout_s": 10,
                                   "retry": FAST_RETRY}
    return RemoteRefreshConfig(base_url=url, api_key=API_KEY, **{**defaults, **kw})


@pytest.fixture
def budget() -> Iterator[Limiter]:
    with request_budget(60_000, None) as limiter:
        yield limiter


def test_stand_in_implements_the_contract() -> None:
    """The stand-in itself: what the contract says the service answers."""
    with lml_server(answers={3: lml.NOT_FOUND}) as server:
        endpoint = server.url + lml.PATH
        auth = {"Authorization": f"Bearer {API_KEY}"}

        def post(body: object, headers: dict[str, str] = auth) -> httpx.Response:
            return httpx.post(endpoint, json=body, headers=headers)

        assert post({"identity_ids": list(range(1, 52))}).status_code == 400
        assert post({"identity_ids": []}).status_code == 422
        assert post({"identity_ids": ["1"]}).status_code == 422
        assert post({"identity_ids": [1]}, {"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(endpoint, headers=auth).status_code == 405
        assert httpx.post(server.url + "/api/v1/other", json={}, headers=auth).status_code == 404
        ok = post({"identity_ids": [3, 4]})
        assert ok.status_code == 200
        assert [(r["identity_id"], r["status"]) for r in ok.json()["results"]] == [
            (3, "not_found"), (4, "warmed")]


def test_numbers_in_ascending_order_and_counters_from_the_answers_only(budget: Limiter) -> None:
    answers = {
        **dict.fromkeys(range(200, 207), lml.NOT_FOUND),  # 7
        **dict.fromkeys(range(300, 305), lml.NOT_IMPLEMENTED),  # 5
        **dict.fromkeys(range(400, 403), lml.ERROR),  # 3
        **dict.fromkeys((500, 501), lml.UNKNOWN_STATUS),
        600: lml.OMITTED,
        601: lml.AS_STRING,  # the contract's ids are numbers: this answer names no id sent
        **dict.fromkeys(range(700, 710), lml.WARMED_PARTIAL),  # 2 of 3 artists
        **dict.fromkeys((800, 801), lml.WARMED_RELEASE_ERROR),
    }
    ids = [*answers, *range(1, 98)]  # 31 + 97 = 128, not in order
    ids.reverse()
    with lml_server(answers=answers) as server:
        counters = refresh_ids(cfg(server.url), ids, log := ListLog(), budget=budget)
    assert server.requests[0].ids == []  # the deploy guard's probe comes first
    sent = sorted(server.batches(), key=lambda b: b[0])  # workers send them concurrently
    assert sent == [sorted(ids)[:50], sorted(ids)[50:100], sorted(ids)[100:]]
    assert all(type(i) is int for b in sent for i in b)
    assert any(re.match(rb'{"identity_ids":\s*\[1,\s*2,\s*3,', r.raw) for r in server.requests)
    warmed = 128 - 7 - 5 - 3 - 2 - 1 - 1  # status warmed, resolved
    assert counters.as_metadata() == {
        "lml.identities_scanned": 128,
        "lml.identities_resolved": 128 - 7,
        "lml.warmed_releases": warmed - 2,  # two answered release_outcome error
        "lml.warmed_artists": warmed * 2,  # two artist successes each (the partial: 2 of 3)
        "lml.not_found": 7,
        "lml.not_implemented": 5,
        "lml.lml_error": 3 + 2 + 1 + 1,  # errors, unknown statuses, omitted, id as a string
    }
    assert "unknown status 'exploded'" in log.text()
    assert "identity 600: missing from the response" in log.text()
    assert API_KEY not in log.text()


@pytest.mark.parametrize("fault", [Fault(404), Fault(405)], ids=["404", "405"])
def test_probe_finds_the_endpoint_missing_and_nothing_else_is_sent(
        fault: Fault, budget: Limiter) -> None:
    with lml_server(probe_faults=[fault]) as server, \
            pytest.raises(RefreshEndpointMissing) as info:
        refresh_ids(cfg(server.url), list(range(1, 200)), ListLog(), budget=budget)
    assert str(info.value).startswith(
        "refresh endpoint missing on LML_BASE_URL; deploy the service version that has it")
    assert [r.ids for r in server.requests] == [[]]


def test_a_service_without_the_endpoint_is_refused_by_the_probe(budget: Limiter) -> None:
    with lml_server(endpoint_deployed=False) as server, \
            pytest.raises(RefreshEndpointMissing, match="HTTP 404"):
        refresh_ids(cfg(server.url), [1, 2], ListLog(), budget=budget)
    assert len(server.requests) == 1


def test_probe_retries_a_busy_service_then_goes_on(budget: Limiter) -> None:
    faults = [Fault(503, retry_after="0"), Fault(429, retry_after="0")]
    with lml_server(probe_faults=faults) as server:
        counters = refresh_ids(cfg(server.url), [5, 6], ListLog(), budget=budget)
    assert [r.ids for r in server.requests] == [[], [], [], [5, 6]]
    assert counters.identities_resolved == 2
    with lml_server(probe_faults=[Fault(503, retry_after="0")] * 4) as server, \
            pytest.raises(RefreshServiceUnavailable, match="giving up after 4 attempts"):
        refresh_ids(cfg(server.url), [5, 6], ListLog(), budget=budget)
    assert len(server.requests) == 4


def test_probe_answer_outside_the_contract_sends_nothing(budget: Limiter) -> None:
    with lml_server(probe_faults=[Fault(400)]) as server, \
            pytest.raises(RefreshProbeFailed, match="HTTP 400 where the contract answers 422"):
        refresh_ids(cfg(server.url), [5, 6], ListLog(), budget=budget)
    assert len(server.requests) == 1


def test_a_400_fails_the_batch_and_counts_its_ids(budget: Limiter) -> None:
    with lml_server(cap=10) as server:  # a server with a lower cap than ours answers 400
        counters = refresh_ids(cfg(server.url, batch_size=20), list(range(1, 26)),
                               log := ListLog(), budget=budget)
    assert [len(b) for b in sorted(server.batches())] == [20, 5]  # the 20 not retried
    assert (counters.identities_scanned, counters.lml_error, counters.identities_resolved) == (
        25, 20, 5)
    assert "HTTP 400" in log.text()


def test_a_redirect_is_not_followed_so_the_key_never_leaves_the_host(budget: Limiter) -> None:
    with lml_server() as elsewhere, lml_server() as server:
        server.faults.append(Fault(307, location=elsewhere.url + lml.PATH))
        counters = refresh_ids(cfg(server.url), [1], log := ListLog(), budget=budget)
    assert elsewhere.requests == []
    assert len(server.requests) == 2  # probe + the batch
    assert counters.lml_error == 1
    assert "HTTP 307" in log.text()


def test_batch_cap_is_refused_at_startup() -> None:
    """(The same from the environment: tests/test_resources_env.py.)"""
    assert LML_REFRESH_BATCH_CAP == 50
    with pytest.raises(RemoteRefreshConfigError, match="exceeds the server cap of 50"):
        RemoteRefreshConfig(base_url="https://lml.example", api_key="k", batch_size=51)
    ok = RemoteRefreshConfig(base_url="https://lml.example", api_key="k", batch_size=50)
    assert (ok.batch_size, ok.batches_per_minute, ok.concurrency, ok.batch_timeout_s) == (
        50, 20, 3, 360)


def test_config_refuses_plain_http_to_a_remote_host_and_hides_the_key() -> None:
    with pytest.raises(RemoteRefreshConfigError, match="must use https"):
        RemoteRefreshConfig(base_url="http://lml.example", api_key="k")
    with pytest.raises(RemoteRefreshConfigError, match="LML_API_KEY is empty"):
        RemoteRefreshConfig(base_url="https://lml.example", api_key="")
    assert API_KEY not in repr(cfg("https://lml.example"))


def test_401_stops_the_run_with_a_clear_message(budget: Limiter) -> None:
    with lml_server() as server:
        bad = RemoteRefreshConfig(base_url=server.url, api_key="wrong-key",
                                  batches_per_minute=6000)
        with pytest.raises(RemoteRefreshUnauthorized, match="LML_API_KEY") as info:
            refresh_ids(bad, list(range(1, 500)), ListLog(), budget=budget)
    assert "wrong-key" not in str(info.value)
    assert len(server.requests) == 1  # the probe: no batch was sent
    with lml_server(faults=[Fault(401)]) as server, pytest.raises(RemoteRefreshUnauthorized):
        refresh_ids(cfg(server.url, concurrency=1), list(range(1, 500)), ListLog(),
                    budget=budget)
    assert len(server.requests) == 2  # the probe, then the refused batch: the rest not sent


def test_429_retry_after_is_honoured(budget: Limiter) -> None:
    asked, sleep = recorder()
    with lml_server(faults=[Fault(429, retry_after="1")]) as server:
        counters = refresh_ids(cfg(server.url, concurrency=1), [1, 2], ListLog(),
                               budget=budget, sleep=sleep)
    assert len(server.batches()) == 2
    first, second = (r.t for r in server.requests if r.ids)
    assert second - first >= 0.95
    assert any(s >= 0.9 for s in asked)
    assert (counters.identities_resolved, counters.lml_error) == (2, 0)


def test_503_is_retried_then_given_up(budget: Limiter) -> None:
    with lml_server(faults=[Fault(503, retry_after="0")] * 3) as server:
        counters = refresh_ids(cfg(server.url, retry=RetryPolicy(max_attempts=3)), [1],
                               log := ListLog(), budget=budget)
    assert len(server.batches()) == 3
    assert (counters.lml_error, counters.identities_resolved) == (1, 0)
    assert "giving up after 3 attempts: HTTP 503" in log.text()
    with lml_server(faults=[Fault(503)]) as server:  # no Retry-After: a short backoff
        counters = refresh_ids(cfg(server.url), [1], ListLog(), budget=budget)
    assert (len(server.batches()), counters.warmed_releases) == (2, 1)


def test_a_retry_after_beyond_the_limit_fails_the_batch_instead_of_waiting(
        budget: Limiter) -> None:
    with lml_server(faults=[Fault(429, retry_after="3600")]) as server:
        counters = refresh_ids(cfg(server.url), [1], log := ListLog(), budget=budget)
    assert len(server.batches()) == 1
    assert counters.lml_error == 1
    assert "asks to wait 3600 s" in log.text()


@pytest.mark.parametrize("fault", [Fault(delay_s=1.5), Fault(trickle_s=0.05)],
                         ids=["slow-headers", "trickled-body"])
def test_slow_response_past_the_timeout_fails_the_batch(fault: Fault, budget: Limiter) -> None:
    with lml_server(faults=[fault]) as server:
        counters = refresh_ids(cfg(server.url, batch_timeout_s=0.5, concurrency=1),
                               [1, 2, 3], log := ListLog(), budget=budget)
    assert len(server.batches()) == 1  # a timeout is not retried
    assert (counters.identities_scanned, counters.lml_error) == (3, 3)
    assert "timed out after 0.5 s" in log.text()


@pytest.mark.parametrize("body", [b"<html>oops</html>", b'{"results": "nope"}', b"[]",
                                  b'{"res'])
def test_malformed_200_bodies_count_as_errors(body: bytes, budget: Limiter) -> None:
    with lml_server(faults=[Fault(200, body=body)]) as server:
        counters = refresh_ids(cfg(server.url), [1, 2], log := ListLog(), budget=budget)
    assert (counters.lml_error, counters.identities_resolved) == (2, 0)
    assert "malformed response" in log.text()


def test_stray_and_repeated_results_are_ignored(budget: Limiter) -> None:
    body = json.dumps({"results": [
        {"identity_id": 1, "status": "warmed", "sources": None, "message": None},
        {"identity_id": 1, "status": "error", "sources": None, "message": None},
        {"identity_id": 99, "status": "warmed"}, {"identity_id": True, "status": "warmed"},
        "junk"]}).encode()
    with lml_server(faults=[Fault(200, body=body)]) as server:
        counters = refresh_ids(cfg(server.url), [1], log := ListLog(), budget=budget)
    assert counters.as_metadata()["lml.identities_resolved"] == 1
    assert counters.warmed_releases == 0  # sources null: nothing to count as warmed
    assert counters.lml_error == 0
    assert "4 result(s) named no identity of the batch or repeated one" in log.text()


def test_dry_run_sends_nothing(budget: Limiter) -> None:
    with lml_server() as server:
        counters = refresh_ids(cfg(server.url, dry_run=True), list(range(120)),
                               log := ListLog(), budget=budget)
    assert server.requests == []
    assert counters.identities_scanned == 0
    assert "would send 120 identities in 3 batches" in log.text()


def _refresh_in_a_process(url: str, ids: list[int], bucket: str, per_minute: float,
                          start: Any, spans: Any) -> None:
    start.wait()  # both processes have imported everything: they start together
    began = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process of the machine
    with request_budget(per_minute, Path(bucket)) as shared:
        refresh_ids(cfg(url, batch_size=1, batches_per_minute=per_minute), ids, ListLog(),
                    budget=shared)
    spans.put((began, time.monotonic()))


def test_two_processes_share_one_request_budget(tmp_path: Path) -> None:
    """Two runs at once (separate processes, 3 workers each) draw from the budget file in the
    data directory: the service sees one budget, not two."""
    per_minute = 1200  # one request start per 50 ms
    bucket = str(tmp_path / "budget.sqlite")
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(2)
    spans = spawn.Queue()
    with lml_server() as server:
        runs = [spawn.Process(target=_refresh_in_a_process,
                              args=(server.url, ids, bucket, per_minute, start, spans))
                for ids in (list(range(1, 21)), list(range(101, 121)))]
        for run in runs:
            run.start()
        for run in runs:
            run.join(timeout=60)
    assert [run.exitcode for run in runs] == [0, 0]
    assert len(server.batches()) == 40
    times = sorted(r.t for r in server.requests)
    assert len(times) == 42  # two probes
    window = 1.0
    budget = per_minute / 60 * window
    busiest = max(sum(1 for t in times[i:] if t - start < window)
                  for i, start in enumerate(times))
    assert busiest <= budget + 1, f"{busiest} requests within {window} s"
    # Both runs wanted to send at once (which of them the shared budget serves first is its
    # business): with a budget each, the busiest second would hold twice the budget.
    (first_began, first_ended), (second_began, second_ended) = spans.get(), spans.get()
    assert max(first_began, second_began) < min(first_ended, second_ended), "the runs overlap"
