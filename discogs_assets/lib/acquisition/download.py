"""Download one dump file: stream to ``<name>.part``, hash while streaming, verify, rename.

The temporary name is stable so a later attempt (or a later run) can resume it with a Range
request; the final name only ever holds a complete, verified file (fsync, atomic rename, fsync
of the directory). The sha256 computed while streaming is recorded next to the file with its
size and mtime (``.<name>.sha256.json``), so a file already present is verified again without
reading it while it is unchanged; a present file that does not verify is fetched again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from discogs_assets.lib.acquisition.checksum import file_sha256, record_sha256
from discogs_assets.lib.acquisition.errors import (
    ChecksumMismatch,
    InsufficientDiskSpace,
    RangeNotHonoured,
    TransientDownloadError,
)
from discogs_assets.lib.acquisition.listing import DumpFile
from discogs_assets.lib.acquisition.names import parse_dump_name
from discogs_assets.lib.acquisition.retry import retry_call
from discogs_assets.lib.atomic import fsync_dir
from discogs_assets.lib.http_retry import RetryPolicy

ProgressFn = Callable[[int, int | None, float, float | None], None]
FreeBytesFn = Callable[[Path], int]
Logger = logging.Logger | logging.LoggerAdapter
_log = logging.getLogger(__name__)


@dataclass
class Transfer:
    """One response body: ``start`` is the offset of its first byte (0 = the whole file)."""

    start: int
    total: int | None  # size of the whole file when the server said so
    chunks: Iterable[bytes]


Opener = Callable[[DumpFile, int], AbstractContextManager[Transfer]]


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    bytes: int  # size of the verified file
    seconds: float
    mb_per_s: float  # transferred MB (10^6) per second
    sha256: str
    requests: int  # HTTP requests made for this file
    skipped: bool  # already present and verified: nothing fetched
    verified: bool  # sha256 checked (False: listed size only)
    transferred: int = 0  # bytes received in this call
    resumed_from: int = 0  # offset of the first successful resume (0 = none)


@dataclass
class DownloadSettings:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    progress_interval: float = 10.0  # seconds between progress reports
    chunk_size: int = 1 << 20
    sleep: Callable[[float], None] = time.sleep
    free_bytes: FreeBytesFn | None = None  # injectable for tests; default: the disk's free space


def disk_free(path: Path) -> int:
    return shutil.disk_usage(path).free


def existing_ancestor(path: Path) -> Path:
    """``path``, or its nearest parent that exists: the disk a directory not made yet is on."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_free_space(
    dest_dir: Path, needed_bytes: int, free_bytes: FreeBytesFn | None = None
) -> None:
    """Refuse to start when ``dest_dir``'s disk has less than ``needed_bytes`` free."""
    free = (free_bytes or disk_free)(existing_ancestor(dest_dir))
    if free < needed_bytes:
        raise InsufficientDiskSpace(
            f"not enough free disk space in {dest_dir}: need {human_bytes(needed_bytes)} "
            f"(listed sizes), {human_bytes(free)} free"
        )


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def format_progress(name: str, done: int, total: int | None, mbps: float, eta: float | None) -> str:
    """One progress line: bytes, %, MB/s, ETA."""
    pct = f" of {human_bytes(total)} ({100 * done / total:.1f} %)" if total else ""
    eta_s = f", ETA {eta:.0f} s" if eta is not None else ""
    return f"{name}: {human_bytes(done)}{pct}, {mbps:.1f} MB/s{eta_s}"


class _Progress:
    """Rate-limited progress reporting (callback if given, else the log)."""

    def __init__(
        self,
        name: str,
        total: int | None,
        interval: float,
        callback: ProgressFn | None,
        log: Logger,
    ) -> None:
        self.name, self.total, self.interval = name, total, interval
        self.callback, self.log = callback, log
        self.started = time.monotonic()
        self.last = self.started
        self.transferred = 0

    def update(self, done: int, total: int | None, added: int) -> None:
        self.transferred += added
        now = time.monotonic()
        if now - self.last < self.interval:
            return
        self.last = now
        self.report(done, total or self.total)

    def report(self, done: int, total: int | None) -> None:
        mbps = self.mb_per_s()
        eta = (total - done) / (mbps * 1e6) if total and mbps > 0 else None
        if self.callback:
            self.callback(done, total, mbps, eta)
        else:
            self.log.info(format_progress(self.name, done, total, mbps, eta))

    def mb_per_s(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.transferred / 1e6 / elapsed if elapsed > 0 else 0.0


def _hash_prefix(path: Path, chunk: int) -> tuple[hashlib._Hash, int]:
    hasher = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            hasher.update(block)
            size += len(block)
    return hasher, size


def _already_done(
    final: Path, file: DumpFile, expected_sha256: str | None, log: Logger
) -> str | None:
    """The sha256 of a present final file that still verifies; remove it otherwise."""
    if not final.exists():
        return None
    size = final.stat().st_size
    digest = file_sha256(final)
    ok = digest == expected_sha256 if expected_sha256 is not None else file.size_matches(size)
    if ok:
        return digest
    log.warning(
        "%s is present but does not verify (sha256 %s, %d bytes); fetching it again",
        final,
        digest,
        size,
    )
    final.unlink()
    return None


@dataclass
class _PartWriter:
    """Streams the file into ``<name>.part``, hashing as it writes; resumes a part already there."""

    name: str
    file: DumpFile
    part: Path
    opener: Opener
    chunk_size: int
    tracker: _Progress
    log: Logger
    resumed_from: int = 0  # offset of the first resume the server honoured (0 = none)

    def attempt(self) -> tuple[str, int]:
        """One transfer to the end of the file: (sha256, size)."""
        name, part = self.name, self.part
        offset = part.stat().st_size if part.exists() else 0
        try:
            with self.opener(self.file, offset) as transfer:
                if transfer.start and transfer.start == offset:
                    hasher, done = _hash_prefix(part, self.chunk_size)
                    self.resumed_from = self.resumed_from or offset
                    mode = "ab"
                else:  # a 200 to a Range request: the server restarts from zero
                    if offset:
                        self.log.info("%s: server ignored the Range request; restarting", name)
                    hasher, done, mode = hashlib.sha256(), 0, "wb"
                with open(part, mode) as fh:
                    for chunk in transfer.chunks:
                        fh.write(chunk)
                        hasher.update(chunk)
                        done += len(chunk)
                        self.tracker.update(done, transfer.total, len(chunk))
                    fh.flush()
                    os.fsync(fh.fileno())
        except RangeNotHonoured:
            part.unlink(missing_ok=True)
            raise
        if transfer.total is not None and done != transfer.total:
            raise TransientDownloadError(f"{name}: received {done} of {transfer.total} bytes")
        return hasher.hexdigest(), done


def download_file(
    file: DumpFile,
    dest_dir: Path,
    opener: Opener,
    *,
    expected_sha256: str | None,
    settings: DownloadSettings,
    request_count: Callable[[], int],
    progress: ProgressFn | None = None,
    log: Logger | None = None,
) -> DownloadResult:
    """Fetch ``file`` into ``dest_dir/<name>``, verified by sha256 (or listed size if None)."""
    log = log or _log
    name = parse_dump_name(file.name).name  # validated before it touches the disk
    expected = expected_sha256.lower() if expected_sha256 else None
    dest_dir.mkdir(parents=True, exist_ok=True)
    final, part = dest_dir / name, dest_dir / f"{name}.part"
    started, requests_before = time.monotonic(), request_count()
    # One writer per file even when two runs overlap; the second finds the file done.
    with FileLock(str(dest_dir / f".{name}.lock")):
        digest = _already_done(final, file, expected, log)
        if digest is not None:
            size = final.stat().st_size
            log.info("%s already present and verified; not downloading", name)
            return DownloadResult(final, size, 0.0, 0.0, digest, 0, True, expected is not None)
        have = part.stat().st_size if part.exists() else 0
        check_free_space(dest_dir, max(file.size - have, 0), settings.free_bytes)
        tracker = _Progress(name, file.size, settings.progress_interval, progress, log)
        writer = _PartWriter(name, file, part, opener, settings.chunk_size, tracker, log)
        first_bad: str | None = None
        for pass_no in (1, 2):  # the second pass is the one re-download after a mismatch
            digest, size = retry_call(
                writer.attempt, settings.retry, what=f"download {name}", sleep=settings.sleep,
                log=log,
            )
            problem = _mismatch(file, size, digest, expected)
            if problem is None:
                os.replace(part, final)
                fsync_dir(dest_dir)
                record_sha256(final, digest)  # hashed while streaming: never hashed again
                seconds = time.monotonic() - started
                tracker.report(size, size)
                return DownloadResult(
                    final, size, seconds, tracker.mb_per_s(), digest,
                    request_count() - requests_before, skipped=False,
                    verified=expected is not None, transferred=tracker.transferred,
                    resumed_from=writer.resumed_from,
                )
            part.unlink(missing_ok=True)
            if pass_no == 1:
                first_bad = problem
                log.warning("%s: %s; deleted, downloading once more", name, problem)
        raise ChecksumMismatch(
            f"{name}: {problem} (first download: {first_bad}); the file on the server does not "
            f"match the dump's CHECKSUM"
        )


def _mismatch(file: DumpFile, size: int, digest: str, expected: str | None) -> str | None:
    """Why a downloaded file does not verify, or None.

    With a CHECKSUM the sha256 decides alone (listed sizes may be rounded human sizes); without
    one, the listed size is all there is.
    """
    if expected is not None:
        return (
            None if digest == expected else f"sha256 {digest} differs from the expected {expected}"
        )
    if not file.size_matches(size):
        listed = file.size if file.size_exact else f"{file.size_min}..{file.size}"
        return f"size {size} differs from the listed {listed} bytes (sha256 {digest})"
    return None
