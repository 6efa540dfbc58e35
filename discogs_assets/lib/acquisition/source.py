"""Where dumps come from: one interface, three backends chosen by the URL.

- ``file:///dir``: a directory laid out as ``data/YYYY/discogs_YYYYMMDD_<kind>...``.
- ``http(s)://`` in the production host's protocol (``?prefix=data/YYYY/`` HTML year listing,
  ``?download=<key>`` files), so a local stand-in of the host works by URL alone.
- ``http(s)://`` serving an S3 ``ListBucketResult`` (legacy bucket, S3-compatible mirrors):
  detected from the listing response, or forced with ``listing_format="s3"``; files at ``<key>``.

Every HTTP request counts against a budget (the host rate-limits hard); each call is retried
with backoff within bounds, and a long Retry-After fails fast with ``RateLimited``.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import TracebackType
from urllib.parse import quote, unquote, urlparse
from urllib.request import url2pathname

import httpx

from discogs_assets.lib.acquisition.download import (
    DownloadResult,
    DownloadSettings,
    FreeBytesFn,
    Logger,
    ProgressFn,
    Transfer,
    download_file,
)
from discogs_assets.lib.acquisition.errors import (
    DownloadFailed,
    RangeNotHonoured,
    TransientDownloadError,
)
from discogs_assets.lib.acquisition.listing import (
    DumpFile,
    Listing,
    ListingError,
    looks_like_s3,
    parse_html_listing,
    parse_s3_listing,
)
from discogs_assets.lib.acquisition.names import InvalidDumpName, key_for, parse_dump_name
from discogs_assets.lib.acquisition.retry import retry_call
from discogs_assets.lib.acquisition.selection import MonthDump, select_month
from discogs_assets.lib.http_retry import RetryPolicy, parse_retry_after
from discogs_assets.lib.layout import check_month

LISTING_FORMATS = ("auto", "html", "s3")
MAX_LISTING_BYTES = 32 << 20  # a year listing is a few KB; refuse anything absurd
MAX_SMALL_FILE_BYTES = 1 << 20  # CHECKSUM files are a few hundred bytes


def _package_version() -> str:
    try:
        return version("discogs-pipeline")
    except PackageNotFoundError:
        return "dev"


DEFAULT_USER_AGENT = (
    f"discogs-pipeline/{_package_version()} (monthly Discogs data dump mirror; "
    f"python-httpx/{httpx.__version__})"
)
_log = logging.getLogger(__name__)


class DumpSource(ABC):
    """Find a month's dump, fetch its CHECKSUM, download its files."""

    def __init__(self, settings: DownloadSettings, log: Logger | None) -> None:
        self.settings = settings
        self.log = log or _log

    # -- construction -------------------------------------------------------------------------
    @staticmethod
    def from_url(
        url: str,
        *,
        listing_format: str = "auto",
        user_agent: str = DEFAULT_USER_AGENT,
        max_attempts: int = 5,
        max_retry_after: float = 600.0,
        connect_timeout: float = 30.0,
        stall_timeout: float = 120.0,
        max_requests: int = 60,
        base_delay: float = 2.0,
        max_delay: float = 120.0,
        progress_interval: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        free_bytes: FreeBytesFn | None = None,
        log: Logger | None = None,
    ) -> DumpSource:
        """The backend for ``url`` (``file://`` directory or ``http(s)://`` host)."""
        if listing_format not in LISTING_FORMATS:
            raise ValueError(
                f"listing_format must be one of {LISTING_FORMATS}, not {listing_format!r}"
            )
        settings = DownloadSettings(
            retry=RetryPolicy(
                max_attempts=max_attempts,
                base_delay=base_delay,
                max_delay=max_delay,
                max_retry_after=max_retry_after,
            ),
            progress_interval=progress_interval,
            sleep=sleep,
            free_bytes=free_bytes,
        )
        scheme = urlparse(url).scheme.lower()
        if scheme == "file":
            return LocalDirectorySource(file_url_to_path(url), settings, log)
        if scheme in ("http", "https"):
            return HttpDumpSource(
                url,
                settings,
                log,
                listing_format=listing_format,
                user_agent=user_agent,
                connect_timeout=connect_timeout,
                stall_timeout=stall_timeout,
                max_requests=max_requests,
            )
        raise ValueError(f"unsupported dump source URL {url!r}: use file://, http:// or https://")

    # -- the interface ------------------------------------------------------------------------
    @property
    @abstractmethod
    def requests(self) -> int:
        """Requests made so far (0 for a directory)."""

    @abstractmethod
    def list_year(self, year: int) -> list[DumpFile]:
        """Every dump file listed under ``data/YYYY/`` (other names are skipped)."""

    @abstractmethod
    def open_transfer(self, file: DumpFile, offset: int) -> AbstractContextManager[Transfer]:
        """The file's bytes from ``offset`` (or from 0 when the server ignores the offset)."""

    @abstractmethod
    def fetch_bytes(self, file: DumpFile) -> bytes:
        """A small file (the CHECKSUM) in memory, one request."""

    def find_month(self, month: str, *, accept_unverified: bool = False,
                   dump_dates: Mapping[str, str] | None = None) -> MonthDump:
        """The files for partition ``YYYY-MM`` (one listing request; see ``select_month``);
        DumpNotPublished / DumpIncomplete otherwise."""
        files = self.list_year(int(check_month(month)[:4]))
        dump = select_month(files, month, accept_unverified=accept_unverified,
                            dump_dates=dump_dates)
        for kind in dump.unverified_kinds:
            self.log.warning(
                "%s: accepting %s WITHOUT a CHECKSUM: verified by listed size only",
                month,
                dump.files[kind].name,
            )
        return dump

    def download(
        self,
        file: DumpFile,
        dest_dir: Path,
        *,
        expected_sha256: str | None = None,
        progress: ProgressFn | None = None,
    ) -> DownloadResult:
        """Download and verify ``file`` into ``dest_dir`` (see ``download.download_file``)."""
        return download_file(
            file,
            dest_dir,
            self.open_transfer,
            expected_sha256=expected_sha256,
            settings=self.settings,
            request_count=lambda: self.requests,
            progress=progress,
            log=self.log,
        )

    def close(self) -> None:  # noqa: B027 - only the HTTP backend holds a resource
        """Release connections."""

    def __enter__(self) -> DumpSource:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def file_url_to_path(url: str) -> Path:
    parsed = urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        raise ValueError(f"file URL must point at a local directory, not host {parsed.netloc!r}")
    return Path(url2pathname(parsed.path))


class LocalDirectorySource(DumpSource):
    """A directory mirror laid out as ``data/YYYY/<files>``; exact sizes, no requests."""

    def __init__(self, root: Path, settings: DownloadSettings, log: Logger | None) -> None:
        super().__init__(settings, log)
        self.root = root

    @property
    def requests(self) -> int:
        return 0

    def list_year(self, year: int) -> list[DumpFile]:
        if not self.root.is_dir():
            raise DownloadFailed(f"dump directory {self.root} does not exist")
        folder = self.root / "data" / f"{year:04d}"
        if not folder.is_dir():
            return []
        files: list[DumpFile] = []
        for entry in sorted(folder.iterdir()):
            try:
                parsed = parse_dump_name(entry.name)
            except InvalidDumpName:
                continue
            if not entry.is_file():
                continue
            st = entry.stat()
            modified = datetime.fromtimestamp(st.st_mtime, UTC)
            key = key_for(parsed.name)
            files.append(DumpFile(parsed.name, st.st_size, key, None, modified, entry.as_uri()))
        return files

    def fetch_bytes(self, file: DumpFile) -> bytes:
        path = self.root / file.key  # the key was validated when the DumpFile was made
        if path.stat().st_size > MAX_SMALL_FILE_BYTES:
            raise DownloadFailed(f"{path} is too large for a CHECKSUM file")
        return path.read_bytes()

    @contextmanager
    def open_transfer(self, file: DumpFile, offset: int) -> Iterator[Transfer]:
        path = self.root / file.key  # the key was validated when the DumpFile was made
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed below, after the caller streams it
        except FileNotFoundError:
            raise DownloadFailed(f"{file.name} is no longer in {path.parent}") from None
        with fh:
            total = path.stat().st_size
            start = offset if 0 < offset <= total else 0
            fh.seek(start)
            chunk = self.settings.chunk_size
            yield Transfer(start, total, iter(lambda: fh.read(chunk), b""))


class HttpDumpSource(DumpSource):
    """The production host's protocol, or an S3-style listing, over httpx."""

    def __init__(
        self,
        url: str,
        settings: DownloadSettings,
        log: Logger | None,
        *,
        listing_format: str,
        user_agent: str,
        connect_timeout: float,
        stall_timeout: float,
        max_requests: int,
    ) -> None:
        super().__init__(settings, log)
        parsed = urlparse(url)
        if parsed.query or parsed.fragment:
            raise ValueError(f"dump source URL must not carry a query or fragment: {url!r}")
        self.base = url if url.endswith("/") else url + "/"
        self.listing_format = listing_format
        self._format: str | None = None if listing_format == "auto" else listing_format
        self.max_requests = max_requests
        self._requests = 0
        # The read timeout applies to every socket read: it is the stalled-stream timeout.
        self.client = httpx.Client(
            headers={"User-Agent": user_agent},
            timeout=httpx.Timeout(stall_timeout, connect=connect_timeout),
            follow_redirects=True,
            event_hooks={"request": [self._count_request]},
        )

    @property
    def requests(self) -> int:
        return self._requests

    def _count_request(self, request: httpx.Request) -> None:
        if self._requests >= self.max_requests:
            raise DownloadFailed(
                f"request budget of {self.max_requests} requests spent; refusing "
                f"{request.method} {request.url} (the host rate-limits: check again later)"
            )
        self._requests += 1

    def close(self) -> None:
        self.client.close()

    # -- URLs ---------------------------------------------------------------------------------
    def _listing_url(self, year: int, marker: str | None) -> str:
        url = f"{self.base}?prefix={quote(f'data/{year:04d}/', safe='')}"
        return url + (f"&marker={quote(marker, safe='')}" if marker else "")

    def _file_url(self, key: str, fmt: str) -> str:
        if fmt == "s3":
            return self.base + quote(key)
        return f"{self.base}?download={quote(key, safe='')}"

    # -- requests -----------------------------------------------------------------------------
    @staticmethod
    def _raise_for_status(resp: httpx.Response, what: str) -> None:
        status = resp.status_code
        if status in (200, 206):
            return
        message = f"{what}: HTTP {status} from {resp.request.url}"
        if status in (429, 503):
            wait = parse_retry_after(resp.headers.get("Retry-After"))
            hint = f" (Retry-After: {wait:.0f} s)" if wait is not None else ""
            raise TransientDownloadError(message + hint, retry_after=wait)
        if status == 416:
            raise RangeNotHonoured(message + " (range not satisfiable)")
        if status >= 500 or status == 408:
            raise TransientDownloadError(message)
        raise DownloadFailed(message)

    def _get_small(self, url: str, what: str, limit: int) -> bytes:
        """One GET of a small body, with retries."""

        def once() -> bytes:
            try:
                with self.client.stream("GET", url) as resp:
                    self._raise_for_status(resp, what)
                    body = bytearray()
                    for chunk in resp.iter_bytes():
                        body += chunk
                        if len(body) > limit:
                            raise DownloadFailed(f"{what}: response larger than {limit} bytes")
                    return bytes(body)
            except httpx.TransportError as exc:
                raise TransientDownloadError(f"{what}: {type(exc).__name__}: {exc}") from exc

        return retry_call(
            once, self.settings.retry, what=what, sleep=self.settings.sleep, log=self.log
        )

    def _parse_listing(self, body: bytes, what: str) -> Listing:
        s3 = looks_like_s3(body)
        if self._format is None:
            self._format = "s3" if s3 else "html"
        elif s3 != (self._format == "s3"):
            other = "s3" if s3 else "html"
            raise ListingError(
                f"{what}: the response is a {other} listing but listing_format is "
                f"{self._format!r}; set it to {other!r} or 'auto'"
            )
        if self._format == "s3":
            return parse_s3_listing(body, source=what)
        return parse_html_listing(body.decode("utf-8", "replace"), source=what)

    def list_year(self, year: int) -> list[DumpFile]:
        files: list[DumpFile] = []
        marker: str | None = None
        while True:
            what = f"listing of data/{year:04d}/"
            body = self._get_small(self._listing_url(year, marker), what, MAX_LISTING_BYTES)
            listing = self._parse_listing(body, what)
            files.extend(listing.files)
            for key in listing.ignored:
                self.log.info("%s: ignoring %r (not a dump file name)", what, unquote(key))
            if listing.next_marker is None:
                break
            marker = listing.next_marker
        fmt = self._format or "html"
        return [replace(f, url=self._file_url(f.key, fmt)) for f in files]

    def _url_of(self, file: DumpFile) -> str:
        if file.url.startswith(self.base):  # only ever request the configured host
            return file.url
        if self._format is None:  # auto, not yet listed: one listing request tells the format
            self.list_year(int(file.date[:4]))
        return self._file_url(file.key, self._format or "html")

    def fetch_bytes(self, file: DumpFile) -> bytes:
        return self._get_small(self._url_of(file), f"fetch {file.name}", MAX_SMALL_FILE_BYTES)

    @contextmanager
    def open_transfer(self, file: DumpFile, offset: int) -> Iterator[Transfer]:
        what = f"download {file.name}"
        # identity: the .gz bytes as stored, never transparently decompressed
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        try:
            with self.client.stream("GET", self._url_of(file), headers=headers) as resp:
                self._raise_for_status(resp, what)
                start, total = _body_range(resp, offset, what)
                yield Transfer(start, total, resp.iter_raw())  # as it arrives: no buffering
        except httpx.TransportError as exc:
            raise TransientDownloadError(f"{what}: {type(exc).__name__}: {exc}") from exc


def _body_range(resp: httpx.Response, offset: int, what: str) -> tuple[int, int | None]:
    """(first byte offset, whole file size) of a 200 or 206 response."""
    if resp.status_code == 200:
        length = resp.headers.get("Content-Length")
        return 0, int(length) if length and length.isdigit() else None
    content_range = resp.headers.get("Content-Range", "")
    try:
        unit, _, spec = content_range.partition(" ")
        span, _, size = spec.partition("/")
        first, _, last = span.partition("-")
        start, end, total = int(first), int(last), int(size)
    except ValueError:
        raise RangeNotHonoured(
            f"{what}: 206 with unusable Content-Range {content_range!r}"
        ) from None
    if unit != "bytes" or start != offset or end != total - 1:
        raise RangeNotHonoured(
            f"{what}: 206 with Content-Range {content_range!r} for a request from byte {offset}"
        )
    return start, total
