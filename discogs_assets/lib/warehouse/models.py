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
    {{ text_lookup_index(col) }}    USING hash (col) / (col) — an equality index for unbounded
                                    text (a btree entry is limited to ~2.7 kB in PostgreSQL);
                                    plain ``col = :v`` lookups use it on both dialects
    {{ seconds_between(a, b) }}     seconds from timestamp a to b, as a number
    {{ only_if(option) }}           at the start of a statement: run it only when ``option``
                                    (one of MODEL_OPTIONS) is given to the runner, else skip it

Unknown placeholders are an error naming the file and line.

A change to an existing table that rerunnable SQL cannot express (SQLite cannot relax a NOT
NULL column; some data must be rewritten once) is a one-time migration in
:mod:`~discogs_assets.lib.warehouse.migrations`, run right after its model.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import sqlalchemy as sa

from discogs_assets.lib.errors import NonRetryableError
from discogs_assets.lib.warehouse.engine import execute_literal, is_postgres
from discogs_assets.lib.warehouse.lock import DDL_LOCK_KEY, pg_xact_lock
from discogs_assets.lib.warehouse.migrations import MIGRATIONS

# The models ship as the package ``dbt_like_sql`` (top level in the repo, inside the wheel).
DEFAULT_MODELS_DIR = Path(str(resources.files("dbt_like_sql")))
_DEPENDS_RE = re.compile(r"^--\s*depends_on:\s*(.*)$")
_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
_PLACEHOLDER_RE = re.compile(r"\{\{\s*([a-z_]+)\s*(?:\((.*?)\))?\s*\}\}")


MODEL_OPTIONS: dict[str, str] = {
    "track_title_index": "an equality index on release_track.title (exact track-title lookups; "
                         "no reader of the warehouse needs it, and it is the dearest index of a "
                         "first load)",
}
"""Opt-in parts of the schema (``{{ only_if(option) }}``), with what each adds."""
_ONLY_IF_RE = re.compile("^\x00only_if:([a-z_]+)\x00")  # only_if rendered (SQL holds no NUL)


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
# name -> (argument check, PostgreSQL rendering, SQLite rendering)
_MACROS: dict[str, tuple[Callable[[list[str]], None], Callable[..., str], Callable[..., str]]] = {
    "json": (_NO_ARGS, lambda: "JSONB", lambda: "TEXT"),
    "timestamp": (_NO_ARGS, lambda: "TIMESTAMPTZ", lambda: "TEXT"),
    "bigint": (_NO_ARGS, lambda: "BIGINT", lambda: "INTEGER"),
    "now": (_NO_ARGS, lambda: "now()", lambda: "strftime('%Y-%m-%dT%H:%M:%fZ','now')"),
    "true": (_NO_ARGS, lambda: "TRUE", lambda: "1"),
    "false": (_NO_ARGS, lambda: "FALSE", lambda: "0"),
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
    """The model's SQL with placeholders rendered for ``dialect`` (postgresql or sqlite);
    ``only_if`` becomes a marker that :func:`model_statements` resolves."""
    text = model.path.read_text()
    pg = dialect == "postgresql"
    out: list[str] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        def sub(m: re.Match[str], lineno: int = lineno) -> str:
            name, raw_args = m.group(1), m.group(2)
            args = _split_args(raw_args) if raw_args is not None else []
            if name == "only_if":
                if len(args) != 1 or args[0] not in MODEL_OPTIONS:
                    raise ModelError(f"{model.path}: line {lineno}: only_if takes one of "
                                     f"{', '.join(MODEL_OPTIONS)}: {m.group(0)}")
                return f"\x00only_if:{args[0]}\x00"
            if name not in _MACROS:
                raise ModelError(f"{model.path}: line {lineno}: unknown placeholder {m.group(0)}")
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


def model_statements(model: SqlModel, dialect: str, options: Collection[str] = ()
                     ) -> list[str]:
    """The model's statements to run: those marked ``only_if`` an option not in ``options``
    are left out."""
    kept: list[str] = []
    for statement in split_statements(render(model, dialect)):
        marked = _ONLY_IF_RE.match(statement)
        if "\x00" in statement[marked.end() if marked else 0:]:
            raise ModelError(f"{model.path}: only_if must start a statement: "
                             f"{statement.replace(chr(0), '')!r}")
        if marked is None:
            kept.append(statement)
        elif marked.group(1) in options:
            kept.append(statement[marked.end():].strip())
    return kept


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
    options: Collection[str] = (),
) -> list[ModelRun]:
    """Apply the models (all, or ``names``) in dependency order, one transaction each, with
    their one-time migrations (:mod:`.migrations`) and the opt-in parts named in ``options``
    (see MODEL_OPTIONS; a part once built is left in place when its option is off again).

    Concurrent runners on PostgreSQL serialize on an advisory lock (two concurrent
    ``CREATE TABLE IF NOT EXISTS`` can otherwise collide in the catalog).
    """
    unknown = set(options) - set(MODEL_OPTIONS)
    if unknown:
        raise ModelError(f"unknown model options: {', '.join(sorted(unknown))}")
    runs: list[ModelRun] = []
    dialect = engine.dialect.name
    for model in _select(list_models(models_dir), names):
        statements = model_statements(model, dialect, options)
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
            for migrate in MIGRATIONS.get(model.name, ()):
                migrate(conn, model.name)
        runs.append(ModelRun(model.name, len(statements), time.perf_counter() - started))
    return runs
