"""Reading a dump: decompress (isal), find the entity, cut the body into whole-record chunks.

Dumps put one record per line (``\\n<release id=...``), so a chunk boundary is the last
``\\n<tag`` before the size limit: no XML parsing is needed to cut, and each chunk can be parsed
on its own once wrapped in the root element. Nested ``<label>`` elements (sublabels) never start
a line in a dump, and indented ones in pretty-printed fragments do not match either.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from isal import igzip_threaded

from discogs_assets.lib.parsing.result import DumpParseError
from discogs_assets.lib.parsing.xmlsafe import find_dtd

RECORD_TAG: dict[str, str] = {
    "labels": "label", "artists": "artist", "masters": "master", "releases": "release",
}
_ENTITY_OF_TAG = {tag: entity for entity, tag in RECORD_TAG.items()} | {
    entity: entity for entity in RECORD_TAG
}
_FIRST_ELEMENT = re.compile(rb"<([A-Za-z_][\w.-]*)")
_GZIP_MAGIC = b"\x1f\x8b"
_TAG_END = frozenset(b" \t\r\n>/")
# Ids: an attribute on masters/releases, the first <id> child on labels/artists.
_ATTR_ID = re.compile(rb'\sid="\s*(\d+)')
_CHILD_ID = re.compile(rb"<id>\s*(\d+)\s*</id>")

DEFAULT_CHUNK_BYTES = 8 << 20  # fewer, larger chunks: the Arrow shaping has a fixed cost per chunk
READ_BYTES = 1 << 20
MAX_RECORD_BYTES = 256 << 20  # a single record larger than this is refused, not buffered


@dataclass(frozen=True)
class Chunk:
    """Whole records (no root element). ``offset`` is where ``data`` starts in the uncompressed
    XML; ``index`` is the chunk's order in the file."""

    index: int
    offset: int
    data: bytes


def open_dump(path: Path) -> BinaryIO:
    """The uncompressed byte stream of a ``.xml`` or ``.xml.gz`` dump (gzip detected by magic,
    decompressed by isal on a helper thread so the caller's thread keeps cutting chunks)."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == _GZIP_MAGIC:
        return igzip_threaded.open(path, "rb", threads=1)  # type: ignore[return-value]
    return open(path, "rb")


def detect_entity(path: Path) -> str:
    """``labels`` / ``artists`` / ``masters`` / ``releases`` from the first element of the file
    (the root of a dump, or the record itself in a bare fragment)."""
    try:
        with open_dump(path) as fh:
            head = fh.read(64 << 10)
    except (OSError, EOFError) as exc:
        raise DumpParseError(str(path), 0, None,
                             f"cannot read the start of the file: {exc}") from exc
    for match in _FIRST_ELEMENT.finditer(head):
        if head[match.start() + 1 : match.start() + 2] in (b"?", b"!"):
            continue
        name = match.group(1).decode("ascii", "replace")
        if name in _ENTITY_OF_TAG:
            return _ENTITY_OF_TAG[name]
        raise DumpParseError(str(path), match.start(), None,
                             f"first element <{name}> is not a Discogs dump root or record")
    raise DumpParseError(str(path), 0, None, "no XML element in the first 64 KiB")


def record_id_in(entity: str, record: bytes) -> int | None:
    """The id of the record starting at ``record[0]`` (None when it cannot be seen)."""
    pattern = _ATTR_ID if entity in ("masters", "releases") else _CHILD_ID
    head = record[:4096] if entity in ("masters", "releases") else record
    match = pattern.search(head)
    return int(match.group(1)) if match else None


def record_starts(entity: str, data: bytes) -> list[int]:
    """Offsets of the records in a chunk: 0 and every line that opens a record element."""
    needle = b"\n<" + RECORD_TAG[entity].encode()
    starts = [0]
    pos = data.find(needle)
    while pos >= 0:
        after = pos + len(needle)
        if after < len(data) and data[after] in _TAG_END:
            starts.append(pos + 1)
        pos = data.find(needle, after)
    return starts


def split_records(entity: str, data: bytes) -> list[tuple[int, bytes]]:
    """A chunk as (offset within the chunk, record bytes) pairs."""
    starts = record_starts(entity, data)
    ends = [*starts[1:], len(data)]
    return [(s, data[s:e]) for s, e in zip(starts, ends, strict=True)]


def _last_boundary(entity: str, buf: bytearray) -> int:
    """Offset of the last line that opens a record (0 when there is none after the first)."""
    needle = b"\n<" + RECORD_TAG[entity].encode()
    pos = buf.rfind(needle)
    while pos > 0:
        after = pos + len(needle)
        if after < len(buf) and buf[after] in _TAG_END:
            return pos + 1
        pos = buf.rfind(needle, 0, pos)
    return 0


class _Reader:
    """Incremental state of one pass over a dump."""

    def __init__(self, path: Path, entity: str, read_bytes: int = READ_BYTES) -> None:
        self.path = path
        self.read_bytes = read_bytes
        self.entity = entity
        self.tag = RECORD_TAG[entity].encode()
        self.buf = bytearray()
        self.offset = 0  # uncompressed offset of buf[0]
        self.last_id: int | None = None

    def error(self, at: int, problem: str) -> DumpParseError:
        """An error at uncompressed offset ``at``, naming the last record id seen before it."""
        pending = bytes(self.buf[: max(0, at - self.offset)])
        starts = record_starts(self.entity, pending) if pending else []
        near = record_id_in(self.entity, pending[starts[-1]:]) if starts else None
        return DumpParseError(str(self.path), at, near or self.last_id, problem)

    def read(self, fh: BinaryIO) -> bool:
        """Append the next block; False at the end of the stream."""
        try:
            block = fh.read(self.read_bytes)
        except (EOFError, OSError) as exc:  # truncated or corrupt gzip
            raise self.error(self.offset + len(self.buf),
                             f"compressed stream is broken or truncated: {exc}") from exc
        self.buf += block
        return bool(block)

    def take(self, end: int) -> bytes:
        with memoryview(self.buf) as view:  # one copy (a bytearray slice would make two)
            data = view[:end].tobytes()
        del self.buf[:end]
        self.offset += end
        last = data.rfind(b"\n<" + self.tag)
        self.last_id = record_id_in(self.entity, data[last + 1 :]) or self.last_id
        return data


def _skip_prologue(reader: _Reader, fh: BinaryIO) -> bool:
    """Drop everything before the first record; return whether a root element wraps them."""
    first = re.compile(rb"<" + re.escape(reader.tag) + rb"[\s>/]")
    while True:
        match = first.search(reader.buf)
        if match:
            break
        if len(reader.buf) > READ_BYTES * 4 or not reader.read(fh):
            if find_dtd(bytes(reader.buf)):
                raise reader.error(0, "document declares a DTD or entities; refused")
            if len(reader.buf) > READ_BYTES * 4:
                raise reader.error(0, f"no <{reader.tag.decode()}> record in the first 4 MiB")
            # No record at all: fine for a complete empty dump, an error for a truncated one.
            root = reader.tag + b"s"
            if b"</" + root + b">" not in reader.buf and not re.search(
                    rb"<" + root + rb"\s*/>", reader.buf):
                raise reader.error(len(reader.buf), "file ends before any record: truncated dump")
            reader.buf.clear()
            return False
    prologue = bytes(reader.buf[: match.start()])
    if find_dtd(prologue):
        raise reader.error(0, "document declares a DTD or entities; refused")
    root = RECORD_TAG[reader.entity] + "s"
    wrapped = re.search(rb"<" + root.encode() + rb"[\s>]", prologue) is not None
    reader.take(match.start())
    return wrapped


def _finish(reader: _Reader, wrapped: bool) -> bytes:
    """The records left at the end of the stream, without the closing root tag."""
    data = bytes(reader.buf).rstrip()
    if wrapped:
        close = b"</" + reader.tag + b"s>"
        if not data.endswith(close):
            raise reader.error(reader.offset + len(data),
                               f"file ends without {close.decode()}: truncated dump")
        data = data[: -len(close)].rstrip()
    return data


class ChunkReader:
    """One pass over a dump as chunks of whole records, each about ``chunk_bytes`` long.

    Memory stays at about ``chunk_bytes`` plus one read block, whatever the file size.
    Iterating raises ``DumpParseError`` on a DTD, a broken gzip stream, a missing closing root
    tag or a record too large to buffer. ``bytes_xml`` is the uncompressed size read so far.
    """

    def __init__(self, path: Path, entity: str, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> None:
        self.path = path
        self.entity = entity
        self.chunk_bytes = chunk_bytes
        self._reader = _Reader(path, entity, min(READ_BYTES, chunk_bytes))

    @property
    def bytes_xml(self) -> int:
        return self._reader.offset + len(self._reader.buf)

    def __iter__(self) -> Iterator[Chunk]:
        reader = self._reader
        index = 0
        with open_dump(self.path) as fh:
            wrapped = _skip_prologue(reader, fh)
            more = True
            while more:
                more = reader.read(fh)
                if more and len(reader.buf) < self.chunk_bytes:
                    continue
                if not more:
                    start = reader.offset
                    data = _finish(reader, wrapped)
                    if data.strip():
                        yield Chunk(index, start, data)
                    return
                cut = _last_boundary(self.entity, reader.buf)
                if cut == 0:
                    if len(reader.buf) > MAX_RECORD_BYTES:
                        raise reader.error(reader.offset, "no record boundary within "
                                           f"{MAX_RECORD_BYTES >> 20} MiB (one record per line?)")
                    continue
                start = reader.offset
                yield Chunk(index, start, reader.take(cut))
                index += 1
