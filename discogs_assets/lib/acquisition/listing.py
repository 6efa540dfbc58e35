"""Parse the two listing formats into listed dump files.

- The production host's year page (``?prefix=data/YYYY/``): an HTML ``<pre>`` table with
  "Last Modified", a human size ("469.6 MB", so sizes are approximate) and a ``?download=`` link.
- An S3 ``ListBucketResult`` (legacy bucket, S3-compatible mirrors): exact sizes.

Entries whose names are not dump files are skipped (reported in ``ignored``); a line that looks
like an entry but cannot be parsed is an error naming the line, so a format change is loud.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote

from lxml import etree

from discogs_assets.lib.acquisition.names import InvalidDumpName, parse_key
from discogs_assets.lib.errors import NonRetryableError


class ListingError(NonRetryableError):
    """A listing could not be parsed."""


# Human sizes: the unit base of the host is not documented, so an approximate size is kept as
# the range covering both 1000- and 1024-based readings plus the rounding of the last digit.
_UNITS = {"B": 0, "KB": 1, "MB": 2, "GB": 3, "TB": 4}


@dataclass(frozen=True)
class DumpFile:
    """One listed file. ``DumpFile(name, size, key)`` is enough to download it later."""

    name: str
    size: int  # bytes; an upper estimate when ``size_min`` is set (human sizes)
    key: str  # data/YYYY/<name>
    size_min: int | None = None  # lower bound of an approximate size; None = ``size`` is exact
    last_modified: datetime | None = None
    url: str = ""  # where the source downloads it from ("" = built from the key)

    def __post_init__(self) -> None:
        parsed = parse_key(self.key)  # names from the network are validated here, once
        if parsed.name != self.name:
            raise InvalidDumpName(f"dump file {self.name!r} does not match its key {self.key!r}")

    @property
    def date(self) -> str:
        """YYYYMMDD of the dump the file belongs to."""
        return self.name.split("_")[1]

    @property
    def kind(self) -> str:
        """An entity, or "CHECKSUM"."""
        return self.name.split("_")[2].split(".")[0]

    @property
    def size_exact(self) -> bool:
        return self.size_min is None

    def size_matches(self, actual: int) -> bool:
        """Whether ``actual`` bytes agree with the listed size (exactly, or within the rounding)."""
        if self.size_min is None:
            return actual == self.size
        return self.size_min <= actual <= self.size


@dataclass
class Listing:
    files: list[DumpFile]
    ignored: list[str] = field(default_factory=list)
    next_marker: str | None = None  # S3: set when the listing is truncated


def parse_human_size(text: str) -> tuple[int, int, bool]:
    """``"469.6 MB"`` -> (min bytes, max bytes, exact?)."""
    m = re.fullmatch(r"([0-9]+(?:\.([0-9]+))?)\s*([KMGT]?B)", text.strip(), re.ASCII)
    if not m or m.group(3) not in _UNITS:
        raise ValueError(f"not a size: {text!r}")
    value, decimals, power = float(m.group(1)), len(m.group(2) or ""), _UNITS[m.group(3)]
    if power == 0 and not decimals:
        return int(value), int(value), True
    half_step = 0.5 * 10**-decimals
    low = int((value - half_step) * 1000**power)
    high = int((value + half_step) * 1024**power) + 1
    return max(low, 0), high, False


_HTML_ENTRY = re.compile(
    r"^\s*(?P<date>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\s+(?P<size>[0-9.]+\s*[KMGT]?B)\s+"
    r'<a href="\?download=(?P<href>[^"]+)">(?P<text>[^<]*)</a>\s*$',
    re.ASCII,
)


def parse_html_listing(html: str, *, source: str = "listing") -> Listing:
    """Parse the production host's HTML year listing."""
    files: list[DumpFile] = []
    ignored: list[str] = []
    for lineno, line in enumerate(html.splitlines(), start=1):
        if "?download=" not in line:
            continue
        m = _HTML_ENTRY.match(line)
        if not m:
            raise ListingError(f"{source} line {lineno}: unrecognised entry {line.strip()[:200]!r}")
        key = unquote(m.group("href"))
        try:
            parsed = parse_key(key)
        except InvalidDumpName:
            ignored.append(key)
            continue
        if m.group("text") != parsed.name:
            raise ListingError(
                f"{source} line {lineno}: link text {m.group('text')!r} does not match {key!r}"
            )
        low, high, exact = parse_human_size(m.group("size"))
        modified = datetime.strptime(m.group("date"), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        files.append(DumpFile(parsed.name, high, key, None if exact else low, modified))
    if not files and "<pre>" not in html:
        raise ListingError(f"{source}: not a dump listing page (no <pre> table, no entries)")
    return Listing(files, ignored)


_SAFE_XML = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def parse_s3_listing(data: bytes, *, source: str = "listing") -> Listing:
    """Parse an S3 ``ListBucketResult`` (namespaced or not)."""
    try:
        root = etree.fromstring(data, _SAFE_XML)
    except etree.XMLSyntaxError as exc:
        raise ListingError(f"{source}: not well-formed XML: {exc}") from None
    if _local(root.tag) != "ListBucketResult":
        raise ListingError(f"{source}: root element is <{_local(root.tag)}>, not ListBucketResult")
    files: list[DumpFile] = []
    ignored: list[str] = []
    truncated = False
    next_marker: str | None = None
    last_key: str | None = None
    for child in root:
        tag = _local(child.tag)
        if tag == "IsTruncated":
            truncated = (child.text or "").strip().lower() == "true"
        elif tag == "NextMarker":
            next_marker = (child.text or "").strip() or None
        elif tag == "Contents":
            values = {_local(c.tag): (c.text or "").strip() for c in child}
            key = values.get("Key", "")
            last_key = key
            try:
                parsed = parse_key(key)
            except InvalidDumpName:
                ignored.append(key)
                continue
            try:
                size = int(values["Size"])
                modified = (
                    datetime.fromisoformat(values["LastModified"].replace("Z", "+00:00"))
                    if values.get("LastModified")
                    else None
                )
            except (KeyError, ValueError) as exc:
                raise ListingError(
                    f"{source}: entry {key!r} has a bad Size/LastModified: {exc}"
                ) from None
            files.append(DumpFile(parsed.name, size, key, None, modified))
    marker = (next_marker or last_key) if truncated else None
    return Listing(files, ignored, marker)


def looks_like_s3(body: bytes) -> bool:
    """Auto-detection of the listing format from a response body."""
    return b"<ListBucketResult" in body[:2048]
