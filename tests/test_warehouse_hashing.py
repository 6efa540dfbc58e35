"""Record hashes: pinned canonical text, content hashes checked against an independent XXH3
implementation (the ``xxhash`` package), order independence, sensitivity to every kind of
edit, and per-child-table hashes that move only with their table."""

from __future__ import annotations

import copy

import polars as pl
import xxhash
from warehouse_helpers import base_month

from discogs_assets.lib.tables import tables_for
from discogs_assets.lib.warehouse.hashing import (
    HASH_SCHEME,
    fast_hashes,
    record_hashes,
    row_text,
)

SPECS = tables_for("releases")
RELEASE_1000_TEXT = (
    '0;1000,N12:Landcruising2:UK4:1995NN100,t'
    '1;0,f10,10:Carl CraigNNNN'
    '2;0,1,8:Planet E6:PE 001'
    '4;0,5:Vinyl1:2N3[2:LP5:Album12:He said "hi"'
    '5;0,10:Electronic'
    '7;0,N2:A117:Mind Of A Machine4:7:02'
    '7;1,N2:A215:Science FictionN'
    '8;0,0,f10,10:Carl CraigNNN'
)
GOLDEN = {1000: "47a489facae19c7c8a754dbf17fc086a", 1001: "c964ccb2935aa8c95de7c06b8e988907",
          1002: "1d68a88c75367ca1d9551130e4b0d22f"}


def frames_of(data: dict) -> dict[str, pl.DataFrame]:
    return {s.name: pl.DataFrame([{c: r.get(c) for c in s.columns}
                                  for r in data.get(s.name, [])], schema=s.schema, orient="row")
            for s in SPECS}


def hashes(data: dict) -> dict[int, str]:
    return dict(record_hashes(frames_of(data), SPECS).select("id", "content_hash").rows())


def row_texts(frames: dict[str, pl.DataFrame], record: int) -> list[str]:
    texts: list[str] = []
    for index, spec in enumerate(SPECS):
        rows = frames[spec.name].filter(pl.col(spec.parent_key) == record)
        ordered = rows.sort(list(spec.unique_key))
        texts += ordered.select(row_text(spec, index)).to_series().to_list()
    return texts


def independent_hash(texts: list[str]) -> str:
    """The documented definition, computed with another XXH3 implementation."""
    total = sum(xxhash.xxh3_128_intdigest(t.encode()) for t in texts) % 2**128
    return total.to_bytes(16, "little").hex()


def test_canonical_text_and_hash_are_pinned() -> None:
    # Warehouses record the scheme's name: a change to the hashes must come with a new name.
    assert HASH_SCHEME == "xxh3-128-row-sum/1"
    frames = frames_of(base_month()["releases"])
    assert "".join(row_texts(frames, 1000)) == RELEASE_1000_TEXT
    assert {r: independent_hash(row_texts(frames, r)) for r in GOLDEN} == GOLDEN
    assert hashes(base_month()["releases"]) == GOLDEN


def test_child_hashes_follow_the_independent_definition() -> None:
    frames = frames_of(base_month()["releases"])
    got = dict(record_hashes(frames, SPECS).select("id", "child_hashes").rows())
    for record, digests in got.items():
        for index, spec in enumerate(SPECS[1:], start=1):
            rows = frames[spec.name].filter(pl.col(spec.parent_key) == record)
            total = sum(xxhash.xxh3_128_intdigest(t.encode()) for t in
                        rows.select(row_text(spec, index)).to_series().to_list()) % 2**64
            assert digests[16 * (index - 1):16 * index] == total.to_bytes(8, "little").hex()


def test_row_order_in_the_input_does_not_matter() -> None:
    frames = {name: df.reverse() for name, df in frames_of(base_month()["releases"]).items()}
    assert dict(record_hashes(frames, SPECS).select("id", "content_hash").rows()) == GOLDEN


def test_only_the_edited_child_table_moves() -> None:
    data = base_month()["releases"]
    before = dict(record_hashes(frames_of(data), SPECS).select("id", "child_hashes").rows())
    data["release_track"][1]["duration"] = "5:00"
    after = dict(record_hashes(frames_of(data), SPECS).select("id", "child_hashes").rows())
    track = [s.name for s in SPECS].index("release_track")

    def split(digests: str) -> list[str]:
        return [digests[i:i + 16] for i in range(0, len(digests), 16)]

    moved = [i + 1 for i, (a, b) in enumerate(zip(split(before[1000]), split(after[1000]),
                                                   strict=True)) if a != b]
    assert moved == [track]
    assert after[1001] == before[1001]


def test_every_kind_of_edit_changes_only_its_record() -> None:
    base = base_month()["releases"]
    edits = {
        "root field": lambda d: d["release"][0].update(country="DE"),
        "null vs empty": lambda d: d["release"][0].update(notes=""),
        "child text": lambda d: d["release_track"][1].update(duration="5:00"),
        "list element": lambda d: d["release_format"][0]["descriptions"].append("Reissue"),
        "bool": lambda d: d["release"][0].update(is_main_release=False),
        "new child row": lambda d: d["release_genre"].append(
            {"release_id": 1000, "position": 1, "genre": "Jazz"}),
        "text moved between fields": lambda d: d["release_track"][0].update(
            position="A1Mind", title=" Of A Machine"),
    }
    for name, edit in edits.items():
        data = copy.deepcopy(base)
        edit(data)
        got = hashes(data)
        assert got[1000] != GOLDEN[1000], name
        assert (got[1001], got[1002]) == (GOLDEN[1001], GOLDEN[1002]), name


def test_records_without_children_and_empty_input() -> None:
    data = {"release": [{"id": 5, "title": "Bare"}]}
    assert set(hashes(data)) == {5}
    assert record_hashes(frames_of({}), SPECS).height == 0


def test_fast_fingerprint_follows_content_not_row_order() -> None:
    frames = frames_of(base_month()["releases"])
    fast = dict(fast_hashes(frames, SPECS).rows())
    shuffled = {name: df.reverse() for name, df in frames.items()}
    assert dict(fast_hashes(shuffled, SPECS).rows()) == fast
    data = base_month()["releases"]
    data["release_track"][1]["duration"] = "5:00"
    edited = dict(fast_hashes(frames_of(data), SPECS).rows())
    assert edited[1000] != fast[1000] and edited[1001] == fast[1001]
