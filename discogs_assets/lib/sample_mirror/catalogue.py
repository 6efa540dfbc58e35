"""Deterministic synthetic catalogue: record content for any (entity, index, month).

Structure (by index inside each entity, so it is computable record by record):

- labels come in blocks of 7: ``7b`` is a parent company whose ``<sublabels>`` are ``7b+5`` and
  ``7b+6``; ``7b+3`` has the nameless label 212 as parent (212 lists all of them).
- artists come in blocks of 10: ``10b`` is a group with members ``10b+1..10b+3`` (each lists
  the group in ``<groups>``); ``10b+4`` and ``10b+9`` are aliases of each other.
- releases come in blocks of 10 tied to masters ``3b..3b+2``: ``10b``, ``10b+2`` and ``10b+3``
  are main releases, ``10b+1``, ``10b+4`` and ``10b+5`` other versions, the rest have
  ``master_id`` 0; ``10b+7`` is a "Various" compilation. A deleted master turns its releases'
  ``master_id`` into 0 in that month (a change the next month shows, as Discogs merges do).
- fixed records below the generic id range carry the awkward cases: label 212, artist 194
  "Various", release 101 (every hard case at once), release 102 (deleted in the second month,
  back unchanged in the third), release 103 (a label id that is not in the labels file).

Record content = base drawn from ``Random(seed:entity:index)`` + the edits the plan schedules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from random import Random

from . import names as n
from .model import (
    Artist,
    Company,
    Credit,
    Format,
    Identifier,
    Label,
    LabelRef,
    Master,
    Record,
    Ref,
    Release,
    Track,
    Video,
)
from .plan import EntityPlan, additions_per_step, plan_entity

BASE_COUNTS: dict[str, int] = {"labels": 200, "artists": 300, "masters": 150, "releases": 500}
"""Records per entity in the first month at ``scale=1``."""

GENERIC_ID_BASE = 1000
NAMELESS_LABEL_ID = 212
VARIOUS_ARTIST_ID = 194
AWKWARD_RELEASE_ID = 101
RETURNING_RELEASE_ID = 102
DANGLING_RELEASE_ID = 103
DANGLING_LABEL_ID = 999_999_999
HUGE_QTY = "99999999999999999999999"  # beyond 64 bits, as in real dumps

# release block position -> (master offset in its block of 3, is main release)
_MASTER_OF: dict[int, tuple[int, bool]] = {
    0: (0, True), 1: (0, False), 2: (1, True), 3: (2, True), 4: (1, False), 5: (2, False),
}
_MAIN_POS = (0, 2, 3)  # release block position of master offset 0, 1, 2
_COMPILATION_POS = 7


def generic_id(i: int) -> int:
    """Sparse, strictly increasing ids (real ids have gaps) well above the fixed records."""
    return GENERIC_ID_BASE + 4 * i + ((i * 2654435761) >> 11) % 3


def _structural(entity: str, i: int) -> bool:
    if entity == "labels":
        return i % 7 == 0
    if entity == "artists":
        return i % 10 in (0, 1, 2, 3, 4, 9)
    if entity == "releases":
        return i % 10 in _MAIN_POS
    return False


class Catalogue:
    """All months of one synthetic catalogue; ``records(entity, month)`` streams one file."""

    def __init__(self, seed: int, scale: int, months: int) -> None:
        if scale < 1:
            raise ValueError(f"scale must be >= 1, got {scale}")
        if months < 1:
            raise ValueError(f"need at least one month, got {months}")
        self.seed = seed
        self.months = months
        steps = months - 1
        counts = {e: c * scale for e, c in BASE_COUNTS.items()}
        blocks = {"releases": 10, "masters": 3}
        self.plans: dict[str, EntityPlan] = {
            e: plan_entity(e, c, additions_per_step(c, blocks.get(e, 1)), steps,
                           Random(f"{seed}:plan:{e}"), lambda i, e=e: _structural(e, i))
            for e, c in counts.items()
        }
        self.label_names = [n.label_name(self._rng("labels", i, "name"))
                            for i in range(self.plans["labels"].total)]
        self.artist_names = [
            (n.band if i % 10 in (0, 4, 9) else n.person)(self._rng("artists", i, "name"))
            for i in range(self.plans["artists"].total)
        ]
        self.master_titles = [n.title(self._rng("masters", i, "title"))
                              for i in range(self.plans["masters"].total)]
        self._stable_labels = self.plans["labels"].stable_initial()
        self._stable_artists = self.plans["artists"].stable_initial()

    # -- helpers ---------------------------------------------------------------------------

    def _rng(self, entity: str, i: int, *salt: object) -> Random:
        return Random(":".join(map(str, (self.seed, entity, i, *salt))))

    def _label_ref(self, rng: Random) -> LabelRef:
        i = n.pick(rng, self._stable_labels)
        return LabelRef(generic_id(i), self.label_names[i], n.catno(rng))

    def _credit(self, rng: Random, role: str | None = None, join: str | None = None,
                tracks: str | None = None) -> Credit:
        i = n.pick(rng, self._stable_artists)
        anv = self.artist_names[i].split(" ")[-1] if rng.random() < 0.1 else None
        return Credit(generic_id(i), self.artist_names[i], anv, join, role, tracks)

    def _credits(self, rng: Random, count: int) -> tuple[Credit, ...]:
        return tuple(self._credit(rng, join=" & " if k < count - 1 else None)
                     for k in range(count))

    def _extra(self, rng: Random) -> Credit:
        if rng.random() < 0.1:  # an unlinked credit: a name typed on the release, no artist id
            return Credit(None, n.person(rng), role=n.pick(rng, n.ROLES))
        tracks = f"A1 to B{n.between(rng, 1, 4)}" if rng.random() < 0.2 else None
        return self._credit(rng, role=n.pick(rng, n.ROLES), tracks=tracks)

    def _videos(self, rng: Random, label: str) -> tuple[Video, ...]:
        return tuple(
            Video(f"https://www.youtube.com/watch?v={rng.getrandbits(40):010x}",
                  n.between(rng, 60, 900), f"{label} - {n.title(rng)}",
                  n.sentence(rng) if rng.random() < 0.7 else None)
            for _ in range(n.pick(rng, (0, 0, 1, 2)))
        )

    def _tracklist(self, rng: Random, compilation: bool) -> tuple[Track, ...]:
        tracks: list[Track] = []
        count = n.between(rng, 2, 12)
        side = "A"
        for k in range(1, count + 1):
            if k > count // 2:
                side = "B"
            artists = self._credits(rng, 1) if compilation else ()
            extra = (self._extra(rng),) if rng.random() < 0.15 else ()
            tracks.append(Track(f"{side}{k}", n.title(rng), n.duration(rng)
                                if rng.random() < 0.85 else None, artists, extra))
        if rng.random() < 0.08:  # a heading track holding sub-tracks (no position)
            subs = tuple(Track(f"{count + 1}.{ch}", n.title(rng), n.duration(rng))
                         for ch in "abc"[: n.between(rng, 2, 3)])
            tracks.append(Track(None, n.title(rng, 2, 5), None, sub_tracks=subs))
        return tuple(tracks)

    # -- records ----------------------------------------------------------------------------

    def records(self, entity: str, month: int) -> Iterator[Record]:
        """Every record of ``entity`` in month index ``month``, in ascending id order."""
        yield from self._fixed(entity, month)
        plan = self.plans[entity]
        build = getattr(self, f"_{entity}")
        edit = getattr(self, f"_edit_{entity}")
        for i in range(plan.total):
            if plan.present(i, month):
                record = build(i, month)
                for step in plan.edit_steps(i, month):
                    record = edit(record, self._rng(entity, i, "edit", step))
                yield record

    def _fixed(self, entity: str, month: int) -> Iterator[Record]:
        if entity == "labels":
            plan = self.plans["labels"]
            yield Label(NAMELESS_LABEL_ID, None, "Correct",
                        profile="Placeholder used as the parent of unrelated labels.",
                        sublabels=tuple(Ref(generic_id(i), self.label_names[i])
                                        for i in range(3, plan.total, 7)
                                        if plan.present(i, month)))
        elif entity == "artists":
            yield Artist(VARIOUS_ARTIST_ID, "Various", "Correct",
                         profile="Used for compilations with several artists.\r\n"
                                 "Do not use for single-artist releases.")
        elif entity == "releases":
            yield self._awkward_release()
            if month != 1:  # deleted in the second month, back unchanged in the third
                yield self._plain_release(RETURNING_RELEASE_ID, self._label_ref)
            yield self._plain_release(
                DANGLING_RELEASE_ID,
                lambda rng: LabelRef(DANGLING_LABEL_ID, "Ghost Label (Not In Labels File)",
                                     n.catno(rng)))

    def _awkward_release(self) -> Release:
        rng = self._rng("releases", "awkward")
        long_title = ("Μεγάλη Σουίτα & <Όλα> τα μέρη: " + "movement ü 日本 🎧 " * 150).strip()
        heading = Track(None, "Suite: Heading Track", None, sub_tracks=(
            Track("2.a", "Prelude", "1:05"), Track("2.b", "Fugue & Coda", "2:10")))
        return Release(
            AWKWARD_RELEASE_ID, "Ünïcödé 日本語 🎧 & <Escapes> \"Quoted\"", "Needs Vote",
            master_id=0, is_main_release=False,
            artists=(self._credit(rng, join="&"),
                     Credit(None, "Unlinked Performer & <Friends>")),
            labels=(self._label_ref(rng),), series=(self._label_ref(rng),),
            extraartists=(self._credit(rng, role="Producer"),
                          Credit(None, "Uncredited Engineer", role="Engineer", tracks="1, 3")),
            formats=(Format("CD", HUGE_QTY, "Unofficial", ("Compilation", "Limited Edition")),
                     Format("Box Set", "1", "")),
            genres=("Electronic", "Folk, World, & Country"), styles=("Ambient",),
            country="Japan", released="2001-00-00",
            notes="Line one\r\nLine two with & and < and >.",
            tracklist=(Track("1", "Intro", "0:30", extraartists=(
                Credit(None, "Someone Without An Id", role="Vocals"),)),
                       heading, Track("3", long_title, "61:00")),
            identifiers=(Identifier("Barcode", "4 988005 123456"),
                         Identifier("Matrix / Runout", "AWK-1 A", "Side A")),
            videos=self._videos(rng, "Awkward"),
            companies=(Company(generic_id(self._stable_labels[0]),
                               self.label_names[self._stable_labels[0]], 13,
                               "Phonographic Copyright (p)", catno="AWK-1"),),
        )

    def _plain_release(self, rid: int, label: Callable[[Random], LabelRef]) -> Release:
        rng = self._rng("releases", rid)
        return Release(rid, n.title(rng), "Correct", master_id=0, is_main_release=False,
                       artists=self._credits(rng, 1), labels=(label(rng),),
                       formats=(Format("Vinyl", "1", "", ('12"',)),), genres=("Electronic",),
                       tracklist=(Track("A", n.title(rng), n.duration(rng)),
                                  Track("B", n.title(rng), n.duration(rng))))

    def _labels(self, i: int, month: int) -> Label:
        rng = self._rng("labels", i)
        plan = self.plans["labels"]
        pos, block = i % 7, i - i % 7
        parent = None
        if pos in (5, 6):
            parent = Ref(generic_id(block), self.label_names[block])
        elif pos == 3:
            parent = Ref(NAMELESS_LABEL_ID, None)
        sublabels = ()
        if pos == 0:
            sublabels = tuple(Ref(generic_id(c), self.label_names[c]) for c in (i + 5, i + 6)
                              if c < plan.total and plan.present(c, month))
        contact = (f"{n.person(rng)}\r\n{n.between(rng, 1, 200)} {n.title(rng, 1, 2)} Street\r\n"
                   f"{n.pick(rng, n.COUNTRIES)}") if rng.random() < 0.4 else None
        return Label(generic_id(i), self.label_names[i], n.pick(rng, n.DATA_QUALITY),
                     contactinfo=contact,
                     profile=n.sentence(rng) if rng.random() < 0.7 else None,
                     parent=parent,
                     urls=tuple(f"https://example.{k}.test/label/{i}"
                                for k in range(n.pick(rng, (0, 0, 1, 2)))),
                     sublabels=sublabels)

    def _artists(self, i: int, month: int) -> Artist:
        rng = self._rng("artists", i)
        plan = self.plans["artists"]
        pos, block = i % 10, i - i % 10
        members: tuple[Ref, ...] = ()
        groups: tuple[Ref, ...] = ()
        aliases: tuple[Ref, ...] = ()
        if pos == 0:
            members = tuple(Ref(generic_id(m), self.artist_names[m])
                            for m in range(i + 1, i + 4)
                            if m < plan.total and plan.present(m, month))
        elif pos in (1, 2, 3):
            groups = (Ref(generic_id(block), self.artist_names[block]),)
        elif pos == 4 and plan.present(i + 5, month):
            aliases = (Ref(generic_id(i + 5), self.artist_names[i + 5]),)
        elif pos == 9:
            aliases = (Ref(generic_id(i - 5), self.artist_names[i - 5]),)
        is_person = pos not in (0, 4, 9)
        return Artist(
            generic_id(i), self.artist_names[i], n.pick(rng, n.DATA_QUALITY),
            realname=n.person(rng) if is_person and rng.random() < 0.6 else None,
            profile=n.sentence(rng) if rng.random() < 0.6 else None,
            urls=tuple(f"https://example.test/artist/{i}/{k}"
                       for k in range(n.pick(rng, (0, 0, 1)))),
            namevariations=tuple(self.artist_names[i].upper() if k == 0 else n.title(rng)
                                 for k in range(n.pick(rng, (0, 1, 2)))),
            aliases=aliases, members=members, groups=groups,
        )

    def _masters(self, j: int, month: int) -> Master:
        rng = self._rng("masters", j)
        main = 10 * (j // 3) + _MAIN_POS[j % 3]
        return Master(
            generic_id(j), generic_id(main), self.master_titles[j], n.pick(rng, n.DATA_QUALITY),
            artists=self._credits(rng, n.pick(rng, (1, 1, 2))),
            genres=n.some(rng, n.GENRES, 1, 2),
            styles=n.some(rng, n.STYLES, 0, 3),
            year=n.between(rng, 1950, 2025) if rng.random() < 0.95 else None,
            notes=n.sentence(rng) if rng.random() < 0.2 else None,
            videos=self._videos(rng, self.master_titles[j]),
        )

    def _releases(self, r: int, month: int) -> Release:
        rng = self._rng("releases", r)
        pos = r % 10
        master_id, is_main, title = 0, False, n.title(rng)
        if pos in _MASTER_OF:
            offset, main = _MASTER_OF[pos]
            j = 3 * (r // 10) + offset
            title = self.master_titles[j]
            if self.plans["masters"].present(j, month):
                master_id, is_main = generic_id(j), main
        compilation = pos == _COMPILATION_POS
        fmt_name, descriptions = n.FORMATS[3] if compilation else n.pick(rng, n.FORMATS)
        labels = [self._label_ref(rng) for _ in range(n.pick(rng, (1, 1, 1, 2)))]
        return Release(
            generic_id(r), title, n.pick(rng, n.DATA_QUALITY), master_id, is_main,
            artists=((Credit(VARIOUS_ARTIST_ID, "Various"),) if compilation
                     else self._credits(rng, n.pick(rng, (1, 1, 1, 2)))),
            labels=tuple(labels),
            series=(self._label_ref(rng),) if rng.random() < 0.08 else (),
            extraartists=tuple(self._extra(rng) for _ in range(n.between(rng, 0, 3))),
            formats=(Format(fmt_name, str(n.pick(rng, (1, 1, 1, 2))), "", descriptions),),
            genres=n.some(rng, n.GENRES, 1, 2),
            styles=n.some(rng, n.STYLES, 0, 3),
            country=n.pick(rng, n.COUNTRIES) if rng.random() < 0.9 else None,
            released=_released(rng),
            notes=n.sentence(rng, 40, 600) if rng.random() < 0.4 else None,
            tracklist=self._tracklist(rng, compilation),
            identifiers=tuple(
                Identifier(n.pick(rng, n.IDENTIFIER_TYPES), f"{rng.getrandbits(40):012d}",
                           "Side A" if rng.random() < 0.4 else None)
                for _ in range(n.pick(rng, (0, 1, 2, 3)))),
            videos=self._videos(rng, title),
            companies=tuple(
                Company(labels[0].id, labels[0].name, *n.pick(rng, n.COMPANY_TYPES),
                        catno=labels[0].catno if rng.random() < 0.3 else None)
                for _ in range(n.pick(rng, (0, 1, 2)))),
        )

    # -- monthly edits (each one changes the record's bytes) -----------------------------------

    def _edit_labels(self, r: Label, rng: Random) -> Label:
        kind = rng.randrange(3)
        if kind == 0:
            return replace(r, profile=f"{r.profile or ''} {n.sentence(rng)}".strip())
        if kind == 1:
            return replace(r, urls=(*r.urls, f"https://example.test/label/{r.id}/"
                                              f"{rng.getrandbits(32):x}"))
        return replace(r, contactinfo=f"{n.person(rng)}\r\nP.O. Box {n.between(rng, 1, 99999)}")

    def _edit_artists(self, r: Artist, rng: Random) -> Artist:
        kind = rng.randrange(2)
        if kind == 0:
            return replace(r, profile=f"{r.profile or ''} {n.sentence(rng)}".strip())
        return replace(r, namevariations=(*r.namevariations, f"{r.name} ({n.title(rng, 1, 1)})"))

    def _edit_masters(self, r: Master, rng: Random) -> Master:
        if rng.random() < 0.5:
            return replace(r, title=f"{r.title} (Deluxe Edition)")
        return replace(r, year=(r.year or 1990) + 1)

    def _edit_releases(self, r: Release, rng: Random) -> Release:
        kind = rng.randrange(4)
        if kind == 0:
            return replace(r, title=f"{r.title} (Remastered)")
        if kind == 1:  # a tracklist change: a bonus track appears
            bonus = Track(f"Bonus{len(r.tracklist) + 1}", n.title(rng), n.duration(rng))
            return replace(r, tracklist=(*r.tracklist, bonus))
        if kind == 2:  # a credit change
            return replace(r, extraartists=(*r.extraartists, self._extra(rng)))
        return replace(r, notes=f"{r.notes or ''} {n.sentence(rng)}".strip())


def _released(rng: Random) -> str | None:
    """The shapes real dumps hold: none, year only, unknown month/day as 00, full date."""
    year = n.between(rng, 1955, 2025)
    shape = n.between(rng, 0, 4)
    if shape == 0:
        return None
    if shape == 1:
        return str(year)
    if shape == 2:
        return f"{year}-00-00"
    month = n.between(rng, 1, 12)
    day = 0 if shape == 3 else n.between(rng, 1, 28)
    return f"{year}-{month:02d}-{day:02d}"
