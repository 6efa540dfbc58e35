"""Refresh the cache of a separate metadata-lookup service (LML) over HTTP.

``POST {LML_BASE_URL}/api/v1/cache/refresh-for-identities`` with ``{"identity_ids": [...]}``
(the service's integer identity ids, as JSON numbers, in ascending order) and a bearer key.
The server refuses more than ``LML_REFRESH_BATCH_CAP`` ids (400) and an empty list (422), so
batches never exceed the cap, a configuration asking for more refuses to start, and an empty
batch is the deploy guard's probe: 422 means the endpoint is there, 404/405 that the service
version lacks it (nothing else is sent).

Every request (probe, batch, retry) takes a slot of one request budget: at most
``batches_per_minute`` request starts a minute, evenly spaced, kept in a SQLite bucket in the
data directory (pyrate-limiter) so that every run of the instance draws from the same budget.
At most ``concurrency`` batches are in flight; a 429/503 ``Retry-After`` pauses every worker;
retries follow the project's one retry policy (``lib/http_retry``); a 401/403 stops the run.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from pyrate_limiter import InMemoryBucket, Limiter, Rate, SQLiteBucket

from ..errors import NonRetryableError, RetryableError
from ..http_retry import GaveUp, RetryAfterTooLong, RetryPolicy, parse_retry_after, retry_call
from .counters import ERROR, OUTCOMES, LmlCounters, Log
from .identities import load_identities

LML_REFRESH_BATCH_CAP: Final = 50
REFRESH_PATH: Final = "/api/v1/cache/refresh-for-identities"
USER_AGENT: Final = "discogs-pipeline identity-caches"
MAX_BODY_BYTES: Final = 16 * 1024 * 1024  # a 50-id answer is kilobytes; refuse a runaway body
BUDGET_FILE: Final = "lml_request_budget.sqlite"  # in the data directory
_BUDGET_NAME: Final = "lml_refresh"
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})
# Short waits between attempts of one batch; a server asking for more than 10 minutes fails
# the batch instead of holding the run.
LML_RETRY: Final = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=60.0,
                               max_retry_after=600.0)

Sleep = Callable[[float], None]


class RemoteRefreshConfigError(NonRetryableError):
    """The LML refresh configuration is invalid; nothing was sent."""


class RemoteRefreshUnauthorized(NonRetryableError):
    """The LML service refused the API key (401/403): every further batch would fail too."""


class RefreshEndpointMissing(NonRetryableError):
    """The deploy guard's probe got 404/405: this service version has no refresh endpoint."""


class RefreshProbeFailed(NonRetryableError):
    """The probe got an answer the contract does not allow for an empty batch."""


class RefreshServiceUnavailable(RetryableError):
    """The probe could not reach a working service within the retry policy."""


@dataclass(frozen=True)
class RemoteRefreshConfig:
    """How to call the LML refresh endpoint. Invalid values raise at construction."""

    base_url: str
    api_key: str = field(repr=False)  # never in logs, metadata or error messages
    batch_size: int = LML_REFRESH_BATCH_CAP
    batches_per_minute: float = 20
    concurrency: int = 3
    batch_timeout_s: float = 360
    dry_run: bool = False
    retry: RetryPolicy = LML_RETRY

    def __post_init__(self) -> None:
        if self.batch_size > LML_REFRESH_BATCH_CAP:
            raise RemoteRefreshConfigError(
                f"LML refresh batch size {self.batch_size} exceeds the server cap of "
                f"{LML_REFRESH_BATCH_CAP} ids per request (LML_REFRESH_BATCH_CAP); "
                f"set a batch size of at most {LML_REFRESH_BATCH_CAP}"
            )
        for name, value in (("batch_size", self.batch_size), ("concurrency", self.concurrency)):
            if value < 1:
                raise RemoteRefreshConfigError(f"LML refresh {name} must be >= 1, got {value}")
        for name, number in (("batches_per_minute", self.batches_per_minute),
                             ("batch_timeout_s", self.batch_timeout_s)):
            if not (number > 0 and math.isfinite(number)):
                raise RemoteRefreshConfigError(f"LML refresh {name} must be > 0, got {number}")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise RemoteRefreshConfigError("LML_BASE_URL must be an http(s) URL with a host")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            # The bearer key must not cross the network in clear text.
            raise RemoteRefreshConfigError(
                f"LML_BASE_URL must use https for host {parts.hostname!r} (plain http is only "
                "accepted for loopback test servers)"
            )
        if not self.api_key and not self.dry_run:
            raise RemoteRefreshConfigError("LML_API_KEY is empty")

    @property
    def endpoint(self) -> str:
        return self.base_url.rstrip("/") + REFRESH_PATH


@contextlib.contextmanager
def request_budget(batches_per_minute: float, path: Path | None) -> Iterator[Limiter]:
    """The request budget: one request start per ``60 / batches_per_minute`` seconds.

    ``path``: a SQLite file shared (under a file lock) by every process that opens it, so
    concurrent and back-to-back runs draw from one budget; None keeps it in this process.
    """
    rate = Rate(1, math.ceil(60_000 / batches_per_minute))  # ms between request starts
    if path is None:
        bucket: InMemoryBucket | SQLiteBucket = InMemoryBucket([rate])
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        bucket = SQLiteBucket.init_from_file([rate], table=_BUDGET_NAME, db_path=str(path),
                                             use_file_lock=True)
    with Limiter(bucket) as limiter:
        yield limiter


class _Pause:
    """A wait every worker honours before its next request (a server's ``Retry-After`` or a
    retry backoff holds all of them: sending more at a server that asked for a pause helps
    no one)."""

    def __init__(self, sleep: Sleep) -> None:
        self._sleep = sleep
        self._lock = threading.Lock()
        self._until = 0.0

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)
        self.wait()

    def wait(self) -> None:
        while (left := self._until - time.monotonic()) > 0:
            self._sleep(left)


@dataclass(frozen=True)
class IdResult:
    """One identity's answer from the server (status already normalised to a known outcome)."""

    status: str
    release_success: bool = False
    artists_success: int = 0
    message: str | None = None


@dataclass
class BatchOutcome:
    results: dict[int, IdResult]
    failed: str | None = None  # why the whole batch failed (timeout, malformed body, HTTP error)
    stray_items: int = 0  # answers that name no id of the batch, or one already answered


def _is_id(value: Any) -> bool:
    return type(value) is int  # the contract's integer id; a bool or a numeric string is not


def parse_refresh_response(body: bytes, sent: Sequence[int]) -> BatchOutcome:
    """Validate a 200 body against the contract; raise ValueError when it is unusable as a whole.

    Unknown statuses and ids sent but not answered become ``error`` results; items that name no
    id of the batch (or repeat one) are counted as strays.
    """
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"body is not JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise ValueError("body has no 'results' list")
    wanted = set(sent)
    results: dict[int, IdResult] = {}
    strays = 0
    for item in doc["results"]:
        identity_id = item.get("identity_id") if isinstance(item, dict) else None
        if not _is_id(identity_id) or identity_id not in wanted or identity_id in results:
            strays += 1
            continue
        results[identity_id] = _parse_item(item)
    for identity_id in sent:
        results.setdefault(identity_id, IdResult(ERROR, message="missing from the response"))
    return BatchOutcome(results, stray_items=strays)


def _parse_item(item: dict[str, Any]) -> IdResult:
    status = item.get("status")
    message = item.get("message") if isinstance(item.get("message"), str) else None
    if status not in OUTCOMES:
        return IdResult(ERROR, message=f"unknown status {status!r}")
    sources = item.get("sources")
    release = sources.get("discogs_release") if isinstance(sources, dict) else None
    if status == ERROR or not isinstance(release, dict):
        return IdResult(status, message=message)
    artists = release.get("artists")
    artists_ok = sum(
        1 for a in (artists if isinstance(artists, list) else [])
        if isinstance(a, dict) and a.get("outcome") == "success"
    )
    return IdResult(status, release.get("release_outcome") == "success", artists_ok, message)


class _Deadline(Exception):
    pass


class _Transient(RetryableError):
    """Worth another attempt under the retry policy (a 429/503/5xx or a connection failure)."""


class _BatchFailed(Exception):
    """This batch failed for good; the run goes on."""


class _Refresher:
    """Sends the probe and the batches of one run; shared by the worker threads."""

    def __init__(self, cfg: RemoteRefreshConfig, client: httpx.Client, budget: Limiter,
                 log: Log, sleep: Sleep) -> None:
        self.cfg = cfg
        self.client = client
        self.budget = budget
        self.log = log
        self.pause = _Pause(sleep)
        self.stop = threading.Event()

    def _request(self, ids: list[int]) -> tuple[int, bytes]:
        """One attempt: wait for any pause and a budget slot, POST, classify the answer."""
        if self.stop.is_set():
            raise _BatchFailed("run stopped (the server refused the API key)")
        self.pause.wait()
        self.budget.try_acquire(_BUDGET_NAME)  # blocks until the budget has a slot
        try:
            status, headers, body = self._post(ids)
        except (httpx.TimeoutException, _Deadline):
            # A slow server is not helped by sending the same work again.
            raise _BatchFailed(f"timed out after {self.cfg.batch_timeout_s:g} s") from None
        except httpx.TransportError as exc:
            raise _Transient(f"connection failed ({exc.__class__.__name__})") from None
        if status in (401, 403):
            self.stop.set()
            raise RemoteRefreshUnauthorized(
                f"LML refresh at {self.cfg.endpoint} answered HTTP {status}: the API key "
                "(LML_API_KEY) was refused; stopping the refresh")
        if status in (429, 503) or status >= 500:
            raise _Transient(f"HTTP {status}: {_snippet(body)}",
                             retry_after=parse_retry_after(headers.get("retry-after")))
        return status, body

    def _attempts(self, ids: list[int], what: str) -> tuple[int, bytes]:
        return retry_call(lambda: self._request(ids), self.cfg.retry, what=what,
                          retry_on=_Transient, sleep=self.pause.hold, log=self.log)

    def probe(self) -> None:
        """The deploy guard: an empty batch must get the contract's 422."""
        what = f"LML refresh endpoint probe (POST {self.cfg.endpoint} with no ids)"
        try:
            status, body = self._attempts([], what)
        except (GaveUp, RetryAfterTooLong) as exc:
            raise RefreshServiceUnavailable(str(exc), retry_after=exc.retry_after) from None
        except _BatchFailed as exc:
            raise RefreshServiceUnavailable(f"{what}: {exc}") from None
        if status == 422:
            return
        if status in (404, 405):
            raise RefreshEndpointMissing(
                "refresh endpoint missing on LML_BASE_URL; deploy the service version that "
                f"has it ({what} answered HTTP {status}; nothing else was sent)")
        raise RefreshProbeFailed(
            f"{what} answered HTTP {status} where the contract answers 422: "
            f"{_snippet(body)}; not sending any batch")

    def send(self, ids: list[int], what: str) -> BatchOutcome:
        try:
            status, body = self._attempts(ids, what)
        except (GaveUp, RetryAfterTooLong, _BatchFailed) as exc:
            return _failed(ids, str(exc))
        if status != 200:  # our request is wrong (400, a redirect...): retrying cannot help
            return _failed(ids, f"HTTP {status}: {_snippet(body)}")
        try:
            return parse_refresh_response(body, ids)
        except ValueError as exc:
            return _failed(ids, f"malformed response: {exc}")

    def _post(self, ids: list[int]) -> tuple[int, httpx.Headers, bytes]:
        deadline = time.monotonic() + self.cfg.batch_timeout_s
        with self.client.stream("POST", self.cfg.endpoint, json={"identity_ids": ids}) as resp:
            chunks: list[bytes] = []
            size = 0
            # The read timeout bounds each wait; the deadline bounds a server trickling bytes.
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if time.monotonic() > deadline:
                    raise _Deadline
                if size > MAX_BODY_BYTES:
                    return resp.status_code, resp.headers, b"<response body too large>"
                chunks.append(chunk)
            return resp.status_code, resp.headers, b"".join(chunks)


def _failed(ids: list[int], why: str) -> BatchOutcome:
    return BatchOutcome({i: IdResult(ERROR, message=why) for i in ids}, failed=why)


def _snippet(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", "replace").strip()
    return text[:limit] + ("…" if len(text) > limit else "")


def batches(ids: Sequence[int], size: int) -> list[list[int]]:
    """Batches of at most ``size`` ids, in ascending numeric order."""
    ordered = sorted(ids)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def refresh_ids(cfg: RemoteRefreshConfig, ids: Sequence[int], log: Log, *, budget: Limiter,
                sleep: Sleep = time.sleep,
                transport: httpx.BaseTransport | None = None) -> LmlCounters:
    """Probe the endpoint, then refresh ``ids`` (already filtered: never a flagged identity)
    and count the service's answers. Nothing is sent for no ids, nor in a dry run."""
    counters = LmlCounters()
    groups = batches(ids, cfg.batch_size)
    if cfg.dry_run or not groups:
        if cfg.dry_run:
            log.info(f"LML refresh dry run: would send {len(ids)} identities in {len(groups)} "
                     f"batches of <= {cfg.batch_size} to {cfg.endpoint}")
        return counters
    timeout = httpx.Timeout(cfg.batch_timeout_s, connect=min(30.0, cfg.batch_timeout_s))
    headers = {"Authorization": f"Bearer {cfg.api_key}", "User-Agent": USER_AGENT}
    # follow_redirects stays off: the bearer key must only ever reach the configured host.
    with httpx.Client(headers=headers, timeout=timeout, follow_redirects=False, verify=True,
                      transport=transport) as client:
        refresher = _Refresher(cfg, client, budget, log, sleep)
        refresher.probe()
        with ThreadPoolExecutor(max_workers=cfg.concurrency,
                                thread_name_prefix="lml-refresh") as pool:
            total = len(groups)
            futures = [pool.submit(refresher.send, g, f"LML refresh batch {n}/{total}")
                       for n, g in enumerate(groups, start=1)]
            try:
                for number, future in enumerate(futures, start=1):
                    _count_batch(counters, future.result(), number, total, log)
            except RemoteRefreshUnauthorized:
                refresher.stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    return counters


def _count_batch(counters: LmlCounters, outcome: BatchOutcome, number: int, total: int,
                 log: Log) -> None:
    if outcome.failed is not None:
        counters.record_failed_batch(len(outcome.results))
        log.warning(f"LML refresh batch {number}/{total} failed: {outcome.failed}")
        return
    for identity_id, result in outcome.results.items():
        counters.record(result.status, release_warmed=result.release_success,
                        artists_warmed=result.artists_success)
        if result.status == ERROR:
            log.warning(f"LML refresh of identity {identity_id}: {result.message}")
    if outcome.stray_items:
        log.warning(f"LML refresh batch {number}/{total}: {outcome.stray_items} result(s) "
                    "named no identity of the batch or repeated one (ignored)")


@dataclass(frozen=True)
class RefreshResult:
    """``counters`` is None in a dry run (nothing was asked of the service)."""

    counters: LmlCounters | None
    skipped_discogs_unavailable: int


def refresh_remote(engine: sa.Engine, cfg: RemoteRefreshConfig, log: Log, *,
                   budget: Limiter, **kwargs: Any) -> RefreshResult:
    """Refresh every active identity not flagged ``discogs_unavailable``. ``kwargs`` go to
    ``refresh_ids``."""
    identities = load_identities(engine, active_only=True)
    flagged = sum(1 for i in identities if i.discogs_unavailable)
    ids = [i.identity_id for i in identities if not i.discogs_unavailable]
    counters = refresh_ids(cfg, ids, log, budget=budget, **kwargs)
    if cfg.dry_run:
        return RefreshResult(None, flagged)
    log.info(f"LML refresh: {counters.as_metadata()}, skipped_discogs_unavailable={flagged}")
    return RefreshResult(counters, flagged)
