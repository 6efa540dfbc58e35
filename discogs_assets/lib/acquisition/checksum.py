"""The dump's CHECKSUM file: ``<sha256><one or two spaces><file name>`` per line, any order."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from discogs_assets.lib.acquisition.names import InvalidDumpName, parse_dump_name
from discogs_assets.lib.atomic import write_bytes_atomic
from discogs_assets.lib.errors import NonRetryableError

_LINE_RE = re.compile(r"([0-9a-fA-F]{64})(?: {1,2})(\S+)", re.ASCII)


class ChecksumError(NonRetryableError):
    """A CHECKSUM file is malformed, or a file does not match it."""


def _decode(body: bytes, *, source_name: str = "CHECKSUM") -> str:
    """The CHECKSUM file as text; bytes that are not UTF-8 (garbled in transit, or not a
    CHECKSUM at all) raise ChecksumError naming the file, the offset and line of the first bad
    byte, and what was wrong with it."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = body[exc.start:exc.end]
        line = body.count(b"\n", 0, exc.start) + 1
        raise ChecksumError(
            f"{source_name} is not text: byte offset {exc.start} (line {line}) holds "
            f"{bad.hex(' ')} ({exc.reason} in UTF-8); the file was probably damaged in "
            "transit: fetch it again"
        ) from None


def parse_checksum(body: bytes, *, source_name: str = "CHECKSUM") -> dict[str, str]:
    """Return ``{file name: lower-case sha256}`` from the file's bytes; reject bytes that are
    not text and any malformed line, naming them."""
    text = _decode(body, source_name=source_name)
    sums: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        m = _LINE_RE.fullmatch(line)
        if not m:
            raise ChecksumError(
                f"{source_name} line {lineno}: expected '<64 hex sha256> <file name>' "
                f"separated by one or two spaces, got {line[:160]!r}"
            )
        digest, name = m.group(1).lower(), m.group(2)
        try:
            parse_dump_name(name)
        except InvalidDumpName as exc:
            raise ChecksumError(f"{source_name} line {lineno}: {exc}") from None
        if sums.get(name, digest) != digest:
            raise ChecksumError(
                f"{source_name} line {lineno}: {name} listed twice with different sums"
            )
        sums[name] = digest
    if not sums:
        raise ChecksumError(f"{source_name}: no checksum lines (file is empty)")
    return sums


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _record_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.sha256.json")


def record_sha256(path: Path, digest: str) -> None:
    """Remember ``path``'s sha256 together with the size and mtime the file has now."""
    stat = path.stat()
    record = {"sha256": digest, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    write_bytes_atomic(_record_path(path), json.dumps(record).encode())


def file_sha256(path: Path) -> str:
    """``path``'s sha256: the recorded one while the file keeps the size and mtime it had when
    it was recorded (hashing a 10 GB dump again takes a minute), else hashed and recorded now."""
    stat = path.stat()
    try:
        record = json.loads(_record_path(path).read_text())
        if (record["size"], record["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns):
            return str(record["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no record, or an unreadable one: hash the file
    digest = sha256_file(path)
    record_sha256(path, digest)
    return digest
