"""Which raw month directories to delete: everything but the newest N, never one in use."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from discogs_assets.lib.layout import MONTH_RE


def select_raw_months_to_delete(
    months_on_disk: Iterable[str], *, keep: int | None, in_use: Iterable[str] = ()
) -> list[str]:
    """Months (``YYYY-MM`` directory names) to delete, oldest first.

    ``keep`` None or 0 keeps everything. Names that are not months are never selected (a stray
    directory is not ours to delete). Months in ``in_use`` (a run is using them) are kept.
    """
    if not keep:
        return []
    months = sorted({m for m in months_on_disk if MONTH_RE.match(m)})
    busy = set(in_use)
    return [m for m in months[:-keep] if m not in busy]


def delete_raw_months(raw_root: Path, months: Iterable[str]) -> tuple[list[str], dict[str, str]]:
    """Delete ``raw_root/<month>`` for each month; (deleted, month -> error). Never raises:
    cleanup is best effort and a failure must not fail the pipeline."""
    deleted: list[str] = []
    errors: dict[str, str] = {}
    for month in months:
        target = raw_root / month
        if not MONTH_RE.match(month) or target.parent != raw_root:
            errors[month] = "not a month directory name"
            continue
        try:
            shutil.rmtree(target)
            deleted.append(month)
        except FileNotFoundError:
            deleted.append(month)  # already gone: the goal is reached
        except OSError as exc:
            errors[month] = f"{type(exc).__name__}: {exc}"
    return deleted, errors
