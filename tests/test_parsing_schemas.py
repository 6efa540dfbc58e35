"""pandera schemas of the parsed tables, and the progress callback."""

from __future__ import annotations

from pathlib import Path

import pandera.errors
import polars as pl
import pytest
from parsing_helpers import SAMPLES

from discogs_assets.lib.parsing import ParseProgress, parse_dump
from discogs_assets.lib.parsing import runner as runner_module
from discogs_assets.lib.parsing.schemas import validate_table
from discogs_assets.lib.tables import TABLES, empty_frame


@pytest.mark.parametrize("table", [t.name for t in TABLES])
def test_empty_contract_frames_are_valid(table: str) -> None:
    validate_table(table, empty_frame(table))


def _tracks(**overrides: list[object]) -> pl.DataFrame:
    data: dict[str, list[object]] = {
        "release_id": [1, 1, 1], "track_idx": [0, 1, 2], "parent_idx": [None, 0, 0],
        "position": ["1", "1a", "1b"], "title": ["h", "a", "b"], "duration": [None] * 3}
    data.update(overrides)
    return pl.DataFrame(data, schema=empty_frame("release_track").schema)


def test_release_track_rules() -> None:
    validate_table("release_track", _tracks())
    bad_cases = {
        "duplicate key": _tracks(track_idx=[0, 1, 1]),
        "null parent key": _tracks(release_id=[1, None, 1]),
        "parent after track": _tracks(parent_idx=[None, 0, 2]),
        "negative index": _tracks(track_idx=[-1, 1, 2], parent_idx=[None, None, None]),
    }
    for case, frame in bad_cases.items():
        with pytest.raises(pandera.errors.SchemaErrors):
            validate_table("release_track", frame)
            pytest.fail(case)


def test_release_rules_ids_and_dtypes() -> None:
    good = empty_frame("release").vstack(pl.DataFrame(
        {"id": [1, 2], "master_id": [None, 5]}, schema_overrides={"id": pl.Int64}
    ).select(pl.col(c).cast(t) if c in ("id", "master_id") else pl.lit(None, t).alias(c)
             for c, t in empty_frame("release").schema.items()))
    validate_table("release", good)
    with pytest.raises(pandera.errors.SchemaErrors, match="id"):
        validate_table("release", good.with_columns(id=pl.lit(1, pl.Int64)))  # not unique
    with pytest.raises(pandera.errors.SchemaErrors):
        validate_table("release", good.with_columns(master_id=pl.lit(0, pl.Int64)))  # 0 id
    with pytest.raises(pandera.errors.SchemaErrors):
        validate_table("release", good.with_columns(pl.col("id").cast(pl.Int32)))


def test_progress_is_reported(sample_dumps: Path, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "PROGRESS_EVERY_S", 0.0)
    seen: list[ParseProgress] = []
    parse_dump(sample_dumps / SAMPLES / "discogs_20200806_releases.xml.gz", tmp_path / "o",
               workers=0, chunk_bytes=512 << 10, progress=seen.append)
    assert len(seen) >= 3
    assert [p.records for p in seen] == sorted(p.records for p in seen)
    assert seen[-1].records == 1000 and seen[-1].bytes_xml > 0
