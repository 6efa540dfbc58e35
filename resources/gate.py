"""The ingestion feature gate ``feature_discog_ingestion`` (default off).

The environment (``DISCOGS_INGESTION_ENABLED``) sets the default; a row in the warehouse's
``feature_flags`` table wins when present, so operators can flip it without a deploy.
"""

from __future__ import annotations

import dagster as dg

from discogs_assets.lib.gate import GATE_NAME, IngestionGated, gate_state
from resources.warehouse import WarehouseResource


class IngestionGateResource(dg.ConfigurableResource):
    enabled_by_env: bool = False
    warehouse: WarehouseResource

    def state(self) -> tuple[bool, str]:
        """(enabled, where the decision came from)."""
        return gate_state(self.warehouse.existing_engine(), env_enabled=self.enabled_by_env)

    def ensure_enabled(self) -> None:
        """Raise ``IngestionGated`` before any request or write when the gate is off."""
        enabled, source = self.state()
        if not enabled:
            raise IngestionGated(f"Discogs ingestion is gated ({GATE_NAME} is off, {source})")
