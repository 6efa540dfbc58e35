"""The small identities list the cache builder reads (``identities.csv`` beside the mirror).

About twenty rows: mostly Discogs releases present in the last month, a few masters, one release
deleted by the last month (the cache should report it as not found), sources the pipeline does
not support, one inactive identity and one flagged ``discogs_unavailable`` with a note.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from pathlib import Path
from random import Random

from ..atomic import write_bytes_atomic

IDENTITY_COLUMNS = (
    "identity_id", "source", "external_id", "active", "discogs_unavailable",
    "discogs_unavailable_note",
)
PRESENT_RELEASES = 12
PRESENT_MASTERS = 3


def identity_rows(rng: Random, releases: Sequence[int], masters: Sequence[int],
                  gone_release: int | None) -> list[tuple[str, ...]]:
    """Rows in ``IDENTITY_COLUMNS`` order; ids are sampled from the given present ids."""
    picked = rng.sample(sorted(releases), PRESENT_RELEASES + 2)
    present, inactive, unavailable = picked[:PRESENT_RELEASES], picked[-2], picked[-1]
    rows: list[tuple[str, str, str, str, str]] = [
        ("discogs_release", str(r), "true", "false", "") for r in sorted(present)]
    rows += [("discogs_master", str(m), "true", "false", "")
             for m in sorted(rng.sample(sorted(masters), min(PRESENT_MASTERS, len(masters))))]
    if gone_release is not None:
        rows.append(("discogs_release", str(gone_release), "true", "false", ""))
    rows += [
        ("discogs_release", str(inactive), "false", "false", ""),
        ("discogs_release", str(unavailable), "true", "true",
         "Blocked in the Discogs marketplace; do not query the API for it"),
        ("musicbrainz_release", str(uuid.UUID(int=rng.getrandbits(128), version=4)), "true",
         "false", ""),
        ("spotify_album", "".join(rng.choice("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno"
                                             "pqrstuvwxyz") for _ in range(22)),
         "true", "false", ""),
        ("bandcamp", f"https://artist{rng.randint(1, 999)}.bandcamp.com/album/sample", "true",
         "false", ""),
    ]
    # The LML service's integer identity ids, spread over several digits so that numeric and
    # text order differ.
    ids = rng.sample(range(1, 1_000_000), len(rows))
    return [(str(i), *row) for i, row in zip(ids, rows, strict=True)]


def write_identities(path: Path, rows: Sequence[tuple[str, ...]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(IDENTITY_COLUMNS)
    writer.writerows(rows)
    write_bytes_atomic(path, buf.getvalue().encode("utf-8"))
