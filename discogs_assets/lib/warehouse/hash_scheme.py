"""Which content-hash scheme an entity's stored hashes were made with.

A load compares the month's record hashes with the stored ones; hashes from another scheme
would make every record look changed (and be rewritten and counted so). So an entity's first
load records the scheme in ``hash_schemes``, and every later load refuses rows hashed by a
different (or an unrecorded, older) scheme with an error that says what to do.
"""

from __future__ import annotations

import sqlalchemy as sa

from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.tables import tables_for
from discogs_assets.lib.warehouse.hashing import HASH_SCHEME


class HashSchemeError(NonRetryableError):
    """The entity's stored hashes were made by another scheme than this version's."""


def check_hash_scheme(conn: sa.Connection, entity: str, *, has_rows: bool) -> None:
    """Record this version's scheme for an empty entity, or check the recorded one."""
    found = conn.execute(sa.text("SELECT scheme FROM hash_schemes WHERE entity = :e"),
                         {"e": entity}).scalar()
    if found == HASH_SCHEME:
        return
    if found is None and not has_rows:
        conn.execute(sa.text("INSERT INTO hash_schemes (entity, scheme, recorded_at) "
                             "VALUES (:e, :s, CURRENT_TIMESTAMP)"), {"e": entity, "s": HASH_SCHEME})
        return
    tables = ", ".join(spec.name for spec in tables_for(entity))
    raise HashSchemeError(
        f"the warehouse's {entity} rows were hashed by "
        f"{repr(found) if found else 'an older, unrecorded scheme'}; this version hashes with "
        f"{HASH_SCHEME!r}, so every record would look changed. Empty the {entity} tables "
        f"({tables}) and delete its hash_schemes row (or start a new warehouse), then load the "
        "months you need again.")
