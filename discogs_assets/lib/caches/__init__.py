"""Identity-warmed caches: the identity list, local warm documents, and the remote LML refresh."""

from .counters import (
    NOT_FOUND_RATIO_LIMIT,
    LmlCounters,
    LocalCounters,
    StaleReferences,
    sentry_span,
    stale_references,
)
from .identities import (
    IdentityIdsNotMigrated,
    IdentityImportError,
    IdentityNotFound,
    ImportReport,
    flag_identity,
    import_identities,
    load_identities,
    migrate_identity_ids,
)
from .purge import PurgeCounts
from .remote import (
    BUDGET_FILE,
    LML_REFRESH_BATCH_CAP,
    RefreshEndpointMissing,
    RefreshResult,
    RemoteRefreshConfig,
    RemoteRefreshConfigError,
    RemoteRefreshUnauthorized,
    refresh_remote,
    request_budget,
)
from .warm import WarmResult, warm_local

__all__ = [
    "BUDGET_FILE",
    "LML_REFRESH_BATCH_CAP",
    "NOT_FOUND_RATIO_LIMIT",
    "IdentityIdsNotMigrated",
    "IdentityImportError",
    "IdentityNotFound",
    "ImportReport",
    "LmlCounters",
    "LocalCounters",
    "PurgeCounts",
    "RefreshEndpointMissing",
    "RefreshResult",
    "RemoteRefreshConfig",
    "RemoteRefreshConfigError",
    "RemoteRefreshUnauthorized",
    "StaleReferences",
    "WarmResult",
    "flag_identity",
    "import_identities",
    "load_identities",
    "migrate_identity_ids",
    "refresh_remote",
    "request_budget",
    "sentry_span",
    "stale_references",
    "warm_local",
]
