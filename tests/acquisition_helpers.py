"""Shared helpers of the acquisition tests: a mirror directory built from the real samples."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from discogs_assets.lib.acquisition import DumpSource

SAMPLE_DATE = "20200806"
SAMPLE_MONTH = "2020-08"
ENTITY_KINDS = ("labels", "artists", "masters", "releases")


@dataclass
class Mirror:
    root: Path  # laid out as data/YYYY/<files>
    sums: dict[str, str]  # file name -> sha256
    sizes: dict[str, int]

    def folder(self) -> Path:
        return self.root / "data" / SAMPLE_DATE[:4]

    def checksum_name(self) -> str:
        return f"discogs_{SAMPLE_DATE}_CHECKSUM.txt"

    def publish_checksum(self) -> None:
        """Write the CHECKSUM last, like the host (two-space format, shuffled order)."""
        lines = [f"{digest}  {name}" for name, digest in sorted(self.sums.items(), reverse=True)]
        (self.folder() / self.checksum_name()).write_text("\n".join(lines) + "\n")


def build_mirror(root: Path, sample_dumps: Path, *, checksum: bool = True) -> Mirror:
    """A mirror of the real 2020-08-06 sample dump (four .xml.gz files, ≈1.1 MB)."""
    folder = root / "data" / SAMPLE_DATE[:4]
    folder.mkdir(parents=True)
    sums: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for kind in ENTITY_KINDS:
        name = f"discogs_{SAMPLE_DATE}_{kind}.xml.gz"
        shutil.copyfile(sample_dumps / "philipmat_discogs-xml2db" / name, folder / name)
        data = (folder / name).read_bytes()
        sums[name] = hashlib.sha256(data).hexdigest()
        sizes[name] = len(data)
    mirror = Mirror(root, sums, sizes)
    if checksum:
        mirror.publish_checksum()
    return mirror


@dataclass
class Sleeps:
    """An injectable ``sleep`` that records the waits instead of waiting."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def http_source(url: str, sleeps: Sleeps, **kwargs: object) -> DumpSource:
    """A source with millisecond backoff and a short stall timeout, for tests."""
    options: dict[str, object] = {
        "base_delay": 0.001,
        "stall_timeout": 0.5,
        "connect_timeout": 2.0,
        "sleep": sleeps,
    }
    options.update(kwargs)
    return DumpSource.from_url(url, **options)  # type: ignore[arg-type]


def assert_no_partial_under_final_name(dest: Path, name: str, expected_sha256: str) -> None:
    """The final name holds nothing, or exactly the verified file."""
    final = dest / name
    if final.exists():
        assert hashlib.sha256(final.read_bytes()).hexdigest() == expected_sha256
