"""Reading the ``feature_discog_ingestion`` gate: the warehouse table wins over the environment."""

from __future__ import annotations

import sqlalchemy as sa

from discogs_assets.lib.errors import NonRetryableError

GATE_NAME = "feature_discog_ingestion"
GATED_MESSAGE = "Discogs ingestion is gated"


class IngestionGated(NonRetryableError):
    """Raised by a launched run whose gate is off, before it requests or writes anything."""


def gate_state(engine: sa.Engine | None, *, env_enabled: bool) -> tuple[bool, str]:
    """Return (enabled, source) where source says which setting decided.

    Reads only: with no warehouse yet (``engine`` None) or no ``feature_flags`` table, the
    environment decides.
    """
    if engine is None or not sa.inspect(engine).has_table("feature_flags"):
        return env_enabled, "DISCOGS_INGESTION_ENABLED"
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT enabled FROM feature_flags WHERE name = :name"), {"name": GATE_NAME}
        ).first()
    if row is not None:
        return bool(row[0]), "feature_flags table"
    return env_enabled, "DISCOGS_INGESTION_ENABLED"


def set_gate(engine: sa.Engine, enabled: bool, note: str | None = None) -> None:
    """Flip the gate in the warehouse (what an operator does without a deploy)."""
    with engine.begin() as conn:
        updated = conn.execute(
            sa.text(
                "UPDATE feature_flags SET enabled = :enabled, note = :note, "
                "updated_at = CURRENT_TIMESTAMP WHERE name = :name"
            ),
            {"enabled": enabled, "note": note, "name": GATE_NAME},
        ).rowcount
        if not updated:
            conn.execute(
                sa.text(
                    "INSERT INTO feature_flags (name, enabled, note, updated_at) "
                    "VALUES (:name, :enabled, :note, CURRENT_TIMESTAMP)"
                ),
                {"enabled": enabled, "note": note, "name": GATE_NAME},
            )
