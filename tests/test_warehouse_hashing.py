"""Content hashes: pinned canonical text (stable across polars versions), order independence,
and sensitivity to every kind of edit."""

from __future__ import annotations

import copy
import hashlib

import polars as pl
from warehouse_helpers import base_month

from discogs_assets.lib.tables import tables_for
from discogs_assets.lib.warehouse.hashing import content_hashes, record_rows

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
GOLDEN = {1000: "70775e2c446f0714ac28256a8d3c0c46", 1001: "93a9b9dc3ee6fe8e5583407cd3d78004",
          1002: "d097ca23f5207bdc635f2d2d5fe5d840"}


def frames_of(data: dict) -> dict[str, pl.DataFrame]:
    return {s.name: pl.DataFrame([{c: r.get(c) for c in s.columns}
                                  for r in data.get(s.name, [])], schema=s.schema, orient="row")
            for s in SPECS}


def hashes(data: dict) -> dict[int, str]:
    return dict(content_hashes(frames_of(data), SPECS).rows())


def test_canonical_text_and_hash_are_pinned() -> None:
    data = base_month()["releases"]
    texts = record_rows(frames_of(data), SPECS).filter(pl.col("id") == 1000)
    assert "".join(texts.get_column("_text")) == RELEASE_1000_TEXT
    assert hashlib.blake2b(RELEASE_1000_TEXT.encode(), digest_size=16).hexdigest() == GOLDEN[1000]
    assert hashes(data) == GOLDEN


def test_row_order_in_the_input_does_not_matter() -> None:
    frames = {name: df.reverse() for name, df in frames_of(base_month()["releases"]).items()}
    assert dict(content_hashes(frames, SPECS).rows()) == GOLDEN


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
    assert content_hashes(frames_of({}), SPECS).height == 0


def test_fast_fingerprint_follows_content_not_row_order() -> None:
    from discogs_assets.lib.warehouse.hashing import fast_hashes

    frames = frames_of(base_month()["releases"])
    fast = dict(fast_hashes(frames, SPECS).rows())
    shuffled = {name: df.reverse() for name, df in frames.items()}
    assert dict(fast_hashes(shuffled, SPECS).rows()) == fast
    data = base_month()["releases"]
    data["release_track"][1]["duration"] = "5:00"
    edited = dict(fast_hashes(frames_of(data), SPECS).rows())
    assert edited[1000] != fast[1000] and edited[1001] == fast[1001]
