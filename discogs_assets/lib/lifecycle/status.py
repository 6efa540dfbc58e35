"""The month's status, derived from how far each entity's steps got.

Steps of one month overlap (the 86 MB labels file is parsed and loaded while the 10 GB releases
file still downloads), so each entity moves through its own phases::

    downloading → downloaded → parsing → parsed → loading → loaded

and the month's status is a pure function of those phases (plus a failure recorded in the
current attempt). Any interleaving of the entities' steps is therefore legal: there is no month
transition a step could ask for that the rules refuse.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping


class ProcessingStatus(enum.StrEnum):
    NOT_STARTED = "not_started"
    DOWNLOADING = "downloading"
    READY_FOR_PROCESSING = "ready_for_processing"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


PENDING_STATUSES = frozenset({ProcessingStatus.NOT_STARTED, ProcessingStatus.DOWNLOADING,
                              ProcessingStatus.READY_FOR_PROCESSING, ProcessingStatus.PROCESSING})
"""A month neither completed nor failed (what v_pending_months lists)."""


class Stage(enum.StrEnum):
    """The three per-entity steps of a month, in order."""

    DOWNLOAD = "download"
    PARSE = "parse"
    LOAD = "load"


class EntityPhase(enum.StrEnum):
    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"
    PARSING = "parsing"
    PARSED = "parsed"
    LOADING = "loading"
    LOADED = "loaded"

    @property
    def rank(self) -> int:
        return _PHASE_ORDER.index(self)


_PHASE_ORDER = list(EntityPhase)
STAGE_PHASES: dict[Stage, tuple[EntityPhase, EntityPhase]] = {
    Stage.DOWNLOAD: (EntityPhase.DOWNLOADING, EntityPhase.DOWNLOADED),
    Stage.PARSE: (EntityPhase.PARSING, EntityPhase.PARSED),
    Stage.LOAD: (EntityPhase.LOADING, EntityPhase.LOADED),
}
"""Stage -> (phase while it runs, phase once it succeeded)."""

PHASE_TIMESTAMP: dict[EntityPhase, str] = {
    EntityPhase.DOWNLOADING: "download_started_at",
    EntityPhase.DOWNLOADED: "downloaded_at",
    EntityPhase.PARSING: "parse_started_at",
    EntityPhase.PARSED: "parsed_at",
    EntityPhase.LOADING: "load_started_at",
    EntityPhase.LOADED: "loaded_at",
}
"""The entity-phase column stamped when the entity enters each phase."""


def derive_status(
    phases: Mapping[str, EntityPhase], entities: Collection[str], *, started: bool
) -> ProcessingStatus:
    """The month's status from its entities' phases (a failure is recorded separately).

    ``started``: the month's dump was being resolved (its first step ran) even if no entity
    step has begun yet.
    """
    reached = [phases[e] for e in entities if e in phases]
    if len(reached) == len(entities) and all(p is EntityPhase.LOADED for p in reached):
        return ProcessingStatus.COMPLETED
    if any(p.rank >= EntityPhase.PARSING.rank for p in reached):
        return ProcessingStatus.PROCESSING
    if len(reached) == len(entities) and all(p is EntityPhase.DOWNLOADED for p in reached):
        return ProcessingStatus.READY_FOR_PROCESSING
    if reached or started:
        return ProcessingStatus.DOWNLOADING
    return ProcessingStatus.NOT_STARTED
