"""Hand-built parsed months for the warehouse tests (Parquet in the contract's exact dtypes)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from discogs_assets.lib.tables import ENTITIES, TABLES_BY_NAME, tables_for

Month = dict[str, dict[str, list[dict[str, Any]]]]
"""entity -> table -> rows (missing columns are null)."""


def write_month(root: Path, month: str, data: Mapping[str, Mapping[str, list[dict]]]) -> Path:
    """Write ``data`` as ``root/<month>/<entity>/<table>.parquet``; every table of an entity
    is written (empty when not given). Returns ``root/<month>``."""
    for entity, tables in data.items():
        out = root / month / entity
        out.mkdir(parents=True, exist_ok=True)
        for spec in tables_for(entity):
            rows = [{c: r.get(c) for c in spec.columns} for r in tables.get(spec.name, [])]
            pl.DataFrame(rows, schema=spec.schema, orient="row").write_parquet(
                out / f"{spec.name}.parquet")
    return root / month


def base_month() -> Month:
    """A small, referentially closed month with one dangling label and one unlinked credit."""
    return {
        "labels": {
            "label": [
                {"id": 1, "name": "Planet E", "profile": "Detroit", "data_quality": "Correct"},
                {"id": 2, "name": "Sub Label", "parent_label_id": 1,
                 "parent_label_name": "Planet E"},
                {"id": 3, "name": "Long Gone"},
            ],
            "label_sublabel": [{"label_id": 1, "position": 0, "sublabel_id": 2,
                                "name": "Sub Label"}],
            "label_url": [{"label_id": 1, "position": 0, "url": "https://planet-e.net"}],
        },
        "artists": {
            "artist": [
                {"id": 10, "name": "Carl Craig", "realname": "Carl Craig"},
                {"id": 11, "name": "Moodymann"},
                {"id": 12, "name": "Paperclip People"},
            ],
            "artist_alias": [{"artist_id": 10, "position": 0, "alias_id": 12,
                              "name": "Paperclip People"}],
            "artist_namevariation": [{"artist_id": 10, "position": 0, "name": "C. Craig"}],
            "artist_group": [{"artist_id": 10, "position": 0, "group_id": 99, "name": "Ghost"}],
        },
        "masters": {
            "master": [{"id": 100, "title": "Landcruising", "year": 1995, "main_release_id": 1000}],
            "master_artist": [{"master_id": 100, "position": 0, "artist_id": 10,
                               "name": "Carl Craig"}],
            "master_genre": [{"master_id": 100, "position": 0, "genre": "Electronic"}],
        },
        "releases": {
            "release": [
                {"id": 1000, "title": "Landcruising", "country": "UK", "released": "1995",
                 "master_id": 100, "is_main_release": True},
                {"id": 1001, "title": "Throw", "country": "US", "released": "1994-00-00",
                 "master_id": 0, "is_main_release": False},
                {"id": 1002, "title": "Untitled", "master_id": 0},
            ],
            "release_artist": [
                {"release_id": 1000, "position": 0, "extra": False, "artist_id": 10,
                 "name": "Carl Craig"},
                {"release_id": 1001, "position": 0, "extra": False, "artist_id": 12,
                 "name": "Paperclip People", "join": ","},
                {"release_id": 1001, "position": 0, "extra": True, "artist_id": None,
                 "name": "Somebody", "role": "Mastered By"},
                {"release_id": 1002, "position": 0, "extra": False, "artist_id": 11,
                 "name": "Moodymann"},
            ],
            "release_label": [
                {"release_id": 1000, "position": 0, "label_id": 1, "name": "Planet E",
                 "catno": "PE 001"},
                {"release_id": 1001, "position": 0, "label_id": 777, "name": "Gone Away",
                 "catno": "GA-1"},
                {"release_id": 1002, "position": 0, "label_id": 3, "name": "Long Gone",
                 "catno": ""},
            ],
            "release_format": [
                {"release_id": 1000, "position": 0, "name": "Vinyl", "qty": "2",
                 "descriptions": ["LP", "Album", 'He said "hi"']},
                {"release_id": 1001, "position": 0, "name": "Vinyl", "qty": "99999999999999999999",
                 "descriptions": []},
                {"release_id": 1002, "position": 0, "name": "CD", "qty": "1",
                 "descriptions": None},
            ],
            "release_track": [
                {"release_id": 1000, "track_idx": 0, "position": "A1", "title": "Mind Of A Machine",
                 "duration": "7:02"},
                {"release_id": 1000, "track_idx": 1, "position": "A2", "title": "Science Fiction"},
                {"release_id": 1001, "track_idx": 0, "position": "A", "title": "Throw" * 1200},
                {"release_id": 1001, "track_idx": 1, "parent_idx": 0, "position": "A.a",
                 "title": "Sub track"},
            ],
            "release_track_artist": [
                {"release_id": 1000, "track_idx": 0, "position": 0, "extra": False,
                 "artist_id": 10, "name": "Carl Craig"},
            ],
            "release_genre": [{"release_id": 1000, "position": 0, "genre": "Electronic"}],
        },
    }


def next_month(data: Month) -> Month:
    """base_month with additions, edits and removals (label 3 and release 1002 go away)."""
    m = copy.deepcopy(data)
    m["labels"]["label"] = [r for r in m["labels"]["label"] if r["id"] != 3]
    m["labels"]["label"].append({"id": 4, "name": "New Label"})
    m["labels"]["label"][0]["profile"] = "Detroit, MI"  # edit of label 1
    m["releases"]["release"] = [r for r in m["releases"]["release"] if r["id"] != 1002]
    m["releases"]["release_artist"] = [r for r in m["releases"]["release_artist"]
                                       if r["release_id"] != 1002]
    m["releases"]["release_label"] = [r for r in m["releases"]["release_label"]
                                      if r["release_id"] != 1002]
    m["releases"]["release_format"] = [r for r in m["releases"]["release_format"]
                                       if r["release_id"] != 1002]
    # an edit deep in a child table changes release 1000
    m["releases"]["release_track"][1]["title"] = "Science Fiction (Edit)"
    m["releases"]["release"].append({"id": 1003, "title": "Brand New", "master_id": 0})
    m["releases"]["release_label"].append({"release_id": 1003, "position": 0, "label_id": 4,
                                           "catno": "NEW 1"})
    return m


def load_all(engine: sa.Engine, root: Path, month: str, **kwargs: Any) -> dict[str, Any]:
    from discogs_assets.lib.warehouse import load_month

    return {e: load_month(engine, month=month, entity=e, parsed_dir=root / month / e, **kwargs)
            for e in ENTITIES}


def snapshot(engine: sa.Engine, tables: Iterable[str] = TABLES_BY_NAME) -> dict[str, list[tuple]]:
    """Every row of every warehouse table, sorted, JSON normalized: for equality checks."""
    out: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        for table in tables:
            rows = conn.execute(sa.text(f'SELECT * FROM "{table}"')).all()
            out[table] = sorted((tuple(_norm(v) for v in r) for r in rows), key=repr)
    return out


def _norm(value: Any) -> Any:
    import json

    if isinstance(value, list):
        return json.dumps(value)
    if isinstance(value, str) and value.startswith("["):
        try:
            return json.dumps(json.loads(value))
        except ValueError:
            return value
    if isinstance(value, bool):
        return int(value)
    return value


def _child_main() -> None:
    """``python tests/warehouse_helpers.py URL PARSED_DIR MONTH ENTITY GO_FILE``: load one
    entity, pausing inside the load transaction after its first write to a warehouse table
    (staging tables do not count; on the merge path tombstones, last-seen bumps and child
    deletes have happened by then) until GO_FILE exists, printing PAUSED first, so a test can
    kill -9 the process mid-transaction or race a second load against it."""
    import sys
    import time

    from discogs_assets.lib.warehouse import first_load, load, make_engine, merge

    url, parsed, month, entity, go_file = sys.argv[1:6]
    real_insert, real_inserts = merge.insert_frame, first_load.insert_frames
    paused = False

    def pause_once(table: str) -> None:
        nonlocal paused
        if not paused and not table.startswith("stage_"):
            paused = True
            print("PAUSED", flush=True)
            while not Path(go_file).exists():
                time.sleep(0.05)

    def pausing_insert(conn: Any, table: str, df: Any, **kwargs: Any) -> int:
        written = real_insert(conn, table, df, **kwargs)
        pause_once(table)
        return written

    def pausing_inserts(conn: Any, tables: Any, frame_of: Any, after: Any = None) -> int:
        def done(table: str) -> None:
            if after:
                after(table)
            pause_once(table)

        return real_inserts(conn, tables, frame_of, done)

    merge.insert_frame = pausing_insert  # the merge path
    first_load.insert_frames = pausing_inserts  # the first load
    result = load.load_month(make_engine(url), month=month, entity=entity,
                             parsed_dir=Path(parsed), log=lambda m: print(m, flush=True))
    print(f"DONE added={result.added} changed={result.changed} removed={result.removed}",
          flush=True)


if __name__ == "__main__":
    _child_main()
