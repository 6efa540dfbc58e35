"""Acquisition: find a month's dump, parse its CHECKSUM, download and verify its files."""

from discogs_assets.lib.acquisition.checksum import ChecksumError, parse_checksum, sha256_file
from discogs_assets.lib.acquisition.download import (
    DownloadResult,
    check_free_space,
    format_progress,
)
from discogs_assets.lib.acquisition.errors import (
    ChecksumMismatch,
    DownloadError,
    DownloadFailed,
    InsufficientDiskSpace,
    RateLimited,
    TransientDownloadError,
)
from discogs_assets.lib.acquisition.listing import DumpFile, ListingError
from discogs_assets.lib.acquisition.names import CHECKSUM, KINDS, InvalidDumpName, parse_dump_name
from discogs_assets.lib.acquisition.selection import DumpIncomplete, DumpNotPublished, MonthDump
from discogs_assets.lib.acquisition.source import DEFAULT_USER_AGENT, DumpSource

__all__ = [
    "CHECKSUM",
    "DEFAULT_USER_AGENT",
    "KINDS",
    "ChecksumError",
    "ChecksumMismatch",
    "DownloadError",
    "DownloadFailed",
    "DownloadResult",
    "DumpFile",
    "DumpIncomplete",
    "DumpNotPublished",
    "DumpSource",
    "InsufficientDiskSpace",
    "InvalidDumpName",
    "ListingError",
    "MonthDump",
    "RateLimited",
    "TransientDownloadError",
    "check_free_space",
    "format_progress",
    "parse_checksum",
    "parse_dump_name",
    "sha256_file",
]
