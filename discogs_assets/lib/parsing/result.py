"""What a parse run reports, and the error it raises on bad input."""

from __future__ import annotations

from dataclasses import dataclass, field

from discogs_assets.lib.errors import NonRetryableError


class DumpParseError(NonRetryableError):
    """Malformed dump input. The message names the file, the byte offset (in the uncompressed
    XML) and the nearest record id, so an operator can look at the exact spot."""

    def __init__(self, file: str, offset: int | None, record_id: int | None, problem: str) -> None:
        where = f"byte offset {offset}" if offset is not None else "unknown offset"
        rid = f"record id {record_id}" if record_id is not None else "no record id nearby"
        super().__init__(f"{file}: {problem} (at {where}, nearest {rid})")
        self.file = file
        self.offset = offset
        self.record_id = record_id
        self.problem = problem


@dataclass(frozen=True)
class BadRecord:
    """A broken record skipped under the operator's tolerance (``max_bad_records``)."""

    offset: int
    record_id: int | None
    problem: str


@dataclass(frozen=True)
class ParseProgress:
    records: int
    bytes_xml: int
    seconds: float


@dataclass
class ParseResult:
    entity: str
    records: int
    row_counts: dict[str, int]
    bytes_xml: int
    bytes_input: int
    seconds: float
    parser_version: str
    engine: str
    workers: int
    bad_records: list[BadRecord] = field(default_factory=list)
    control_chars_replaced: int = 0
    worker_peak_rss: int = 0
    """Largest peak RSS (bytes) of a process that parsed chunks (the caller's when workers=0)."""

    @property
    def mb_per_s(self) -> float:
        return self.bytes_xml / 1e6 / self.seconds if self.seconds > 0 else 0.0

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0
