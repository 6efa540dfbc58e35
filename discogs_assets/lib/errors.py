"""Error classes shared by every stage.

The retry sensor and the processing table only need to know one thing about a failure: is it
worth retrying later (network trouble, a rate limit) or not (no dump, bad input, a refused month).
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose."""


class NonRetryableError(PipelineError):
    """Retrying later cannot help until something changes (data, configuration, an operator)."""


class RetryableError(PipelineError):
    """A transient failure; ``retry_after`` (seconds) is a hint from the server when known."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
