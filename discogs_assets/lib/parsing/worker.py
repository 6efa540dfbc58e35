"""Parse one chunk in a worker: clean the bytes, run an engine, localise failures.

The fast path gives no byte offset when it refuses a chunk, so the reference re-parses that
chunk record by record: broken records are reported by offset and id (the caller decides,
against the operator's tolerance, whether to skip them or fail) and the good records' rows come
from the reference. Only picklable plain data crosses the process boundary.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass, field

import pyarrow as pa

from discogs_assets.lib.parsing.chunks import Chunk, record_id_in, split_records
from discogs_assets.lib.parsing.fast import FastPathError, extract_chunk
from discogs_assets.lib.parsing.reference import RecordError, Rows, extract_records
from discogs_assets.lib.parsing.result import BadRecord
from discogs_assets.lib.parsing.xmlsafe import clean_xml_bytes

ENGINES = ("fast", "reference")


@dataclass
class ChunkResult:
    index: int
    tables: dict[str, pa.Table] | None  # None once written (by the worker thread itself)
    records: int
    bytes_xml: int
    control_chars_replaced: int
    bad_records: list[BadRecord] = field(default_factory=list)
    fast_path_refused: str | None = None  # why the fast path handed this chunk to the reference
    peak_rss: int = 0  # of the process that parsed the chunk, bytes


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _reference(entity: str, chunk: Chunk, data: bytes) -> tuple[Rows, int, list[BadRecord]]:
    rows = Rows(entity)
    records = 0
    bad: list[BadRecord] = []
    for offset, piece in split_records(entity, data):
        try:
            records += extract_records(entity, rows, piece)
        except RecordError as exc:
            bad.append(BadRecord(chunk.offset + offset, record_id_in(entity, piece), str(exc)))
    return rows, records, bad


def parse_chunk(entity: str, engine: str, chunk: Chunk) -> ChunkResult:
    """Rows of every table for one chunk (byte offsets in results are file offsets)."""
    data, replaced = clean_xml_bytes(chunk.data)
    refused = None
    if engine == "fast":
        try:
            tables = extract_chunk(entity, data)
            root = next(iter(tables.values()))
            return ChunkResult(chunk.index, tables, root.num_rows, len(chunk.data), replaced,
                               peak_rss=_peak_rss())
        except FastPathError as exc:
            refused = str(exc)
    elif engine != "reference":
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    rows, records, bad = _reference(entity, chunk, data)
    return ChunkResult(chunk.index, rows.tables(), records, len(chunk.data), replaced, bad,
                       refused, _peak_rss())
