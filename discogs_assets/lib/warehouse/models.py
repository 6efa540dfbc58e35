"""The SQL model runner: plain SQL files in ``dbt_like_sql/``, run in dependency order.

One model per file; the model name is the file stem. An optional first header line declares
dependencies::

    -- depends_on: label, artist
    CREATE TABLE IF NOT EXISTS ...;
    CREATE INDEX IF NOT EXISTS ...;

Statements are separated by ``;`` (quotes and ``--`` comments are respected). Every model must
be safe to rerun (``IF NOT EXISTS``; views as ``DROP VIEW IF EXISTS`` + ``CREATE VIEW``).

Placeholders, rendered per dialect (PostgreSQL / SQLite):

    {{ json }}                      JSONB / TEXT (JSON text)
    {{ timestamp }}                 TIMESTAMPTZ / TEXT (ISO-8601, UTC)
    {{ bigint }}                    BIGINT / INTEGER
    {{ now }}                       now() / strftime('%Y-%m-%dT%H:%M:%fZ','now')
    {{ true }} {{ false }}          TRUE FALSE / 1 0
    {{ update_heavy }}              WITH (fillfactor = 50) / nothing — room on each page for a
                                    new version of every row, so the monthly last_seen_month
                                    update stays HOT (no index writes; at 80 most rows moved)
    {{ set_update_heavy(table) }}   ALTER TABLE table SET (fillfactor = 50) / nothing — the same
                                    for a table created before (applies to pages written later)
    {{ text_lookup_index(col) }}    USING hash (col) / (col) — an equality index for unbounded
                                    text (a btree entry is limited to ~2.7 kB in PostgreSQL);
                                    plain ``col = :v`` lookups use it on both dialects
    {{ seconds_between(a, b) }}     seconds from timestamp a to b, as a number

Unknown placeholders are an error naming the file and line.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import sqlalchemy as sa

from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.warehouse.engine import execute_literal, is_postgres
from discogs_assets.lib.warehouse.lock import DDL_LOCK_KEY, pg_xact_lock

# The models ship as the package ``dbt_like_sql`` (top level in the repo, inside the wheel).
DEFAULT_MODELS_DIR = Path(str(resources.files("dbt_like_sql")))
_DEPENDS_RE = re.compile(r"^--\s*depends_on:\s*(.*)$")
_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
_PLACEHOLDER_RE = re.compile(r"\{\{\s*([a-z_]+)\s*(?:\((.*?)\))?\s*\}\}")


class ModelError(NonRetryableError):
    """A model file is malformed (bad header, unknown dependency, cycle, unknown placeholder)."""


@dataclass(frozen=True)
class SqlModel:
    name: str
    depends_on: tuple[str, ...]
    path: Path


@dataclass(frozen=True)
class ModelRun:
    name: str
    statements: int
    seconds: float


def _args(*names: str) -> Callable[[list[str]], None]:
    def check(args: list[str]) -> None:
        if len(args) != len(names):
            raise ValueError(f"expects ({', '.join(names)})")
    return check


_NO_ARGS = _args()
_UPDATE_HEAVY_FILL = 50
# name -> (argument check, PostgreSQL rendering, SQLite rendering)
_MACROS: dict[str, tuple[Callable[[list[str]], None], Callable[..., str], Callable[..., str]]] = {
    "json": (_NO_ARGS, lambda: "JSONB", lambda: "TEXT"),
    "timestamp": (_NO_ARGS, lambda: "TIMESTAMPTZ", lambda: "TEXT"),
    "bigint": (_NO_ARGS, lambda: "BIGINT", lambda: "INTEGER"),
    "now": (_NO_ARGS, lambda: "now()", lambda: "strftime('%Y-%m-%dT%H:%M:%fZ','now')"),
    "true": (_NO_ARGS, lambda: "TRUE", lambda: "1"),
    "false": (_NO_ARGS, lambda: "FALSE", lambda: "0"),
    "update_heavy": (_NO_ARGS, lambda: f"WITH (fillfactor = {_UPDATE_HEAVY_FILL})", lambda: ""),
    "set_update_heavy": (_args("table"),
                         lambda t: f"ALTER TABLE {t} SET (fillfactor = {_UPDATE_HEAVY_FILL})",
                         lambda t: ""),
    "text_lookup_index": (_args("col"), lambda c: f"USING hash ({c})", lambda c: f"({c})"),
    "seconds_between": (
        _args("a", "b"),
        lambda a, b: f"EXTRACT(EPOCH FROM ({b} - {a}))",
        lambda a, b: f"((julianday({b}) - julianday({a})) * 86400.0)",
    ),
}


def _parse_header(path: Path, text: str) -> tuple[str, ...]:
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    match = _DEPENDS_RE.match(first.strip())
    if not match:
        return ()
    deps = tuple(d.strip() for d in match.group(1).split(",") if d.strip())
    for dep in deps:
        if not _NAME_RE.match(dep):
            raise ModelError(f"{path}: line 1: bad model name {dep!r} in depends_on")
    return deps


def list_models(models_dir: Path = DEFAULT_MODELS_DIR) -> list[SqlModel]:
    """Every ``*.sql`` model in ``models_dir``, dependencies first (ties broken by name)."""
    found: dict[str, SqlModel] = {}
    for path in sorted(models_dir.glob("*.sql")):
        if not _NAME_RE.match(path.stem):
            raise ModelError(f"{path}: model file names must be lower_snake_case")
        found[path.stem] = SqlModel(path.stem, _parse_header(path, path.read_text()), path)
    for model in found.values():
        for dep in model.depends_on:
            if dep not in found:
                raise ModelError(f"{model.path}: depends_on names unknown model {dep!r}")
    ordered: list[SqlModel] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(model: SqlModel, chain: tuple[str, ...]) -> None:
        if state.get(model.name) == 2:
            return
        if state.get(model.name) == 1:
            raise ModelError(f"{model.path}: dependency cycle {' -> '.join((*chain, model.name))}")
        state[model.name] = 1
        for dep in sorted(model.depends_on):
            visit(found[dep], (*chain, model.name))
        state[model.name] = 2
        ordered.append(model)

    for model in found.values():
        visit(model, ())
    return ordered


def _split_args(raw: str) -> list[str]:
    """Split macro arguments on commas outside parentheses (arguments may be SQL calls)."""
    args: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(raw):
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            args.append(raw[start:i].strip())
            start = i + 1
    args.append(raw[start:].strip())
    return args


def render(model: SqlModel, dialect: str) -> str:
    """The model's SQL with placeholders rendered for ``dialect`` (postgresql or sqlite)."""
    text = model.path.read_text()
    pg = dialect == "postgresql"
    out: list[str] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        def sub(m: re.Match[str], lineno: int = lineno) -> str:
            name, raw_args = m.group(1), m.group(2)
            if name not in _MACROS:
                raise ModelError(f"{model.path}: line {lineno}: unknown placeholder {m.group(0)}")
            args = _split_args(raw_args) if raw_args is not None else []
            check, pg_render, lite_render = _MACROS[name]
            try:
                check(args)
            except ValueError as exc:
                raise ModelError(f"{model.path}: line {lineno}: {name} {exc}") from None
            return (pg_render if pg else lite_render)(*args)

        out.append(_PLACEHOLDER_RE.sub(sub, line))
    return "\n".join(out)


def split_statements(sql: str) -> list[str]:
    """Split on ``;`` outside quotes and ``--`` comments; drop empty statements."""
    statements: list[str] = []
    buf: list[str] = []
    i, n = 0, len(sql)
    quote: str | None = None
    while i < n:
        ch = sql[i]
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            buf.append(ch)
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
            continue
        elif ch == ";":
            statements.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    statements.append("".join(buf))
    return [s.strip() for s in statements if s.strip()]


def model_statements(model: SqlModel, dialect: str) -> list[str]:
    return split_statements(render(model, dialect))


def _select(models: Sequence[SqlModel], names: Iterable[str] | None) -> list[SqlModel]:
    if names is None:
        return list(models)
    wanted = set(names)
    unknown = wanted - {m.name for m in models}
    if unknown:
        raise ModelError(f"unknown models: {', '.join(sorted(unknown))}")
    return [m for m in models if m.name in wanted]


def run_models(
    engine: sa.Engine,
    names: Iterable[str] | None = None,
    models_dir: Path = DEFAULT_MODELS_DIR,
) -> list[ModelRun]:
    """Apply the models (all, or ``names``) in dependency order, one transaction each.

    Concurrent runners on PostgreSQL serialize on an advisory lock (two concurrent
    ``CREATE TABLE IF NOT EXISTS`` can otherwise collide in the catalog).
    """
    runs: list[ModelRun] = []
    dialect = engine.dialect.name
    for model in _select(list_models(models_dir), names):
        statements = model_statements(model, dialect)
        started = time.perf_counter()
        with engine.begin() as conn:
            if is_postgres(conn):
                pg_xact_lock(conn, DDL_LOCK_KEY)
            for statement in statements:
                try:
                    execute_literal(conn, statement)
                except conn.dialect.loaded_dbapi.Error as exc:
                    raise ModelError(
                        f"{model.path}: statement failed: {statement[:200]!r}: {exc}"
                    ) from exc
        runs.append(ModelRun(model.name, len(statements), time.perf_counter() - started))
    return runs
