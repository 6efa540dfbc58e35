"""Generate a synthetic Discogs releases dump in the real (2020-era) schema.

Deterministic for a seed; one record per line like real dumps; every release table gets rows
(sub-tracks, track credits, ``<id>0</id>`` credits, missing masters, huge ``qty`` values,
escaped and non-ASCII text). About 4 KB of XML per release, like the real dump.

    uv run python benchmarks/gen_releases.py OUT.xml.gz [--size-mb 1024 | --releases N] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import BinaryIO

from isal import igzip

_WORDS = ("Love", "Night", "Blue", "Dance", "Dream", "Fire", "Soul", "Groove", "Electric",
          "Deep", "House", "Techno", "Song", "River", "Sun", "Moon", "Stockholm", "Östermalm",
          "Söder", "Zürich", "Café", "Niño", "Ça", "Été", "Kraków", "Łódź", "Tōkyō", "Mix",
          "Dub", "Edit", "Version", "Live", "Remix")
_ROLES = ("Producer", "Mixed By", "Written-By", "Vocals", "Mastered By", "Artwork",
          "Music By [All Tracks By]", "Remix", "Engineer")
_FORMATS = (("Vinyl", ('12"', "33 ⅓ RPM", "EP")), ("CD", ("Album", "Compilation")),
            ("Cassette", ("Album",)), ("File", ("MP3", "320 kbps")))
_GENRES = ("Electronic", "Rock", "Jazz", "Hip Hop", "Pop", "Folk, World, &amp; Country")
_STYLES = ("House", "Techno", "Deep House", "Ambient", "Disco", "Soul", "Punk")
_COMPANY_TYPES = ((23, "Recorded At"), (17, "Pressed By"), (13, "Phonographic Copyright (p)"))
_COUNTRIES = ("US", "UK", "Germany", "Sweden", "France", "Japan", "Netherlands")


def _title(rng: random.Random, n: int = 3) -> str:
    return " ".join(rng.choices(_WORDS, k=rng.randint(1, n)))


def _credit(rng: random.Random, role: bool, tracks: bool) -> str:
    artist_id = 0 if rng.random() < 0.02 else rng.randint(1, 9_000_000)
    name = _title(rng, 2) + (" &amp; " + _title(rng, 1) if rng.random() < 0.1 else "")
    anv = f"<anv>{_title(rng, 1)}</anv>" if rng.random() < 0.1 else "<anv/>"
    role_el = f"<role>{rng.choice(_ROLES)}</role>" if role else "<role/>"
    tracks_el = "<tracks>A1 to B2</tracks>" if tracks and rng.random() < 0.1 else "<tracks/>"
    return (f"<artist><id>{artist_id}</id><name>{name}</name>{anv}<join/>{role_el}"
            f"{tracks_el}</artist>")


def _track(rng: random.Random, pos: str, subs: bool) -> str:
    parts = [f"<track><position>{pos}</position><title>{_title(rng, 5)}</title>"
             f"<duration>{rng.randint(1, 12)}:{rng.randint(0, 59):02d}</duration>"]
    if subs:
        parts.append("<sub_tracks>")
        parts.extend(f"<track><position>{pos}.{chr(97 + i)}</position>"
                     f"<title>{_title(rng, 3)}</title><duration/></track>"
                     for i in range(rng.randint(2, 4)))
        parts.append("</sub_tracks>")
    if rng.random() < 0.3:
        parts.append("<artists>" + _credit(rng, False, False) + "</artists>")
    if rng.random() < 0.4:
        parts.append("<extraartists>" + "".join(_credit(rng, True, False)
                                                for _ in range(rng.randint(1, 3)))
                     + "</extraartists>")
    parts.append("</track>")
    return "".join(parts)


def release_xml(rng: random.Random, release_id: int) -> str:
    """One ``<release>`` record on one line (no trailing newline)."""
    p = [f'<release id="{release_id}" status="Accepted"><images>'
         '<image type="primary" uri="" uri150="" width="600" height="600"/></images><artists>']
    p.extend(_credit(rng, False, False) for _ in range(rng.randint(1, 2)))
    p.append(f"</artists><title>{_title(rng, 4)}</title><labels>")
    p.extend(f'<label name="{_title(rng, 2)}" catno="CAT {rng.randint(1, 999)}" '
             f'id="{rng.randint(1, 2_000_000)}"/>' for _ in range(rng.randint(1, 2)))
    p.append("</labels><extraartists>")
    p.extend(_credit(rng, True, True) for _ in range(rng.randint(0, 6)))
    p.append("</extraartists><formats>")
    for _ in range(rng.randint(1, 2)):
        name, descs = rng.choice(_FORMATS)
        qty = "18446744073709551617" if rng.random() < 0.001 else str(rng.randint(1, 3))
        p.append(f'<format name="{name}" qty="{qty}" text=""><descriptions>'
                 + "".join(f"<description>{d}</description>" for d in descs)
                 + "</descriptions></format>")
    p.append(f"</formats><genres><genre>{rng.choice(_GENRES)}</genre></genres><styles>")
    p.extend(f"<style>{s}</style>" for s in rng.sample(_STYLES, rng.randint(1, 3)))
    p.append(f"</styles><country>{rng.choice(_COUNTRIES)}</country>"
             f"<released>{rng.randint(1960, 2025)}-0{rng.randint(1, 9)}-00</released>"
             f"<notes>{_title(rng, 30)}&#13;\n{_title(rng, 20)}</notes>"
             "<data_quality>Needs Vote</data_quality>")
    if rng.random() < 0.6:
        main = "true" if rng.random() < 0.3 else "false"
        p.append(f'<master_id is_main_release="{main}">{rng.randint(1, 3_000_000)}</master_id>')
    p.append("<tracklist>")
    side_tracks = rng.randint(4, 14)
    p.extend(_track(rng, f"{'AB'[i % 2]}{i + 1}", rng.random() < 0.03)
             for i in range(side_tracks))
    p.append("</tracklist><identifiers>")
    p.extend(f'<identifier type="Matrix / Runout" description="Side {c}" '
             f'value="MPO {rng.randint(100, 999)} {c}1"/>' for c in "ABCD"[: rng.randint(0, 4)])
    p.append("</identifiers><videos>")
    for _ in range(rng.randint(0, 3)):
        p.append(f'<video src="https://www.youtube.com/watch?v={rng.randint(10**9, 10**10)}" '
                 f'duration="{rng.randint(60, 600)}" embed="true"><title>{_title(rng, 5)}</title>'
                 f"<description>{_title(rng, 12)}</description></video>")
    p.append("</videos><companies>")
    for _ in range(rng.randint(0, 3)):
        etype, ename = rng.choice(_COMPANY_TYPES)
        cid = rng.randint(1, 900_000)
        p.append(f"<company><id>{cid}</id><name>{_title(rng, 3)}</name><catno/>"
                 f"<entity_type>{etype}</entity_type><entity_type_name>{ename}"
                 f"</entity_type_name><resource_url>https://api.discogs.com/labels/{cid}"
                 "</resource_url></company>")
    p.append("</companies></release>")
    return "".join(p)


def write_releases(out: BinaryIO, size_bytes: int | None, seed: int = 7,
                   releases: int | None = None) -> int:
    """Write a releases dump of about ``size_bytes`` uncompressed, or of ``releases`` records;
    return the record count."""
    rng = random.Random(seed)
    out.write(b"<releases>\n")
    written, count, batch = 0, 0, []
    while written < size_bytes if releases is None else count < releases:
        count += 1
        line = release_xml(rng, count).encode() + b"\n"
        written += len(line)
        batch.append(line)
        if len(batch) >= 1000:
            out.write(b"".join(batch))
            batch.clear()
    out.write(b"".join(batch) + b"</releases>\n")
    return count


def generate(path: Path, size_mb: float | None, seed: int = 7,
             releases: int | None = None) -> int:
    """``size_mb`` of XML or ``releases`` records; ``path`` ending in ``.gz`` is
    gzip-compressed (isal, level 1, for speed)."""
    size = None if size_mb is None else int(size_mb * 1_000_000)
    if path.suffix == ".gz":
        with igzip.open(path, "wb", compresslevel=1) as fh:
            return write_releases(fh, size, seed, releases)
    with open(path, "wb") as fh:
        return write_releases(fh, size, seed, releases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--size-mb", type=float)
    size.add_argument("--releases", type=int, help="a record count instead of a size")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    size_mb = 1024 if args.size_mb is None and args.releases is None else args.size_mb
    count = generate(args.out, size_mb, args.seed, args.releases)
    print(f"{args.out}: {count} releases")


if __name__ == "__main__":
    main()
