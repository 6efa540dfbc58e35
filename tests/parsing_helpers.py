"""Helpers for the parsing tests: run both engines, read the tables back, count independently."""

from __future__ import annotations

import gzip
import importlib.util
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from types import ModuleType

import polars as pl
from polars.testing import assert_frame_equal

from discogs_assets.lib.parsing import ParseResult, parse_dump
from discogs_assets.lib.tables import tables_for

SAMPLES = "philipmat_discogs-xml2db"
REPO = Path(__file__).resolve().parents[1]


def load_generator() -> ModuleType:
    """benchmarks/gen_releases.py (a script directory, not an importable package)."""
    spec = importlib.util.spec_from_file_location("gen_releases",
                                                  REPO / "benchmarks" / "gen_releases.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_tables(out_dir: Path, entity: str) -> dict[str, pl.DataFrame]:
    return {t.name: pl.read_parquet(out_dir / f"{t.name}.parquet") for t in tables_for(entity)}


def parse_to_frames(path: Path, out_dir: Path, **kwargs: object
                    ) -> tuple[ParseResult, dict[str, pl.DataFrame]]:
    kwargs.setdefault("workers", 0)
    result = parse_dump(path, out_dir, **kwargs)  # type: ignore[arg-type]
    return result, read_tables(out_dir, result.entity)


def parse_both(path: Path, tmp_path: Path, **kwargs: object) -> dict[str, pl.DataFrame]:
    """Parse with the fast path and the reference; assert they agree row for row."""
    fast_result, fast = parse_to_frames(path, tmp_path / "fast", engine="fast", **kwargs)
    ref_result, ref = parse_to_frames(path, tmp_path / "ref", engine="reference", **kwargs)
    assert fast_result.records == ref_result.records
    assert fast_result.control_chars_replaced == ref_result.control_chars_replaced
    for name in ref:
        try:
            assert_frame_equal(fast[name], ref[name], check_exact=True)
        except AssertionError as exc:
            raise AssertionError(f"{path.name}: table {name}: {exc}") from None
    return ref


def write_xml(directory: Path, name: str, text: str | bytes) -> Path:
    path = directory / name
    data = text.encode() if isinstance(text, str) else text
    if name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def _open(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


# Lists of strings: an empty element (``<url/>``) carries nothing and gives no row.
_STRING_LISTS = frozenset({"release_genre", "release_style", "master_genre", "master_style",
                           "artist_namevariation", "artist_url", "label_url"})


def _count(record: ET.Element, table: str, path: str) -> int:
    found = record.findall(path)
    return sum(1 for e in found if e.text) if table in _STRING_LISTS else len(found)


def etree_counts(path: Path) -> Counter[str]:
    """Row counts per table by a plain ElementTree walk (independent of both engines)."""
    root = ET.fromstring(_open(path))
    records = list(root) if root.tag in ("labels", "artists", "masters", "releases") else [root]
    c: Counter[str] = Counter()
    for r in records:
        c[r.tag] += 1
        if r.tag == "release":
            c["release_artist"] += len(r.findall("artists/artist")) + len(
                r.findall("extraartists/artist"))
            for table, path_ in (("release_label", "labels/label"),
                                 ("release_series", "series/series"),
                                 ("release_format", "formats/format"),
                                 ("release_genre", "genres/genre"),
                                 ("release_style", "styles/style"),
                                 ("release_identifier", "identifiers/identifier"),
                                 ("release_video", "videos/video"),
                                 ("release_company", "companies/company")):
                c[table] += _count(r, table, path_)
            tracks = r.findall("tracklist/track") + r.findall("tracklist/track/sub_tracks/track")
            c["release_track"] += len(tracks)
            c["sub_tracks"] += len(r.findall("tracklist/track/sub_tracks"))
            c["release_track_artist"] += sum(
                len(t.findall("artists/artist")) + len(t.findall("extraartists/artist"))
                for t in tracks)
        elif r.tag == "master":
            for table, path_ in (("master_artist", "artists/artist"),
                                 ("master_genre", "genres/genre"),
                                 ("master_style", "styles/style"),
                                 ("master_video", "videos/video")):
                c[table] += _count(r, table, path_)
        elif r.tag == "artist":
            for table, path_ in (("artist_alias", "aliases/name"),
                                 ("artist_namevariation", "namevariations/name"),
                                 ("artist_member", "members/name"),
                                 ("artist_group", "groups/name"),
                                 ("artist_url", "urls/url")):
                c[table] += _count(r, table, path_)
        elif r.tag == "label":
            c["label_sublabel"] += len(r.findall("sublabels/label"))
            c["label_url"] += _count(r, "label_url", "urls/url")
    return c
