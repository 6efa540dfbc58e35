"""Plan a backfill of many months: what each month needs, how long it will take, how to launch.

Pure planning: the caller gathers what the installation knows (the processing table, the phase
table's parser versions, months resolved and files present on disk, one listing per year) and
this module decides, month by month:

- ``done``: completed by the current parser (the month's and every parsed entity's
  ``parser_version``): skipped;
- ``run``: the monthly job will download the files not on disk, then parse and load every file;
- ``no dump`` / ``incomplete`` / ``blocked`` / ``unknown``: not launched, with the reason (no
  dump published, no CHECKSUM, a kind only in a dump without a CHECKSUM, no listing available).

Time is projected from this installation's measured rates (MB of gzipped dump per second, from
past months' stats: ``raw_<entity>`` bytes and seconds, ``parsed_<entity>`` and
``warehouse_<entity>`` seconds of the same files), falling back to ``DEFAULT_RATES``:

    wall ≈ max(download, max((parse + load) / workers, load)) + fill

Downloads share one link (the host rate-limits; the pool allows two at once, which does not
make the link faster), so they do not scale with workers; parses run on ``workers`` CPU slots;
loads take the warehouse's one-load-at-a-time lock, so their sum is a floor; ``fill`` is the
largest single month's parse and load, which cannot overlap the last download.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from discogs_assets.lib.acquisition import DumpFile, DumpIncomplete, DumpNotPublished, MonthDump
from discogs_assets.lib.acquisition.selection import select_month
from discogs_assets.lib.tables import ENTITIES

MB = 1_000_000
STAGES = ("download", "parse", "load")
DEFAULT_RATES: dict[str, float] = {"download": 20.0, "parse": 15.0, "load": 5.0}
"""MB of gzipped dump per second when nothing was measured yet: download over a typical link
(the host allows far more); parse at the measured xml2arrow pipeline speed (≈ 90 MB/s of XML,
≈ 5.6× the gzipped size) on one worker; load as a first load into PostgreSQL (≈ 150 k rows/s,
≈ 45 k rows per gzipped MB of releases)."""
SUSPICIOUS_SHARE = 0.25
"""A file smaller than this share of the same kind in the previous listed month is flagged (the
10 MB releases file of 20130103 after 1.8 GB in 20121201)."""
ORDERS = ("newest", "oldest")
JOB = "discogs_monthly"


@dataclass(frozen=True)
class Rates:
    """MB/s per stage (all entities) and per stage and entity, with where each came from."""

    stage: dict[str, float]
    by_entity: dict[tuple[str, str], float] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)

    def of(self, stage: str, entity: str) -> float:
        return self.by_entity.get((stage, entity), self.stage[stage])


def measure_rates(rows: Iterable[Mapping[str, Any]]) -> Rates:
    """Rates from past months' stats (weighted: total bytes / total seconds); a stage without
    any measurement takes ``DEFAULT_RATES``. Parse and load are measured against the size of
    the gzipped file the same month downloaded."""
    totals: dict[tuple[str, str], list[float]] = {}

    def add(stage: str, entity: str, nbytes: float, seconds: float) -> None:
        if nbytes > 0 and seconds > 0:
            acc = totals.setdefault((stage, entity), [0.0, 0.0, 0])
            acc[0] += nbytes
            acc[1] += seconds
            acc[2] += 1

    for row in rows:
        stats = row.get("stats") or {}
        for entity in ENTITIES:
            raw = stats.get(f"raw_{entity}") or {}
            nbytes = float(raw.get("bytes") or 0)
            if not raw.get("skipped_already_verified"):
                add("download", entity, nbytes, float(raw.get("seconds") or 0))
            add("parse", entity, nbytes, float((stats.get(f"parsed_{entity}") or {})
                                               .get("seconds") or 0))
            add("load", entity, nbytes, float((stats.get(f"warehouse_{entity}") or {})
                                              .get("seconds") or 0))
    stage: dict[str, float] = {}
    source: dict[str, str] = {}
    for s in STAGES:
        samples = [acc for (st, _), acc in totals.items() if st == s]
        if samples:
            nbytes, seconds, n = (sum(a[i] for a in samples) for i in range(3))
            stage[s] = nbytes / MB / seconds
            source[s] = f"measured on {int(n)} file(s)"
        else:
            stage[s] = DEFAULT_RATES[s]
            source[s] = "default"
    by_entity = {key: acc[0] / MB / acc[1] for key, acc in totals.items()}
    return Rates(stage, by_entity, source)


def completed_by(row: Mapping[str, Any] | None, phase_versions: Mapping[str, str | None],
                 parser_version: str) -> bool:
    """The month is completed and every entity it parsed was parsed by ``parser_version`` (an
    entity without a version was not in the month's dumps)."""
    if row is None or str(row.get("status")) != "completed":
        return False
    if row.get("parser_version") != parser_version:
        return False
    return all(v == parser_version for v in phase_versions.values() if v is not None)


def months_needing_listing(months: Sequence[str], done: set[str],
                           resolved: Mapping[str, MonthDump]) -> list[int]:
    """Years whose listing the plan needs: a month not done and not resolved on disk."""
    return sorted({int(m[:4]) for m in months if m not in done and m not in resolved})


@dataclass(frozen=True)
class MonthNeed:
    month: str
    action: str  # done | run | no dump | incomplete | blocked | unknown
    reason: str = ""
    dump: str = ""  # the dump dates the files come from
    dump_bytes: dict[str, int] = field(default_factory=dict)  # entity -> gzipped size
    download_bytes: int = 0
    download_s: float = 0.0
    parse_s: float = 0.0
    load_s: float = 0.0
    note: str = ""

    @property
    def runs(self) -> bool:
        return self.action == "run"


@dataclass(frozen=True)
class BackfillPlan:
    months: list[MonthNeed]  # in launch order
    rates: Rates
    workers: int
    order: str
    listing_requests: int = 0

    @property
    def to_run(self) -> list[MonthNeed]:
        return [m for m in self.months if m.runs]

    def totals(self) -> dict[str, float]:
        run = self.to_run
        out = {s: sum(getattr(m, f"{s}_s") for m in run) for s in STAGES}
        out["download_bytes"] = sum(m.download_bytes for m in run)
        out["dump_bytes"] = sum(sum(m.dump_bytes.values()) for m in run)
        return out

    def wall_seconds(self) -> float:
        run = self.to_run
        if not run:
            return 0.0
        t = self.totals()
        cpu = max((t["parse"] + t["load"]) / self.workers, t["load"])
        fill = max(m.parse_s + m.load_s for m in run)
        return max(t["download"], cpu) + fill

    def commands(self, workspace: str = "workspace.yaml") -> list[str]:
        """One ``dagster job backfill`` per year, in launch order. The CLI launches a year's
        months oldest first; ``dagster/priority`` makes the run queue take the years in this
        order whatever order the commands are typed in."""
        years: dict[str, list[str]] = {}
        for m in self.to_run:
            years.setdefault(m.month[:4], []).append(m.month)
        out = []
        for i, months in enumerate(years.values()):
            tags = json.dumps({"dagster/priority": str(len(years) - i)})
            out.append(f"dagster job backfill -w {workspace} -j {JOB} --partitions "
                       f"{','.join(sorted(months))} --tags '{tags}' --noprompt")
        return out

    def render(self) -> str:
        """The table, the totals and the projection, as printed by ``plan-backfill``."""
        head = (f"{'month':<8} {'action':<10} {'dump':<17} {'download':>9} {'dump MB':>9} "
                f"{'t_down':>7} {'t_parse':>7} {'t_load':>7}  note")
        lines = [head, "-" * len(head)]
        for m in self.months:
            size = sum(m.dump_bytes.values())
            lines.append(
                f"{m.month:<8} {m.action:<10} {m.dump:<17} "
                f"{_mb(m.download_bytes) if m.runs else '':>9} {_mb(size) if size else '':>9} "
                f"{_hms(m.download_s) if m.runs else '':>7} {_hms(m.parse_s) if m.runs else '':>7} "
                f"{_hms(m.load_s) if m.runs else '':>7}  {m.reason or m.note}")
        t = self.totals()
        counts: dict[str, int] = {}
        for m in self.months:
            counts[m.action] = counts.get(m.action, 0) + 1
        lines += [
            "",
            "months: " + ", ".join(f"{n} {a}" for a, n in sorted(counts.items())),
            f"to download: {_mb(t['download_bytes'])} MB of {_mb(t['dump_bytes'])} MB; "
            f"listing requests made: {self.listing_requests}",
            "rates (MB of gzipped dump per second): " + ", ".join(
                f"{s} {self.rates.stage[s]:.1f} ({self.rates.source[s]})" for s in STAGES),
            f"work: download {_hms(t['download'])}, parse {_hms(t['parse'])}, "
            f"load {_hms(t['load'])} (loads one at a time)",
            f"projected wall time with {self.workers} worker(s), {self.order} first: "
            f"{_hms(self.wall_seconds())}",
        ]
        return "\n".join(lines)


def _mb(nbytes: float) -> str:
    return f"{nbytes / MB:,.0f}" if nbytes >= MB else f"{nbytes / MB:.1f}"


def _hms(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else \
        f"{s // 60}:{s % 60:02d}"


def _dump_of(month: str, resolved: Mapping[str, MonthDump],
             listings: Mapping[int, Sequence[DumpFile] | str]) -> MonthDump | MonthNeed:
    if month in resolved:
        return resolved[month]
    listing = listings.get(int(month[:4]))
    if listing is None or isinstance(listing, str):
        return MonthNeed(month, "unknown", reason=listing or "no listing for the year")
    try:
        return select_month(listing, month)
    except DumpNotPublished as exc:
        return MonthNeed(month, "no dump", reason=str(exc))
    except DumpIncomplete as exc:
        return MonthNeed(month, "incomplete", reason=str(exc))


def plan_backfill(
    months: Sequence[str],
    *,
    processing: Mapping[str, Mapping[str, Any]],
    phase_versions: Mapping[str, Mapping[str, str | None]],
    resolved: Mapping[str, MonthDump],
    on_disk: Mapping[str, Mapping[str, int]],
    listings: Mapping[int, Sequence[DumpFile] | str],
    parser_version: str,
    rates: Rates,
    workers: int = 1,
    order: str = "newest",
    listing_requests: int = 0,
) -> BackfillPlan:
    """What each of ``months`` needs (see the module doc). ``on_disk``: month -> {file name:
    bytes present}; ``listings``: year -> its listed files, or why none is available."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    needs: list[MonthNeed] = []
    previous_sizes: dict[str, tuple[str, int]] = {}  # kind -> (month, size) last seen
    for month in sorted(months):
        if completed_by(processing.get(month), phase_versions.get(month, {}), parser_version):
            needs.append(MonthNeed(month, "done",
                                   reason=f"completed by parser {parser_version}"))
            continue
        dump = _dump_of(month, resolved, listings)
        if isinstance(dump, MonthNeed):
            needs.append(dump)
            continue
        needs.append(_month_need(month, dump, on_disk.get(month, {}), rates, previous_sizes))
    needs.sort(key=lambda m: m.month, reverse=order == "newest")
    return BackfillPlan(needs, rates, workers, order, listing_requests)


def _month_need(month: str, dump: MonthDump, present: Mapping[str, int], rates: Rates,
                previous_sizes: dict[str, tuple[str, int]]) -> MonthNeed:
    sizes: dict[str, int] = {}
    download_bytes = 0
    download_s = parse_s = load_s = 0.0
    notes: list[str] = []
    for kind, f in dump.files.items():
        on_disk = present.get(f.name)
        size = on_disk if on_disk is not None and f.size_matches(on_disk) else f.size
        sizes[kind] = size
        if on_disk is None or not f.size_matches(on_disk):
            download_bytes += size
            download_s += size / MB / rates.of("download", kind)
        parse_s += size / MB / rates.of("parse", kind)
        load_s += size / MB / rates.of("load", kind)
        before = previous_sizes.get(kind)
        if before is not None and size < SUSPICIOUS_SHARE * before[1]:
            notes.append(f"{kind} {_mb(size)} MB vs {_mb(before[1])} MB in {before[0]}: "
                         f"check it (dump_dates override?)")
        previous_sizes[kind] = (month, size)
    if dump.without_checksum:
        kinds = ", ".join(f"{k} (only in {d})" for k, d in dump.without_checksum.items())
        return MonthNeed(month, "blocked", dump="+".join(dump.dates), dump_bytes=sizes,
                         reason=f"{kinds} without CHECKSUM: decide with accept_unverified, "
                         "then run it alone")
    if dump.missing_kinds:
        notes.append(f"not published: {', '.join(dump.missing_kinds)}")
    return MonthNeed(month, "run", dump="+".join(dump.dates), dump_bytes=sizes,
                     download_bytes=download_bytes, download_s=download_s, parse_s=parse_s,
                     load_s=load_s, note="; ".join(notes))
