"""What both load paths share: one entity's month being applied inside the load transaction,
with the threads that read and hash on the client while the server works."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa

from discogs_assets.lib.tables import TableSpec
from discogs_assets.lib.warehouse.changes import ChangeCounts
from discogs_assets.lib.warehouse.month_input import Chunk, MonthInput

Log = Callable[[str], None]


@contextmanager
def worker(name: str) -> Iterator[ThreadPoolExecutor]:
    """One background thread; on an error, work not started yet is dropped."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class MonthLoad:
    """One entity's month being applied inside the load transaction."""

    conn: sa.Connection
    month: str
    input: MonthInput
    counts: ChangeCounts
    say: Log
    reader: ThreadPoolExecutor
    """Reads tables (one at a time)."""
    hasher: ThreadPoolExecutor
    """Hashes while the server works."""
    started: float = field(default_factory=time.perf_counter)

    @property
    def specs(self) -> tuple[TableSpec, ...]:
        return self.input.specs

    @property
    def root(self) -> TableSpec:
        return self.input.specs[0]

    def progress(self, index: int, done: str) -> None:
        """One line per chunk of a multi-chunk month: a long load shows how far it is."""
        total = len(self.input.ranges)
        if total > 1:
            self.say(f"chunk {index + 1}/{total} ({(index + 1) / total:.0%}): {done}; "
                     f"{time.perf_counter() - self.started:.0f}s so far")

    def chunk(self, index: int, first: Chunk, *, streamed: bool) -> Chunk:
        """Chunk ``index``: the first one was read ahead (while the load was set up)."""
        return first if index == 0 else self.input.chunk(
            index, self.reader, self.counts.dangling, streamed=streamed)
