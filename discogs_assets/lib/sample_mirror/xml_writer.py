"""Serialize catalogue records in the 2026 dump format: one record per line, empties omitted.

(Multi-line text such as profiles keeps its raw ``\\n``, as in the dumps, so a record *starts*
a line rather than fitting on one.)

Element names and order follow the real dumps (2020 samples and the 2026-02 fixtures):
labels keep an empty ``<urls/>`` and an empty ``<parentLabel id="212"/>`` as the 2026 labels
file does; everything else that is empty is left out. Text is UTF-8, ``\\r`` is written as
``&#13;`` like Discogs does (a parser would otherwise normalize it away).
"""

from __future__ import annotations

from .model import Artist, Credit, Label, LabelRef, Master, Record, Ref, Release, Track, Video


def esc(text: str) -> str:
    """Escape character data."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace("\r", "&#13;")
    )


def esc_attr(text: str) -> str:
    """Escape an attribute value (quotes and line breaks too: parsers normalize raw ones)."""
    return (
        esc(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")
    )


def _el(out: list[str], tag: str, text: str | int | None) -> None:
    """Append ``<tag>text</tag>`` unless the value is absent or empty."""
    if text is None or text == "":
        return
    out.append(f"<{tag}>{esc(str(text))}</{tag}>")


def _ref(ref: Ref, tag: str) -> str:
    """``<tag id="..">name</tag>``; a nameless target (label 212) gives ``<tag id=".."/>``."""
    if ref.name is None:
        return f'<{tag} id="{ref.id}"/>'
    return f'<{tag} id="{ref.id}">{esc(ref.name)}</{tag}>'


def _refs(out: list[str], tag: str, child: str, refs: tuple[Ref, ...]) -> None:
    if not refs:
        return
    out.append(f"<{tag}>")
    out.extend(_ref(ref, child) for ref in refs)
    out.append(f"</{tag}>")


def _texts(out: list[str], tag: str, child: str, values: tuple[str, ...]) -> None:
    if not values:
        return
    out.append(f"<{tag}>")
    for value in values:
        out.append(f"<{child}>{esc(value)}</{child}>")
    out.append(f"</{tag}>")


def _credits(out: list[str], tag: str, credits: tuple[Credit, ...]) -> None:
    if not credits:
        return
    out.append(f"<{tag}>")
    for c in credits:
        out.append("<artist>")
        if c.id is not None:  # unlinked credits carry no <id> in 2026
            out.append(f"<id>{c.id}</id>")
        _el(out, "name", c.name)
        _el(out, "anv", c.anv)
        _el(out, "join", c.join)
        _el(out, "role", c.role)
        _el(out, "tracks", c.tracks)
        out.append("</artist>")
    out.append(f"</{tag}>")


def _videos(out: list[str], videos: tuple[Video, ...]) -> None:
    if not videos:
        return
    out.append("<videos>")
    for v in videos:
        embed = "true" if v.embed else "false"
        out.append(f'<video src="{esc_attr(v.src)}" duration="{v.duration}" embed="{embed}">')
        _el(out, "title", v.title)
        _el(out, "description", v.description)
        out.append("</video>")
    out.append("</videos>")


def _label_refs(out: list[str], tag: str, child: str, refs: tuple[LabelRef, ...]) -> None:
    if not refs:
        return
    out.append(f"<{tag}>")
    for r in refs:
        out.append(f'<{child} name="{esc_attr(r.name)}" catno="{esc_attr(r.catno)}" id="{r.id}"/>')
    out.append(f"</{tag}>")


def _track(out: list[str], t: Track) -> None:
    out.append("<track>")
    _el(out, "position", t.position)
    _el(out, "title", t.title)
    _el(out, "duration", t.duration)
    _credits(out, "artists", t.artists)
    _credits(out, "extraartists", t.extraartists)
    if t.sub_tracks:
        out.append("<sub_tracks>")
        for sub in t.sub_tracks:
            _track(out, sub)
        out.append("</sub_tracks>")
    out.append("</track>")


def label_xml(r: Label) -> str:
    out = [f"<label><id>{r.id}</id>"]
    _el(out, "name", r.name)
    _el(out, "contactinfo", r.contactinfo)
    _el(out, "profile", r.profile)
    _el(out, "data_quality", r.data_quality)
    if r.parent is not None:
        out.append(_ref(r.parent, "parentLabel"))
    _texts(out, "urls", "url", r.urls)
    if not r.urls:
        out.append("<urls/>")  # the 2026 labels file keeps an empty <urls/>
    _refs(out, "sublabels", "label", r.sublabels)
    out.append("</label>")
    return "".join(out)


def artist_xml(r: Artist) -> str:
    out = [f"<artist><id>{r.id}</id>"]
    _el(out, "name", r.name)
    _el(out, "realname", r.realname)
    _el(out, "profile", r.profile)
    _el(out, "data_quality", r.data_quality)
    _texts(out, "urls", "url", r.urls)
    _texts(out, "namevariations", "name", r.namevariations)
    _refs(out, "aliases", "name", r.aliases)
    _refs(out, "members", "name", r.members)
    _refs(out, "groups", "name", r.groups)
    out.append("</artist>")
    return "".join(out)


def master_xml(r: Master) -> str:
    out = [f'<master id="{r.id}"><main_release>{r.main_release}</main_release>']
    _credits(out, "artists", r.artists)
    _texts(out, "genres", "genre", r.genres)
    _texts(out, "styles", "style", r.styles)
    _el(out, "notes", r.notes)
    _el(out, "year", r.year)
    _el(out, "title", r.title)
    _el(out, "data_quality", r.data_quality)
    _videos(out, r.videos)
    out.append("</master>")
    return "".join(out)


def release_xml(r: Release) -> str:
    out = [f'<release id="{r.id}">']
    _credits(out, "artists", r.artists)
    _el(out, "title", r.title)
    _label_refs(out, "labels", "label", r.labels)
    # series entries are <series name catno id/> (seen in a public importer's 2026 fixture)
    _label_refs(out, "series", "series", r.series)
    _credits(out, "extraartists", r.extraartists)
    if r.formats:
        out.append("<formats>")
        for f in r.formats:
            # name/qty/text are always written, text="" included, as in the 2026 file
            out.append(
                f'<format name="{esc_attr(f.name)}" qty="{esc_attr(f.qty)}" '
                f'text="{esc_attr(f.text)}"'
            )
            if f.descriptions:
                out.append(">")
                _texts(out, "descriptions", "description", f.descriptions)
                out.append("</format>")
            else:
                out.append("/>")
        out.append("</formats>")
    _texts(out, "genres", "genre", r.genres)
    _texts(out, "styles", "style", r.styles)
    _el(out, "country", r.country)
    _el(out, "released", r.released)
    _el(out, "notes", r.notes)
    _el(out, "data_quality", r.data_quality)
    main = "true" if r.is_main_release else "false"
    out.append(f'<master_id is_main_release="{main}">{r.master_id}</master_id>')
    if r.tracklist:
        out.append("<tracklist>")
        for t in r.tracklist:
            _track(out, t)
        out.append("</tracklist>")
    if r.identifiers:
        out.append("<identifiers>")
        for i in r.identifiers:
            desc = "" if i.description is None else f' description="{esc_attr(i.description)}"'
            out.append(f'<identifier type="{esc_attr(i.type)}"{desc} value="{esc_attr(i.value)}"/>')
        out.append("</identifiers>")
    _videos(out, r.videos)
    if r.companies:
        out.append("<companies>")
        for c in r.companies:
            out.append(f"<company><id>{c.id}</id>")
            _el(out, "name", c.name)
            _el(out, "catno", c.catno)
            _el(out, "entity_type", c.entity_type)
            _el(out, "entity_type_name", c.entity_type_name)
            _el(out, "resource_url", c.resource_url)
            out.append("</company>")
        out.append("</companies>")
    out.append("</release>")
    return "".join(out)


def record_xml(record: Record) -> str:
    """One record's XML, without a trailing newline."""
    if isinstance(record, Release):
        return release_xml(record)
    if isinstance(record, Artist):
        return artist_xml(record)
    if isinstance(record, Master):
        return master_xml(record)
    return label_xml(record)
