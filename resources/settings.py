"""Pipeline-wide settings: where data lives and how hard stages may work."""

from __future__ import annotations

from pathlib import Path

import dagster as dg


class PipelineSettings(dg.ConfigurableResource):
    """Settings shared by every stage (``DISCOGS_DATA_DIR`` and tuning knobs)."""

    data_dir: str = "data"
    parse_workers: int = 2
    max_shrink_fraction: float = 0.10

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser().resolve()
