"""Progress lines of the long steps (download, parse) in the run's log.

The libraries report every few seconds; the run log gets at most one line per ``every_s`` (the
first after ``every_s``), plus the line that says the work is done.
"""

import time

import dagster as dg


class ProgressLog:
    def __init__(self, context: dg.AssetExecutionContext, every_s: float) -> None:
        self._context = context
        self._every_s = every_s
        self._last = time.monotonic()

    def info(self, line: str, *, done: bool = False) -> None:
        now = time.monotonic()
        if done or now - self._last >= self._every_s:
            self._last = now
            self._context.log.info(line)
