"""Write a sample dump mirror: ``data/YYYY/discogs_YYYYMMDD_<kind>.xml.gz`` + CHECKSUM per dump.

The layout is what ``DISCOGS_DUMPS_URL=file://<root>`` (or an HTTP server over ``<root>``)
serves. Per dump the data files are written first, each atomically and streamed through gzip
(fixed mtime, no file name in the header, so the same arguments give the same bytes), and the
CHECKSUM file last, as Discogs does: it is the "dump complete" marker. Each month is written in
the XML layout of its era (``formats``), and a month may spread its kinds over several dumps
(as 2011-02 did), each with its own CHECKSUM.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from pathlib import Path
from random import Random
from typing import NamedTuple

from isal.igzip import IGzipFile

from ..atomic import atomic_path, write_bytes_atomic
from ..entities import ENTITIES
from ..errors import NonRetryableError
from ..layout import check_month
from .catalogue import Catalogue
from .formats import AUTO, DumpFormat, resolve_format
from .identities import identity_rows, write_identities
from .model import Record
from .xml_writer import XmlWriter

DEFAULT_MONTHS: tuple[str, ...] = ("2026-01", "2026-02")
DEFAULT_SEED = 20260101
ODD_DAY = 15  # with >= 3 months the third is dated on the 15th ("dump dated on another day")
_FLUSH_BYTES = 1 << 20


class SampleMirrorError(NonRetryableError):
    """Invalid arguments for the generator (months, scale, dump days)."""


class FileInfo(NamedTuple):
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class MonthSummary:
    """One generated month. ``added``/``changed``/``removed`` compare with the previous month
    (for the first month every record counts as added); ids are Discogs ids."""

    month: str
    dump_date: date  # the newest dump of the month
    files: dict[str, FileInfo]  # kind -> file (each named after its own dump)
    checksums: tuple[FileInfo, ...]  # one per dump of the month, oldest first
    format: str  # the XML layout (see formats.FORMATS)
    counts: dict[str, int]  # entity -> records
    xml_bytes: dict[str, int]  # entity -> uncompressed XML size
    added: dict[str, frozenset[int]]
    changed: dict[str, frozenset[int]]
    removed: dict[str, frozenset[int]]

    @property
    def checksum(self) -> FileInfo:
        """The newest dump's CHECKSUM (the month's "dump complete" marker)."""
        return self.checksums[-1]


@dataclass(frozen=True)
class MirrorSummary:
    root: Path
    seed: int
    scale: int
    months: dict[str, MonthSummary]
    identities: Path

    def describe(self) -> str:
        """A few human-readable lines (for the CLI): per month, files, counts and changes."""
        lines = [f"sample mirror at {self.root} (seed {self.seed}, scale {self.scale})"]
        for ms in self.months.values():
            gz = sum(f.size for f in ms.files.values())
            xml = sum(ms.xml_bytes.values())
            sums = ", ".join(c.name for c in ms.checksums)
            lines.append(f"{ms.month}: dump {ms.dump_date:%Y%m%d} ({ms.format} layout), "
                         f"{gz:,} bytes gzipped ({xml:,} XML), {sums}")
            for e in ms.counts:
                lines.append(f"  {e:<8} {ms.counts[e]:>9,} records  +{len(ms.added[e]):,} "
                             f"~{len(ms.changed[e]):,} -{len(ms.removed[e]):,}")
        lines.append(f"identities: {self.identities}")
        return "\n".join(lines)


def dump_dir(root: Path, dump_date: date) -> Path:
    return root / "data" / f"{dump_date.year:04d}"


def dump_file_name(dump_date: date, kind: str) -> str:
    return f"discogs_{dump_date:%Y%m%d}_{kind}.xml.gz"


def checksum_file_name(dump_date: date) -> str:
    return f"discogs_{dump_date:%Y%m%d}_CHECKSUM.txt"


DumpDays = Mapping[str, int | Mapping[str, int]]
"""Per month, the day its dump is dated, or per kind the day of the dump holding it (kinds not
named are in the dump of day 1)."""


def dump_dates(months: Sequence[str], dump_days: DumpDays | None = None
               ) -> dict[str, dict[str, date]]:
    """Per month, kind -> the date of the dump holding it: day 1, the third month on
    ``ODD_DAY``, unless ``dump_days`` says."""
    days: dict[str, int | Mapping[str, int]] = dict(dump_days) if dump_days is not None else (
        {months[2]: ODD_DAY} if len(months) >= 3 else {})
    unknown = set(days) - set(months)
    if unknown:
        raise SampleMirrorError(f"dump_days names months not generated: {sorted(unknown)}")
    out: dict[str, dict[str, date]] = {}
    for month in months:
        year, mon = (int(x) for x in month.split("-"))
        spec = days.get(month, 1)
        per_kind = spec if isinstance(spec, Mapping) else dict.fromkeys(ENTITIES, spec)
        if set(per_kind) - set(ENTITIES):
            raise SampleMirrorError(f"dump_days for {month} names unknown kinds: "
                                    f"{sorted(set(per_kind) - set(ENTITIES))}")
        try:
            out[month] = {k: date(year, mon, per_kind.get(k, 1)) for k in ENTITIES}
        except ValueError as exc:
            raise SampleMirrorError(f"bad dump day for {month}: {exc}") from exc
    return out


def _check_args(months: Sequence[str], scale: int) -> None:
    if not months:
        raise SampleMirrorError("no months asked for")
    for month in months:
        try:
            check_month(month)
        except ValueError as exc:
            raise SampleMirrorError(str(exc)) from exc
    if any(a >= b for a, b in pairwise(months)):
        raise SampleMirrorError(f"months must be strictly increasing: {list(months)}")
    if scale < 1:
        raise SampleMirrorError(f"scale must be a positive integer, got {scale}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_dump_file(path: Path, entity: str, records: Iterable[Record],
                    writer: XmlWriter | None = None) -> tuple[dict[int, bytes], int]:
    """Stream records into a gzipped dump file; return {id: record digest} and the XML size.

    Layout as in the real dumps: root start tag (none in 2008-era dumps), each record starting
    a line, root end tag.
    """
    writer = writer or XmlWriter()
    root = writer.fmt.root_element
    digests: dict[int, bytes] = {}
    xml_size = 0
    # filename="" keeps the temporary name out of the gzip header (determinism)
    with atomic_path(path) as tmp, open(tmp, "wb") as raw, IGzipFile(
        filename="", mode="wb", fileobj=raw, mtime=0
    ) as gz:
        buf: list[bytes] = [f"<{entity}>\n".encode()] if root else []
        pending = 0
        for record in records:
            line = writer.record(record).encode("utf-8")
            digests[record.id] = hashlib.blake2b(line, digest_size=16).digest()
            buf.append(line)
            buf.append(b"\n")
            pending += len(line) + 1
            if pending >= _FLUSH_BYTES:
                chunk = b"".join(buf)
                gz.write(chunk)
                xml_size += len(chunk)
                buf, pending = [], 0
        if root:
            buf.append(f"</{entity}>".encode())
        chunk = b"".join(buf)
        gz.write(chunk)
        xml_size += len(chunk)
    return digests, xml_size


def _diff(prev: dict[int, bytes] | None, cur: dict[int, bytes]
          ) -> tuple[frozenset[int], frozenset[int], frozenset[int]]:
    if prev is None:
        return frozenset(cur), frozenset(), frozenset()
    added = frozenset(cur.keys() - prev.keys())
    removed = frozenset(prev.keys() - cur.keys())
    changed = frozenset(i for i in cur.keys() & prev.keys() if cur[i] != prev[i])
    return added, changed, removed


def build_sample_mirror(root: Path, months: Sequence[str] = DEFAULT_MONTHS, scale: int = 1,
                        seed: int = DEFAULT_SEED, *, dump_days: DumpDays | None = None,
                        formats: Mapping[str, str] | None = None) -> MirrorSummary:
    """Write a synthetic Discogs dump mirror under ``root`` and return what was written.

    Consecutive listed months differ like real ones (additions, edits, deletions); the same
    arguments always give byte-identical files. ``formats``: month -> layout name
    (``formats.FORMATS``, default ``auto``: the layout of the dump date's era); a layout without
    a masters file writes none. ``root/identities.csv`` is written last.
    """
    months = tuple(months)
    _check_args(months, scale)
    dates = dump_dates(months, dump_days)
    layouts = _layouts(months, dates, formats or {})
    catalogue = Catalogue(seed, scale, len(months))
    prev: dict[str, dict[int, bytes]] = {}
    summaries: dict[str, MonthSummary] = {}
    for m, month in enumerate(months):
        fmt = layouts[month]
        writer = XmlWriter(fmt)
        kinds = [e for e in ENTITIES if e != "masters" or fmt.masters_file]
        files: dict[str, FileInfo] = {}
        counts: dict[str, int] = {}
        xml_bytes: dict[str, int] = {}
        added: dict[str, frozenset[int]] = {}
        changed: dict[str, frozenset[int]] = {}
        removed: dict[str, frozenset[int]] = {}
        checksums: list[FileInfo] = []
        for day in sorted({dates[month][k] for k in kinds}):
            directory = dump_dir(root, day)
            dump_files: dict[str, FileInfo] = {}
            for entity in (k for k in kinds if dates[month][k] == day):
                path = directory / dump_file_name(day, entity)
                digests, xml_bytes[entity] = write_dump_file(
                    path, entity, catalogue.records(entity, m), writer)
                dump_files[entity] = FileInfo(path.name, path.stat().st_size, _sha256(path))
                counts[entity] = len(digests)
                added[entity], changed[entity], removed[entity] = _diff(prev.get(entity),
                                                                        digests)
                prev[entity] = digests
            checksums.append(_write_checksum(directory / checksum_file_name(day), dump_files,
                                             Random(f"{seed}:checksum:{month}")))
            files.update(dump_files)
        summaries[month] = MonthSummary(
            month, max(dates[month][k] for k in kinds), {k: files[k] for k in kinds},
            tuple(checksums), fmt.name, counts, xml_bytes, added, changed, removed)
    # a release deleted in the last month (absent with one month only): the cache reports it
    gone = sorted(summaries[months[-1]].removed["releases"])
    identities = root / "identities.csv"
    write_identities(identities, identity_rows(
        Random(f"{seed}:identities"), list(prev["releases"]), list(prev.get("masters", ())),
        gone[0] if gone else None))
    return MirrorSummary(root, seed, scale, summaries, identities)


def _layouts(months: Sequence[str], dates: Mapping[str, Mapping[str, date]],
             names: Mapping[str, str]) -> dict[str, DumpFormat]:
    unknown = set(names) - set(months)
    if unknown:
        raise SampleMirrorError(f"formats names months not generated: {sorted(unknown)}")
    try:
        return {m: resolve_format(names.get(m, AUTO), min(dates[m].values())) for m in months}
    except ValueError as exc:
        raise SampleMirrorError(str(exc)) from exc


def _write_checksum(path: Path, files: dict[str, FileInfo], rng: Random) -> FileInfo:
    """``<sha256>  <name>`` lines in a shuffled order (Discogs' order is not stable)."""
    lines = [f"{info.sha256}  {info.name}\n" for info in files.values()]
    rng.shuffle(lines)
    data = "".join(lines).encode("ascii")
    write_bytes_atomic(path, data)
    return FileInfo(path.name, len(data), hashlib.sha256(data).hexdigest())
