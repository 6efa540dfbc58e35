"""A dump host for the live tests: the project's sample mirror, published month by month.

The sample mirror is generated once into a staging folder; ``publish`` copies one month into
the folder a real HTTP ``MirrorServer`` serves, data files first and the CHECKSUM last (the
"dump complete" marker), as the real host does. Faults are swapped in while processes run.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from types import TracebackType

from discogs_assets.lib.acquisition.mirror_server import FaultPlan, MirrorServer
from discogs_assets.lib.sample_mirror import build_sample_mirror
from discogs_assets.lib.sample_mirror.mirror import MonthSummary


class PublishingMirror:
    """``root/staging`` holds the generated months; ``root/served`` is what the host shows."""

    def __init__(self, root: Path, months: tuple[str, ...]) -> None:
        self.staging = root / "staging"
        self.served = root / "served"
        self.incoming = root / "incoming"  # same file system as served: renames are atomic
        self.served.mkdir(parents=True)
        self.incoming.mkdir()
        self.summary = build_sample_mirror(self.staging, months=months, scale=1)
        self.server = MirrorServer(self.served)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def identities(self) -> Path:
        return self.summary.identities

    def month(self, month: str) -> MonthSummary:
        return self.summary.months[month]

    def file_name(self, month: str, kind: str) -> str:
        """The dump file of ``kind`` (an entity, or ``CHECKSUM``) for ``month``."""
        summary = self.month(month)
        return summary.checksum.name if kind == "CHECKSUM" else summary.files[kind].name

    def _folder(self, month: str) -> str:
        return f"data/{self.month(month).dump_date:%Y}"

    def publish(self, month: str, *, data: bool = True, checksum: bool = True) -> None:
        """Copy the month's data files, then (separately, when asked) its CHECKSUM."""
        summary = self.month(month)
        target = self.served / self._folder(month)
        target.mkdir(parents=True, exist_ok=True)
        names = ([f.name for f in summary.files.values()] if data else []) + (
            [summary.checksum.name] if checksum else [])
        for name in names:
            # Copy beside the served tree, then rename: a reader never sees half a file.
            tmp = self.incoming / name
            shutil.copyfile(self.staging / self._folder(month) / name, tmp)
            tmp.replace(target / name)

    def expected_sha256(self, month: str) -> dict[str, str]:
        """File name -> SHA-256 of the month's published data files."""
        return {f.name: f.sha256 for f in self.month(month).files.values()}

    def set_faults(self, plan: FaultPlan) -> None:
        self.server.faults = plan

    def close(self) -> None:
        self.server.stop()

    def __enter__(self) -> PublishingMirror:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
