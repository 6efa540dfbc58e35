"""Refresh the cache of a separate metadata-lookup service (LML) over HTTP.

``POST {LML_BASE_URL}/api/v1/cache/refresh-for-identities`` with ``{"identity_ids": [...]}``
and a bearer key. The server refuses more than ``LML_REFRESH_BATCH_CAP`` ids (400) and an empty
list (422), so batches never exceed the cap and a configuration asking for more refuses to
start. Requests are spread by a rate limiter (batches per minute, retries included) with bounded
concurrency; 429/503 ``Retry-After`` pauses every worker; a 401 stops the run.
"""

from __future__ import annotations

import email.utils
import json
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa

from ..envvars import env_number
from ..errors import NonRetryableError
from .counters import ERROR, OUTCOMES, CacheCounters, Log
from .identities import load_identities

LML_REFRESH_BATCH_CAP: Final = 50
REFRESH_PATH: Final = "/api/v1/cache/refresh-for-identities"
USER_AGENT: Final = "discogs-pipeline identity-caches"
MAX_BODY_BYTES: Final = 16 * 1024 * 1024  # a 50-id answer is kilobytes; refuse a runaway body
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class RemoteRefreshConfigError(NonRetryableError):
    """The LML refresh configuration is invalid; nothing was sent."""


class RemoteRefreshUnauthorized(NonRetryableError):
    """The LML service refused the API key (401/403): every further batch would fail too."""


def _env_number(env: Mapping[str, str], name: str, default: float, kind: type = int) -> Any:
    try:
        return env_number(name, default, kind, env)
    except ValueError as exc:
        raise RemoteRefreshConfigError(str(exc)) from None


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
    max_attempts: int = 4
    max_retry_after_s: float = 600  # a longer server-requested pause fails the batch instead

    def __post_init__(self) -> None:
        if self.batch_size > LML_REFRESH_BATCH_CAP:
            raise RemoteRefreshConfigError(
                f"LML refresh batch size {self.batch_size} exceeds the server cap of "
                f"{LML_REFRESH_BATCH_CAP} ids per request (LML_REFRESH_BATCH_CAP); "
                f"set a batch size of at most {LML_REFRESH_BATCH_CAP}"
            )
        for name, value in (("batch_size", self.batch_size), ("concurrency", self.concurrency),
                            ("max_attempts", self.max_attempts)):
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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RemoteRefreshConfig | None:
        """The configuration from ``LML_*`` variables; ``None`` when ``LML_BASE_URL`` is unset."""
        env = os.environ if env is None else env
        base_url = env.get("LML_BASE_URL", "").strip()
        if not base_url:
            return None
        return cls(
            base_url=base_url,
            api_key=env.get("LML_API_KEY", ""),
            batch_size=_env_number(env, "LML_REFRESH_BATCH_SIZE", LML_REFRESH_BATCH_CAP),
            batches_per_minute=_env_number(env, "LML_BATCHES_PER_MINUTE", 20, float),
            concurrency=_env_number(env, "LML_CONCURRENCY", 3),
            batch_timeout_s=_env_number(env, "LML_BATCH_TIMEOUT_S", 360, float),
            dry_run=env.get("LML_DRY_RUN", "").strip().lower() in ("1", "true", "yes"),
        )


class RateLimiter:
    """Spaces request starts at least ``60 / per_minute`` seconds apart, across threads.

    ``pause(seconds)`` pushes the next slot back for everyone (a server's ``Retry-After``).
    """

    def __init__(self, per_minute: float, *, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep) -> None:
        self._interval = 60.0 / per_minute
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: float | None = None

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            slot = now if self._next is None else max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            self._sleep(slot - now)

    def pause(self, seconds: float) -> None:
        with self._lock:
            until = self._clock() + seconds
            self._next = until if self._next is None else max(self._next, until)


@dataclass(frozen=True)
class IdResult:
    """One identity's answer from the server (status already normalised to a known outcome)."""

    status: str
    release_success: bool = False
    artists_success: int = 0
    message: str | None = None


@dataclass
class BatchOutcome:
    results: dict[str, IdResult]
    failed: str | None = None  # why the whole batch failed (timeout, malformed body, HTTP error)
    stray_items: int = 0  # answers the body held that name no id of the batch


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def parse_refresh_response(body: bytes, sent: Sequence[str]) -> BatchOutcome:
    """Validate a 200 body against the contract; raise ValueError when it is unusable as a whole.

    Unknown statuses and ids sent but not answered become ``error`` results; items that name no
    id of the batch are counted as strays.
    """
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"body is not JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise ValueError("body has no 'results' list")
    wanted = set(sent)
    results: dict[str, IdResult] = {}
    strays = 0
    for item in doc["results"]:
        identity_id = item.get("identity_id") if isinstance(item, dict) else None
        key = str(identity_id) if isinstance(identity_id, str | int) else None
        if key is None or key not in wanted:
            strays += 1
            continue
        results[key] = _parse_item(item)
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
    if not isinstance(release, dict):
        return IdResult(status, message=message)
    artists = release.get("artists")
    artists_ok = sum(
        1 for a in (artists if isinstance(artists, list) else [])
        if isinstance(a, dict) and a.get("outcome") == "success"
    )
    return IdResult(status, release.get("release_outcome") == "success", artists_ok, message)


class _Deadline(Exception):
    pass


class _Refresher:
    """Sends batches for one run; shared by the worker threads."""

    def __init__(self, cfg: RemoteRefreshConfig, client: httpx.Client, limiter: RateLimiter,
                 clock: Clock) -> None:
        self.cfg = cfg
        self.client = client
        self.limiter = limiter
        self.clock = clock
        self.stop = threading.Event()

    def send(self, ids: list[str]) -> BatchOutcome:
        last = "not sent"
        for attempt in range(1, self.cfg.max_attempts + 1):
            if self.stop.is_set():
                return self._failed(ids, "run stopped (the server refused the API key)")
            self.limiter.acquire()
            try:
                status, headers, body = self._post(ids)
            except (httpx.TimeoutException, _Deadline):
                # A slow server is not helped by sending the same work again.
                return self._failed(ids, f"timed out after {self.cfg.batch_timeout_s:g} s")
            except httpx.TransportError as exc:
                last = f"connection failed ({exc.__class__.__name__})"
                self.limiter.pause(min(2.0 ** (attempt - 1), self.cfg.max_retry_after_s))
                continue
            if status == 200:
                try:
                    return parse_refresh_response(body, ids)
                except ValueError as exc:
                    return self._failed(ids, f"malformed response: {exc}")
            if status in (401, 403):
                self.stop.set()
                raise RemoteRefreshUnauthorized(
                    f"LML refresh at {self.cfg.endpoint} answered HTTP {status}: the API key "
                    "(LML_API_KEY) was refused; stopping the refresh"
                )
            last = f"HTTP {status}: {_snippet(body)}"
            if status not in (429, 503) and status < 500:
                return self._failed(ids, last)  # our request is wrong: retrying cannot help
            wait = parse_retry_after(headers.get("retry-after"))
            if wait is None:
                wait = min(2.0 ** (attempt - 1), self.cfg.max_retry_after_s)
            if wait > self.cfg.max_retry_after_s:
                return self._failed(ids, f"{last}; Retry-After {wait:g} s exceeds the "
                                         f"{self.cfg.max_retry_after_s:g} s limit")
            self.limiter.pause(wait)
        return self._failed(ids, f"gave up after {self.cfg.max_attempts} attempts; last: {last}")

    def _post(self, ids: list[str]) -> tuple[int, httpx.Headers, bytes]:
        deadline = self.clock() + self.cfg.batch_timeout_s
        with self.client.stream("POST", self.cfg.endpoint, json={"identity_ids": ids}) as resp:
            chunks: list[bytes] = []
            size = 0
            # The read timeout bounds each wait; the deadline bounds a server trickling bytes.
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if self.clock() > deadline:
                    raise _Deadline
                if size > MAX_BODY_BYTES:
                    return resp.status_code, resp.headers, b"<response body too large>"
                chunks.append(chunk)
            return resp.status_code, resp.headers, b"".join(chunks)

    @staticmethod
    def _failed(ids: list[str], why: str) -> BatchOutcome:
        return BatchOutcome({i: IdResult(ERROR, message=why) for i in ids}, failed=why)


def _snippet(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", "replace").strip()
    return text[:limit] + ("…" if len(text) > limit else "")


def batches(ids: Sequence[str], size: int) -> list[list[str]]:
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


def refresh_ids(cfg: RemoteRefreshConfig, ids: Sequence[str], log: Log, *,
                clock: Clock = time.monotonic, sleep: Sleep = time.sleep,
                transport: httpx.BaseTransport | None = None) -> CacheCounters:
    """Refresh ``ids`` (already filtered: never a flagged identity) and count the outcomes.

    ``identities_scanned`` is left to the caller, who knows the whole identity set.
    """
    counters = CacheCounters()
    groups = batches(ids, cfg.batch_size)
    if cfg.dry_run:
        log.info(f"LML refresh dry run: would send {len(ids)} identities in {len(groups)} "
                 f"batches of <= {cfg.batch_size} to {cfg.endpoint}")
        return counters
    timeout = httpx.Timeout(cfg.batch_timeout_s, connect=min(30.0, cfg.batch_timeout_s))
    limiter = RateLimiter(cfg.batches_per_minute, clock=clock, sleep=sleep)
    headers = {"Authorization": f"Bearer {cfg.api_key}", "User-Agent": USER_AGENT}
    # follow_redirects stays off: the bearer key must only ever reach the configured host.
    with httpx.Client(headers=headers, timeout=timeout, follow_redirects=False, verify=True,
                      transport=transport) as client:
        refresher = _Refresher(cfg, client, limiter, clock)
        with ThreadPoolExecutor(max_workers=cfg.concurrency,
                                thread_name_prefix="lml-refresh") as pool:
            futures = [pool.submit(refresher.send, g) for g in groups]
            try:
                for number, future in enumerate(futures, start=1):
                    _count_batch(counters, future.result(), number, len(groups), log)
            except RemoteRefreshUnauthorized:
                refresher.stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    return counters


def _count_batch(counters: CacheCounters, outcome: BatchOutcome, number: int, total: int,
                 log: Log) -> None:
    if outcome.failed is not None:
        counters.lml_error += 1
        log.warning(f"LML refresh batch {number}/{total} failed: {outcome.failed}")
    for identity_id, result in outcome.results.items():
        counters.record(identity_id, result.status)
        counters.warmed_releases += int(result.release_success)
        counters.warmed_artists += result.artists_success
        if result.status == ERROR and outcome.failed is None:
            counters.lml_error += 1
            log.warning(f"LML refresh of identity {identity_id}: {result.message}")
    if outcome.stray_items:
        counters.lml_error += outcome.stray_items
        log.warning(f"LML refresh batch {number}/{total}: {outcome.stray_items} result(s) "
                    "named no identity of the batch")


def refresh_remote(engine: sa.Engine, cfg: RemoteRefreshConfig, counters: CacheCounters,
                   log: Log, **kwargs: Any) -> CacheCounters:
    """Refresh every active identity not flagged ``discogs_unavailable``; return ``counters``
    merged with this pass (see ``CacheCounters.merged``). ``kwargs`` go to ``refresh_ids``."""
    identities = load_identities(engine, active_only=True)
    flagged = sum(1 for i in identities if i.discogs_unavailable)
    ids = [i.identity_id for i in identities if not i.discogs_unavailable]
    remote = refresh_ids(cfg, ids, log, **kwargs)
    remote.identities_scanned = len(identities)
    remote.skipped_discogs_unavailable = flagged
    log.info(f"LML refresh: {remote.as_metadata()}")
    return counters.merged(remote)
