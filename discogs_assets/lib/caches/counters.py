"""Per-run counters of the identity-cache step, and how they are reported.

Counting is per identity, so a run with both passes (local warm, then the remote refresh) never
counts an identity twice: each pass records one outcome per identity, and the combined outcome is
the most telling one (see ``OUTCOME_PRECEDENCE``). Work counters (documents warmed, LML errors)
add up across passes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import sentry_sdk
from sentry_sdk.tracing_utils import has_span_streaming_enabled

WARMED: Final = "warmed"
NOT_FOUND: Final = "not_found"
NOT_IMPLEMENTED: Final = "not_implemented"
ERROR: Final = "error"
OUTCOMES: Final = (WARMED, NOT_FOUND, NOT_IMPLEMENTED, ERROR)

# When two passes disagree about one identity: an error needs attention whatever the other pass
# did; a pass that warmed the identity beats one that could not find or serve it; a missing
# record (a stale reference) beats a source nobody serves.
OUTCOME_PRECEDENCE: Final = {ERROR: 3, WARMED: 2, NOT_FOUND: 1, NOT_IMPLEMENTED: 0}

SPAN_OP: Final = "discogs.identity_caches"
NOT_FOUND_RATIO_LIMIT: Final = 0.01  # above this share of not_found the identity list is stale


class Log(Protocol):
    """What the cache code needs of a logger (``logging.Logger`` and Dagster's ``context.log``
    both fit)."""

    def info(self, msg: str, /) -> Any: ...
    def warning(self, msg: str, /) -> Any: ...


@dataclass
class CacheCounters:
    """The counters of one run. ``outcomes`` (identity id -> outcome) is the per-identity record
    the identity counters are derived from; it is not reported as such."""

    identities_scanned: int = 0
    skipped_discogs_unavailable: int = 0
    warmed_releases: int = 0
    warmed_artists: int = 0
    lml_error: int = 0
    outcomes: dict[str, str] = field(default_factory=dict, repr=False)
    # cache-table write counts of the local warm ("cache_release_rewritten": n, ...)
    documents: dict[str, int] = field(default_factory=dict)

    def record(self, identity_id: str, outcome: str) -> None:
        """Set one identity's outcome for this pass, keeping the most telling one."""
        if outcome not in OUTCOME_PRECEDENCE:
            raise ValueError(f"unknown outcome {outcome!r} for identity {identity_id!r}")
        previous = self.outcomes.get(identity_id)
        if previous is None or OUTCOME_PRECEDENCE[outcome] > OUTCOME_PRECEDENCE[previous]:
            self.outcomes[identity_id] = outcome

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes.values() if o == outcome)

    @property
    def identities_resolved(self) -> int:
        """Identities whose outcome is not ``error``."""
        return sum(1 for o in self.outcomes.values() if o != ERROR)

    @property
    def not_found(self) -> int:
        return self.count(NOT_FOUND)

    @property
    def not_implemented(self) -> int:
        return self.count(NOT_IMPLEMENTED)

    def merged(self, other: CacheCounters) -> CacheCounters:
        """Combine two passes over the same identity set (local warm + remote refresh)."""
        out = CacheCounters(
            identities_scanned=max(self.identities_scanned, other.identities_scanned),
            skipped_discogs_unavailable=max(
                self.skipped_discogs_unavailable, other.skipped_discogs_unavailable
            ),
            warmed_releases=self.warmed_releases + other.warmed_releases,
            warmed_artists=self.warmed_artists + other.warmed_artists,
            lml_error=self.lml_error + other.lml_error,
            outcomes=dict(self.outcomes),
            documents={k: self.documents.get(k, 0) + other.documents.get(k, 0)
                       for k in {*self.documents, *other.documents}},
        )
        for identity_id, outcome in other.outcomes.items():
            out.record(identity_id, outcome)
        return out

    def as_metadata(self) -> dict[str, int]:
        """The reported counters (plain ints: Dagster shows them as numbers)."""
        return {
            "identities_scanned": self.identities_scanned,
            "identities_resolved": self.identities_resolved,
            "warmed_releases": self.warmed_releases,
            "warmed_artists": self.warmed_artists,
            "not_found": self.not_found,
            "not_implemented": self.not_implemented,
            "lml_error": self.lml_error,
            "skipped_discogs_unavailable": self.skipped_discogs_unavailable,
        }


COUNTER_NAMES: Final = tuple(CacheCounters().as_metadata())


def not_found_ratio(counters: CacheCounters) -> float:
    """``not_found / identities_scanned`` (0.0 for an empty scan): above
    ``NOT_FOUND_RATIO_LIMIT`` the identity list refers to records the warehouse no longer has."""
    if counters.identities_scanned == 0:
        return 0.0
    return counters.not_found / counters.identities_scanned


@contextlib.contextmanager
def sentry_span(counters: CacheCounters, name: str = "identity caches") -> Iterator[Any]:
    """One Sentry span carrying every counter as an attribute, set when the span is created.

    In span-streaming mode (``trace_lifecycle="stream"``) the attributes go to
    ``sentry_sdk.traces.start_span(attributes=...)``; otherwise the legacy API is used and the
    counters are set as span data right after creation, before the span can be sent. Without an
    active span a transaction is started, so the counters are not dropped with an orphan span.
    Without a Sentry client every call here is a no-op.
    """
    attributes: Mapping[str, int] = counters.as_metadata()
    client = sentry_sdk.get_client()
    if client.is_active() and has_span_streaming_enabled(client.options):
        with sentry_sdk.traces.start_span(name=name, attributes=dict(attributes)) as span:
            yield span
        return
    if sentry_sdk.get_current_span() is None:
        span_cm = sentry_sdk.start_transaction(op=SPAN_OP, name=name)
    else:
        span_cm = sentry_sdk.start_span(op=SPAN_OP, name=name)
    with span_cm as span:
        for key, value in attributes.items():
            span.set_data(key, value)
        yield span
