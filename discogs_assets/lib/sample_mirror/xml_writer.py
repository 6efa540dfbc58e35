"""Serialize catalogue records in one dump layout (``formats.DumpFormat``), one record per line.

(Multi-line text such as profiles keeps its raw ``\\n``, as in the dumps, so a record *starts*
a line rather than fitting on one.)

Element names and order follow the real dumps (2020 samples and the 2026-02 fixtures). In the
2026 layout labels keep an empty ``<urls/>`` and an empty ``<parentLabel id="212"/>`` as the
2026 labels file does, and everything else that is empty is left out; older layouts write
empty fields as ``<tag/>``. Text is UTF-8, ``\\r`` is written as ``&#13;`` like Discogs does (a
parser would otherwise normalize it away).
"""

from __future__ import annotations

from .formats import FORMATS, DumpFormat
from .model import Artist, Credit, Label, LabelRef, Master, Record, Ref, Release, Track, Video

# Old dumps carry raw control characters (XML forbids them) and double-encoded UTF-8 in free
# text; the parser turns the former into U+FFFD. Every CONTROL_EVERY-th record gets both.
CONTROL_EVERY = 23
CONTROL_TEXT = "Caf\u00c3\u00a9 \x0b\x01 tab\x1b"


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


class XmlWriter:
    """Records -> XML lines in one layout."""

    def __init__(self, fmt: DumpFormat = FORMATS["2026"]) -> None:
        self.fmt = fmt

    # -- building blocks --------------------------------------------------------------------
    def _text(self, text: str) -> str:
        out = esc(text)
        return out.encode("ascii", "xmlcharrefreplace").decode() if self.fmt.char_refs else out

    def _attr(self, text: str) -> str:
        out = esc_attr(text)
        return out.encode("ascii", "xmlcharrefreplace").decode() if self.fmt.char_refs else out

    def _noisy(self, record_id: int, text: str | None) -> str | None:
        """Free text as an old dump may hold it (see CONTROL_TEXT)."""
        if not self.fmt.control_chars or record_id % CONTROL_EVERY:
            return text
        return f"{text or ''} {CONTROL_TEXT}".strip()

    def _empty(self, out: list[str], tag: str) -> None:
        if self.fmt.empty_elements:
            out.append(f"<{tag}/>")

    def _el(self, out: list[str], tag: str, text: str | int | None) -> None:
        """``<tag>text</tag>``; an absent or empty value is omitted (or ``<tag/>`` in old
        layouts)."""
        if text is None or text == "":
            self._empty(out, tag)
            return
        out.append(f"<{tag}>{self._text(str(text))}</{tag}>")

    def _ref(self, ref: Ref, tag: str) -> str:
        """``<tag id="..">name</tag>``; a nameless target (label 212) gives ``<tag id=".."/>``."""
        if ref.name is None:
            return f'<{tag} id="{ref.id}"/>'
        return f'<{tag} id="{ref.id}">{self._text(ref.name)}</{tag}>'

    def _refs(self, out: list[str], tag: str, child: str, refs: tuple[Ref, ...],
              *, with_ids: bool = False) -> None:
        if not refs:
            self._empty(out, tag)
            return
        out.append(f"<{tag}>")
        for ref in refs:
            if with_ids:  # the 2020 <members> layout: <id>N</id><name id="N">..</name>
                out.append(f"<id>{ref.id}</id>")
            out.append(self._ref(ref, child))
        out.append(f"</{tag}>")

    def _texts(self, out: list[str], tag: str, child: str, values: tuple[str, ...]) -> None:
        if not values:
            self._empty(out, tag)
            return
        out.append(f"<{tag}>")
        for value in values:
            out.append(f"<{child}>{self._text(value)}</{child}>")
        out.append(f"</{tag}>")

    def _credits(self, out: list[str], tag: str, credits: tuple[Credit, ...]) -> None:
        if not credits:
            self._empty(out, tag)
            return
        out.append(f"<{tag}>")
        for c in credits:
            out.append("<artist>")
            if c.id is not None:
                out.append(f"<id>{c.id}</id>")
            elif self.fmt.unlinked_id_zero:  # unlinked credits: <id>0</id> before 2026
                out.append("<id>0</id>")
            self._el(out, "name", c.name)
            self._el(out, "anv", c.anv)
            self._el(out, "join", c.join)
            self._el(out, "role", c.role)
            self._el(out, "tracks", c.tracks)
            out.append("</artist>")
        out.append(f"</{tag}>")

    def _images(self, out: list[str], record_id: int) -> None:
        """One primary image on every other record, with the empty ``uri`` of the 2020 dumps."""
        if self.fmt.images and record_id % 2 == 0:
            out.append('<images><image type="primary" uri="" uri150="" width="600" '
                       'height="600"/></images>')

    def _videos(self, out: list[str], videos: tuple[Video, ...]) -> None:
        if not videos:
            self._empty(out, "videos")
            return
        out.append("<videos>")
        for v in videos:
            embed = "true" if v.embed else "false"
            out.append(f'<video src="{self._attr(v.src)}" duration="{v.duration}" '
                       f'embed="{embed}">')
            self._el(out, "title", v.title)
            self._el(out, "description", v.description)
            out.append("</video>")
        out.append("</videos>")

    def _label_refs(self, out: list[str], tag: str, child: str,
                    refs: tuple[LabelRef, ...]) -> None:
        if not refs:
            return
        out.append(f"<{tag}>")
        for r in refs:
            out.append(f'<{child} name="{self._attr(r.name)}" catno="{self._attr(r.catno)}" '
                       f'id="{r.id}"/>')
        out.append(f"</{tag}>")

    def _track(self, out: list[str], t: Track) -> None:
        out.append("<track>")
        self._el(out, "position", t.position)
        self._el(out, "title", t.title)
        self._el(out, "duration", t.duration)
        if t.artists:
            self._credits(out, "artists", t.artists)
        if t.extraartists:
            self._credits(out, "extraartists", t.extraartists)
        if t.sub_tracks and self.fmt.sub_tracks:
            out.append("<sub_tracks>")
            for sub in t.sub_tracks:
                self._track(out, sub)
            out.append("</sub_tracks>")
        out.append("</track>")
        if not self.fmt.sub_tracks:  # before 2014 a heading's parts followed it as tracks
            for sub in t.sub_tracks:
                self._track(out, sub)

    # -- records ------------------------------------------------------------------------------
    def label(self, r: Label) -> str:
        out = ["<label>"]
        self._images(out, r.id)
        out.append(f"<id>{r.id}</id>")
        self._el(out, "name", r.name)
        self._el(out, "contactinfo", r.contactinfo)
        self._el(out, "profile", self._noisy(r.id, r.profile))
        self._el(out, "data_quality", r.data_quality)
        if r.parent is not None:
            out.append(self._ref(r.parent, "parentLabel"))
        if r.urls:
            self._texts(out, "urls", "url", r.urls)
        else:
            out.append("<urls/>")  # the 2026 labels file keeps an empty <urls/>
        self._refs(out, "sublabels", "label", r.sublabels)
        out.append("</label>")
        return "".join(out)

    def artist(self, r: Artist) -> str:
        out = ["<artist>"]
        self._images(out, r.id)
        out.append(f"<id>{r.id}</id>")
        self._el(out, "name", r.name)
        self._el(out, "realname", r.realname)
        self._el(out, "profile", self._noisy(r.id, r.profile))
        self._el(out, "data_quality", r.data_quality)
        self._texts(out, "urls", "url", r.urls)
        self._texts(out, "namevariations", "name", r.namevariations)
        self._refs(out, "aliases", "name", r.aliases)
        self._refs(out, "members", "name", r.members, with_ids=self.fmt.member_ids)
        self._refs(out, "groups", "name", r.groups)
        out.append("</artist>")
        return "".join(out)

    def master(self, r: Master) -> str:
        out = [f'<master id="{r.id}"><main_release>{r.main_release}</main_release>']
        self._images(out, r.id)
        self._credits(out, "artists", r.artists)
        self._texts(out, "genres", "genre", r.genres)
        self._texts(out, "styles", "style", r.styles)
        self._el(out, "notes", self._noisy(r.id, r.notes))
        self._el(out, "year", r.year)
        self._el(out, "title", r.title)
        self._el(out, "data_quality", r.data_quality)
        self._videos(out, r.videos)
        out.append("</master>")
        return "".join(out)

    def _master_id(self, out: list[str], r: Release) -> None:
        mode = self.fmt.master_id
        if mode == "none" or (mode == "linked" and not r.master_id):
            return
        main = "true" if r.is_main_release else "false"
        attr = f' is_main_release="{main}"' if self.fmt.is_main_release else ""
        out.append(f"<master_id{attr}>{r.master_id}</master_id>")

    def release(self, r: Release) -> str:
        status = ' status="Accepted"' if self.fmt.release_status else ""
        out = [f'<release id="{r.id}"{status}>']
        self._images(out, r.id)
        self._credits(out, "artists", r.artists)
        self._el(out, "title", r.title)
        self._label_refs(out, "labels", "label", r.labels)
        # series entries are <series name catno id/> (seen in a public importer's 2026 fixture)
        self._label_refs(out, "series", "series", r.series)
        self._credits(out, "extraartists", r.extraartists)
        if r.formats:
            out.append("<formats>")
            for f in r.formats:
                # name/qty/text are always written, text="" included, as in the 2026 file
                out.append(f'<format name="{self._attr(f.name)}" qty="{self._attr(f.qty)}" '
                           f'text="{self._attr(f.text)}"')
                if f.descriptions:
                    out.append(">")
                    self._texts(out, "descriptions", "description", f.descriptions)
                    out.append("</format>")
                else:
                    out.append("/>")
            out.append("</formats>")
        self._texts(out, "genres", "genre", r.genres)
        self._texts(out, "styles", "style", r.styles)
        self._el(out, "country", r.country)
        self._el(out, "released", r.released)
        self._el(out, "notes", self._noisy(r.id, r.notes))
        self._el(out, "data_quality", r.data_quality)
        self._master_id(out, r)
        if r.tracklist:
            out.append("<tracklist>")
            for t in r.tracklist:
                self._track(out, t)
            out.append("</tracklist>")
        if r.identifiers:
            out.append("<identifiers>")
            for i in r.identifiers:
                desc = ("" if i.description is None
                        else f' description="{self._attr(i.description)}"')
                out.append(f'<identifier type="{self._attr(i.type)}"{desc} '
                           f'value="{self._attr(i.value)}"/>')
            out.append("</identifiers>")
        else:
            self._empty(out, "identifiers")
        self._videos(out, r.videos)
        if r.companies:
            out.append("<companies>")
            for c in r.companies:
                out.append(f"<company><id>{c.id}</id>")
                self._el(out, "name", c.name)
                self._el(out, "catno", c.catno)
                self._el(out, "entity_type", c.entity_type)
                self._el(out, "entity_type_name", c.entity_type_name)
                self._el(out, "resource_url", c.resource_url)
                out.append("</company>")
            out.append("</companies>")
        else:
            self._empty(out, "companies")
        out.append("</release>")
        return "".join(out)

    def record(self, record: Record) -> str:
        """One record's XML, without a trailing newline."""
        if isinstance(record, Release):
            return self.release(record)
        if isinstance(record, Artist):
            return self.artist(record)
        if isinstance(record, Master):
            return self.master(record)
        return self.label(record)


def record_xml(record: Record) -> str:
    """One record in the 2026 layout."""
    return XmlWriter().record(record)
