"""Untrusted-XML hygiene (DESIGN §9) and byte-level repairs done before any parser sees a chunk.

Both engines parse chunks that the chunker cut out of the document body, wrapped in a root
element we write ourselves, so a DOCTYPE can only come from the prologue: it is refused there.
The lxml parser additionally never loads a DTD, resolves entities or touches the network.
"""

from __future__ import annotations

import re

from lxml import etree

# C0 control characters XML 1.0 forbids (tab, LF and CR are allowed).
_FORBIDDEN = bytes(c for c in range(32) if c not in (9, 10, 13))
_FORBIDDEN_RAW = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# The same characters written as numeric character references (&#1; &#x1F; ...).
_FORBIDDEN_REF = re.compile(
    rb"&#(?:0*(?:[0-8]|1[124-9]|2[0-9]|3[01])|[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]));"
)
_REPLACEMENT = "\ufffd".encode()
_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY", b"<!doctype")


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, collect_ids=False, remove_comments=True, remove_pis=True,
    )


def find_dtd(prologue: bytes) -> bool:
    """True when the bytes before the first record declare a DTD or entities (refused)."""
    return any(marker in prologue for marker in _DTD_MARKERS)


def clean_xml_bytes(data: bytes) -> tuple[bytes, int]:
    """Replace characters XML forbids with U+FFFD and normalise line ends; return the count.

    Old dumps carry stray control characters that lxml refuses outright. The common case (none
    present) costs one C-speed ``translate`` pass and one regex scan. Line ends are normalised
    here (as any XML parser would) so that both engines see the same text.
    """
    count = len(data) - len(data.translate(None, _FORBIDDEN))
    if count:
        data = _FORBIDDEN_RAW.sub(_REPLACEMENT, data)
    if b"&#" in data and _FORBIDDEN_REF.search(data):
        data, refs = _FORBIDDEN_REF.subn(_REPLACEMENT, data)
        count += refs
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data, count
