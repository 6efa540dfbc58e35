"""Where a month's files live under the data directory (``DISCOGS_DATA_DIR``).

    <data_dir>/raw/YYYY-MM/discogs_YYYYMMDD_<kind>.xml.gz   downloaded, verified dump files
    <data_dir>/raw/YYYY-MM/discogs_YYYYMMDD_CHECKSUM.txt
    <data_dir>/parsed/YYYY-MM/<entity>/<table>.parquet      one directory per entity, swapped whole
    <data_dir>/warehouse.sqlite                             default warehouse
    <data_dir>/dagster_home/                                default DAGSTER_HOME
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def check_month(month: str) -> str:
    """Validate a partition key ``YYYY-MM`` and return it."""
    if not MONTH_RE.match(month):
        raise ValueError(f"not a month partition key (YYYY-MM): {month!r}")
    return month


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_month(month: str) -> str:
    year, mon = (int(x) for x in check_month(month).split("-"))
    return f"{year - 1:04d}-12" if mon == 1 else f"{year:04d}-{mon - 1:02d}"


def raw_dir(data_dir: Path, month: str) -> Path:
    return data_dir / "raw" / check_month(month)


def parsed_dir(data_dir: Path, month: str, entity: str) -> Path:
    return data_dir / "parsed" / check_month(month) / entity


def default_warehouse_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'warehouse.sqlite').resolve()}"
