"""The four dump kinds and their root tables: names every stage shares.

Kept apart from the table contract (``tables.py``, which needs polars) so that code handling
only names (acquisition, the sample mirror, the command line) does not import polars.
"""

from __future__ import annotations

ENTITIES: tuple[str, ...] = ("labels", "artists", "masters", "releases")
"""Dump kinds in warehouse load order (a release refers to labels, artists and masters)."""

ENTITY_ROOT_TABLE: dict[str, str] = {
    "labels": "label",
    "artists": "artist",
    "masters": "master",
    "releases": "release",
}
