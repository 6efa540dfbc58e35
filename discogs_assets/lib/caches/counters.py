"""Per-run counters of the identity caches: two sets, each named for where it comes from.

- ``local.*``: the local warm (documents built from this warehouse), one outcome per identity.
- ``lml.*``: the LML service's refresh, the seven counters of its contract, derived only from
  the service's per-id answers (a batch that failed as a whole counts each of its ids in
  ``lml.lml_error``).
- ``skipped_discogs_unavailable``: flagged identities, which neither pass touches.

The two sets are never merged: a remote ``not_found`` must not disappear because the local warm
found the record, nor a local success count as the service's.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Protocol

import sentry_sdk
from sentry_sdk.tracing_utils import has_span_streaming_enabled

WARMED: Final = "warmed"
NOT_FOUND: Final = "not_found"
NOT_IMPLEMENTED: Final = "not_implemented"
ERROR: Final = "error"
OUTCOMES: Final = (WARMED, NOT_FOUND, NOT_IMPLEMENTED, ERROR)
SKIPPED: Final = "skipped_discogs_unavailable"

SPAN_OP: Final = "discogs.identity_caches"
NOT_FOUND_RATIO_LIMIT: Final = 0.01  # above this share of not_found the identity list is stale


class Log(Protocol):
    """What the cache code needs of a logger (``logging.Logger`` and Dagster's ``context.log``
    both fit)."""

    def info(self, msg: str, /) -> Any: ...
    def warning(self, msg: str, /) -> Any: ...


@dataclass
class _Counters:
    """Identity outcomes of one pass: every identity scanned is either resolved (an answer
    other than ``error``) or counted in the error counter."""

    PREFIX: ClassVar[str]
    ERROR_COUNTER: ClassVar[str]

    identities_scanned: int = 0
    identities_resolved: int = 0
    warmed_releases: int = 0
    warmed_artists: int = 0
    not_found: int = 0
    not_implemented: int = 0

    def record(self, outcome: str, *, release_warmed: bool = False,
               artists_warmed: int = 0) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        self.identities_scanned += 1
        if outcome == ERROR:
            setattr(self, self.ERROR_COUNTER, getattr(self, self.ERROR_COUNTER) + 1)
            return
        self.identities_resolved += 1
        self.not_found += outcome == NOT_FOUND
        self.not_implemented += outcome == NOT_IMPLEMENTED
        self.warmed_releases += release_warmed
        self.warmed_artists += artists_warmed

    def as_metadata(self) -> dict[str, int]:
        """The counters under their reported names (plain ints: numbers in Dagster and
        Sentry)."""
        return {f"{self.PREFIX}.{f.name}": int(getattr(self, f.name))
                for f in dataclasses.fields(self)}


@dataclass
class LocalCounters(_Counters):
    PREFIX: ClassVar[str] = "local"
    ERROR_COUNTER: ClassVar[str] = "error"

    error: int = 0


@dataclass
class LmlCounters(_Counters):
    """The contract's seven counters; ``identities_scanned`` is the ids sent."""

    PREFIX: ClassVar[str] = "lml"
    ERROR_COUNTER: ClassVar[str] = "lml_error"

    lml_error: int = 0

    def record_failed_batch(self, size: int) -> None:
        self.identities_scanned += size
        self.lml_error += size


@dataclass(frozen=True)
class StaleReferences:
    """The stale-reference check's figures: ``basis`` says whose answers they are."""

    basis: str  # "lml", "local", or "none" (no counters for the month: the check fails)
    not_found: int = 0
    scanned: int = 0

    @property
    def ratio(self) -> float:
        return self.not_found / self.scanned if self.scanned else 0.0

    @property
    def passed(self) -> bool:
        return self.basis != "none" and self.ratio <= NOT_FOUND_RATIO_LIMIT


def stale_references(lml: LmlCounters | None, local: Mapping[str, int] | None,
                     ) -> StaleReferences:
    """``lml.not_found / lml.identities_scanned`` when the service was asked this run (it
    knows which identities still exist); otherwise the local warm's (a record absent or
    removed from this warehouse)."""
    if lml is not None:
        return StaleReferences("lml", lml.not_found, lml.identities_scanned)
    if local is not None:
        return StaleReferences("local", local["local.not_found"],
                               local["local.identities_scanned"])
    return StaleReferences("none")


@contextlib.contextmanager
def sentry_span(attributes: Mapping[str, int], name: str) -> Iterator[Any]:
    """One Sentry span carrying ``attributes`` (numbers stay numbers), set at its creation.

    Span streaming (``trace_lifecycle="stream"``) takes the attributes in
    ``sentry_sdk.traces.start_span``. The transaction API has no attributes parameter: there the
    span is a transaction (a span alone is never sent) whose data is set before it is yielded,
    so no code runs on the span before it holds every counter. Without a Sentry client (or
    with tracing off) every call here is a no-op.
    """
    client = sentry_sdk.get_client()
    if client.is_active() and has_span_streaming_enabled(client.options):
        with sentry_sdk.traces.start_span(name=name, attributes=dict(attributes)) as span:
            yield span
        return
    with sentry_sdk.start_transaction(op=SPAN_OP, name=name) as span:
        for key, value in attributes.items():
            span.set_data(key, value)
        yield span
