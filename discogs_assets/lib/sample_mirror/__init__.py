"""Synthetic Discogs dump mirror in the 2026 format (see ``mirror.build_sample_mirror``)."""

from .mirror import (
    DEFAULT_MONTHS,
    DEFAULT_SEED,
    FileInfo,
    MirrorSummary,
    MonthSummary,
    SampleMirrorError,
    build_sample_mirror,
    checksum_file_name,
    dump_dir,
    dump_file_name,
)

__all__ = [
    "DEFAULT_MONTHS",
    "DEFAULT_SEED",
    "FileInfo",
    "MirrorSummary",
    "MonthSummary",
    "SampleMirrorError",
    "build_sample_mirror",
    "checksum_file_name",
    "dump_dir",
    "dump_file_name",
]
