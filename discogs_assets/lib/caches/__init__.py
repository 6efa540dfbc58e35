"""Identity-warmed caches: the identity list, local warm documents, and the remote LML refresh."""

from .counters import NOT_FOUND_RATIO_LIMIT, CacheCounters, not_found_ratio, sentry_span
from .identities import IdentityImportError, ImportReport, import_identities, load_identities
from .remote import (
    LML_REFRESH_BATCH_CAP,
    RemoteRefreshConfig,
    RemoteRefreshConfigError,
    RemoteRefreshUnauthorized,
    refresh_remote,
)
from .warm import warm_local

__all__ = [
    "LML_REFRESH_BATCH_CAP",
    "NOT_FOUND_RATIO_LIMIT",
    "CacheCounters",
    "IdentityImportError",
    "ImportReport",
    "RemoteRefreshConfig",
    "RemoteRefreshConfigError",
    "RemoteRefreshUnauthorized",
    "import_identities",
    "load_identities",
    "not_found_ratio",
    "refresh_remote",
    "sentry_span",
    "warm_local",
]
