"""Discogs XML dumps → Parquet tables (the contract in ``discogs_assets.lib.tables``).

``parse_dump`` is the entry point; ``schemas.validate_table`` checks a table against its pandera
schema (a module of its own: pandera is slow to import and parsing does not need it).
"""

from discogs_assets.lib.parsing.chunks import detect_entity
from discogs_assets.lib.parsing.result import BadRecord, DumpParseError, ParseProgress, ParseResult
from discogs_assets.lib.parsing.runner import PARSER_VERSION, parse_dump

__all__ = [
    "PARSER_VERSION",
    "BadRecord",
    "DumpParseError",
    "ParseProgress",
    "ParseResult",
    "detect_entity",
    "parse_dump",
]
