"""docs/reference.md, generated from the installed extension so that it cannot go stale.

Sources:
  - the catalog of a database where the extension is installed: every public (not
    ``_``-prefixed) function, view and table that belongs to the extension, with its
    signature, COMMENT, columns (and their COMMENTs) and the roles granted it;
  - docs/errors.toml: the errors (SQLSTATE, condition, when, example, hint), checked against
    the server (condition names) and against sql/ (tests/test_reference.py);
  - docs/reference.md.j2: the hand-written prose around them, and the layout.

``render`` is a pure function of those: it sorts in Python (no collation) and uses only
catalog functions whose output is the same on every supported major, so PostgreSQL 15 and
18 render the same bytes. ``gamification reference`` writes the file (``--check`` compares);
tests/test_reference.py renders it from the test databases and fails when it differs.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import psycopg

from .project import Project, ProjectError

TEMPLATE = "reference.md.j2"
ERRORS = "errors.toml"
OUTPUT = "reference.md"
COMMAND = "gamification build && gamification reference"

# Not a role anyone is granted (it owns and runs generated code): left out of "callable by".
HIDDEN_ROLES = frozenset({"gamification_runner"})

_MEMBER = """
    EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
             WHERE d.classid = '{catalog}'::regclass AND d.objid = {oid} AND d.deptype = 'e'
               AND d.refclassid = 'pg_catalog.pg_extension'::regclass
               AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'gamification'))"""

FUNCTIONS_QUERY = f"""
SELECT p.proname::text, p.prokind::text,
       pg_catalog.pg_get_function_arguments(p.oid), pg_catalog.pg_get_function_identity_arguments(p.oid),
       pg_catalog.pg_get_function_result(p.oid), p.prosecdef,
       pg_catalog.obj_description(p.oid, 'pg_proc'),
       ARRAY(SELECT coalesce(r.rolname::text, 'PUBLIC')
               FROM pg_catalog.aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
               LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
              WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner)
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'gamification'::regnamespace AND p.proname !~ '^_'
   AND {_MEMBER.format(catalog='pg_catalog.pg_proc', oid='p.oid')}"""

RELATIONS_QUERY = f"""
SELECT c.relname::text, c.relkind::text, pg_catalog.obj_description(c.oid, 'pg_class'),
       ARRAY(SELECT coalesce(r.rolname::text, 'PUBLIC')
               FROM pg_catalog.aclexplode(coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner))) a
               LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
              WHERE a.privilege_type = 'SELECT' AND a.grantee <> c.relowner),
       ARRAY(SELECT pg_catalog.json_build_array(a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
                                                pg_catalog.col_description(c.oid, a.attnum))::text
               FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum)
  FROM pg_catalog.pg_class c
 WHERE c.relnamespace = 'gamification'::regnamespace AND c.relname !~ '^_'
   AND c.relkind IN ('r', 'p', 'v', 'm')
   AND {_MEMBER.format(catalog='pg_catalog.pg_class', oid='c.oid')}"""


@dataclass(frozen=True)
class Function:
    name: str
    kind: str              # "function" or "procedure"
    arguments: str         # with DEFAULTs, as pg_get_function_arguments() gives them
    identity: str          # argument types only, for overloads
    result: str
    security_definer: bool
    comment: str | None
    callers: tuple[str, ...]

    @property
    def signature(self) -> str:
        if self.kind == "procedure":
            return f"{self.name}({self.arguments})"
        return f"{self.name}({self.arguments}) RETURNS {self.result}"


@dataclass(frozen=True)
class FunctionGroup:
    """A function name and its overloads (concrete argument types first)."""

    name: str
    overloads: tuple[Function, ...]

    @property
    def callers(self) -> tuple[str, ...]:
        """Roles that may call every overload."""
        return tuple(sorted(set.intersection(*(set(f.callers) for f in self.overloads))))

    @property
    def descriptions(self) -> list[tuple[str | None, str]]:
        """The first overload's COMMENT, unlabelled, then each other overload's, labelled
        with its arguments (the anyelement overloads say how they convert the key)."""
        first = self.overloads[0]
        described = [(None, first.comment or "(no COMMENT)")]
        described += [(f"{f.name}({f.identity})", f.comment or "(no COMMENT)") for f in self.overloads[1:]]
        return described

    @property
    def access(self) -> list[tuple[str | None, bool, tuple[str, ...]]]:
        """(label, security definer, callers): one unlabelled entry when every overload agrees."""
        kinds = {(f.security_definer, f.callers) for f in self.overloads}
        if len(kinds) == 1:
            (definer, callers), = kinds
            return [(None, definer, callers)]
        return [(f"{f.name}({f.identity})", f.security_definer, f.callers) for f in self.overloads]


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    comment: str | None


@dataclass(frozen=True)
class Relation:
    name: str
    kind: str              # "view" or "table"
    comment: str | None
    readers: tuple[str, ...]
    columns: tuple[Column, ...]


# Tables that are a public contract like the views (documented column by column).
PUBLIC_TABLES = frozenset({"event"})


@dataclass(frozen=True)
class Catalog:
    functions: tuple[Function, ...]
    relations: tuple[Relation, ...]

    @property
    def public_names(self) -> set[str]:
        """Every public function and view, and the event log: what docs/reference.md must document."""
        return ({f.name for f in self.functions}
                | {r.name for r in self.relations if r.kind == "view" or r.name in PUBLIC_TABLES})


def _roles(names: list[str]) -> tuple[str, ...]:
    return tuple(sorted(set(names) - HIDDEN_ROLES))


def catalog_from_rows(function_rows: list[tuple], relation_rows: list[tuple]) -> Catalog:
    """The catalog, sorted, from the rows of FUNCTIONS_QUERY and RELATIONS_QUERY."""
    functions = [
        Function(name, "procedure" if kind == "p" else "function", arguments, identity, result or "",
                 bool(definer), comment, _roles(callers))
        for name, kind, arguments, identity, result, definer, comment, callers in function_rows
    ]
    # Overloads: concrete argument types before polymorphic ones (the text overload, which
    # carries the description, before the anyelement one that converts to it).
    functions.sort(key=lambda f: (f.name, "any" in f.identity, f.identity))
    relations = [
        Relation(name, "view" if kind in ("v", "m") else "table", comment, _roles(readers),
                 tuple(Column(*json.loads(column)) for column in columns))
        for name, kind, comment, readers, columns in relation_rows
    ]
    relations.sort(key=lambda r: (r.kind, r.name))
    return Catalog(tuple(functions), tuple(relations))


def read_catalog(conn: psycopg.Connection) -> Catalog:
    if conn.execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'gamification'").fetchone() is None:
        raise ProjectError("the database has no gamification extension: CREATE EXTENSION gamification first")
    return catalog_from_rows(conn.execute(FUNCTIONS_QUERY).fetchall(), conn.execute(RELATIONS_QUERY).fetchall())


# ---------------------------------------------------------------------------------------
# Errors (docs/errors.toml)
# ---------------------------------------------------------------------------------------

ERROR_KEYS = ("sqlstate", "condition", "when", "example", "hint", "source")
SOURCES = ("gamification", "postgresql")


@dataclass(frozen=True)
class ErrorDoc:
    sqlstate: str
    condition: str
    when: str
    example: str
    hint: str
    source: str


@dataclass(frozen=True)
class Errors:
    documented: tuple[ErrorDoc, ...]
    internal: tuple[str, ...]


def load_errors(path: Path) -> Errors:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProjectError(f"{path}: {exc}") from exc
    documented = []
    for number, entry in enumerate(data.get("error", []), 1):
        if sorted(entry) != sorted(ERROR_KEYS):
            raise ProjectError(f"{path}: error #{number} must have exactly the keys {', '.join(ERROR_KEYS)}, "
                               f"has {', '.join(sorted(entry))}")
        if not re.fullmatch(r"[0-9A-Z]{5}", entry["sqlstate"]) or not re.fullmatch(r"[a-z_]+", entry["condition"]):
            raise ProjectError(f"{path}: error #{number}: bad sqlstate or condition: "
                               f"{entry['sqlstate']!r} {entry['condition']!r}")
        if entry["source"] not in SOURCES:
            raise ProjectError(f"{path}: error #{number}: source must be one of {', '.join(SOURCES)}")
        documented.append(ErrorDoc(**entry))
    return Errors(tuple(documented), tuple(data.get("internal", [])))


def check_conditions(conn: psycopg.Connection, errors: Errors) -> list[str]:
    """Problems: conditions that are not the name PostgreSQL gives their SQLSTATE."""
    problems = []
    for sqlstate, condition in sorted({(e.sqlstate, e.condition) for e in errors.documented}):
        # Both were matched against [0-9A-Z]{5} and [a-z_]+ by load_errors.
        block = (f"DO $check$ BEGIN RAISE SQLSTATE '{sqlstate}'; "
                 f"EXCEPTION WHEN {condition} THEN NULL; END $check$")
        try:
            with conn.transaction():
                conn.execute(block)
        except psycopg.Error as exc:
            problems.append(f"{ERRORS}: condition {condition} is not SQLSTATE {sqlstate} "
                            f"({exc.diag.message_primary})")
    return problems


# ---------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------

def _cell(text: str | None) -> str:
    """Text for one cell of a Markdown table."""
    return " ".join((text or "").split()).replace("|", "\\|")


def _prose(text: str | None) -> str:
    """Plain text (a COMMENT) as Markdown: no HTML tags (badge:<code>) and no emphasis."""
    return (text or "").replace("<", "&lt;").replace("*", "\\*")


def _code(text: str) -> str:
    """Inline code, whatever backticks the text holds."""
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _environment(template_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["cell"] = _cell
    env.filters["code"] = _code
    env.filters["prose"] = _prose
    return env


def _tidy(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy).rstrip("\n") + "\n"


def render(catalog: Catalog, errors: Errors, template_dir: Path, template: str = TEMPLATE) -> str:
    """docs/reference.md: a pure function of the catalog, the errors and the template."""
    groups: dict[str, list[Function]] = {}
    for function in catalog.functions:
        groups.setdefault(function.name, []).append(function)
    context: dict[str, Any] = {
        "functions": [FunctionGroup(name, tuple(overloads)) for name, overloads in groups.items()],
        "views": [r for r in catalog.relations if r.kind == "view"],
        "tables": [r for r in catalog.relations if r.kind == "table"],
        "errors": errors.documented,
        "public_tables": PUBLIC_TABLES,
        "command": COMMAND,
    }
    return _tidy(_environment(template_dir).get_template(template).render(**context))


def render_from(conn: psycopg.Connection, project: Project) -> str:
    """docs/reference.md from a database where the extension is installed."""
    docs = project.root / "docs"
    errors = load_errors(docs / ERRORS)
    problems = check_conditions(conn, errors)
    if problems:
        raise ProjectError("\n".join(problems))
    return render(read_catalog(conn), errors, docs)


def documented_names(text: str) -> set[str]:
    """The functions and views docs/reference.md has a heading for (### `name`)."""
    return set(re.findall(r"^### `([a-z_][a-z0-9_]*)`", text, re.MULTILINE))


def diff(committed: str, rendered: str) -> str:
    return "".join(difflib.unified_diff(
        committed.splitlines(keepends=True), rendered.splitlines(keepends=True),
        fromfile=f"docs/{OUTPUT} (committed)", tofile=f"docs/{OUTPUT} (rendered from the extension)"))


# SQLSTATEs that sql/ raises: gamification._raise('XXXXX', ...), ERRCODE = 'XXXXX', and the
# 'XXXXX:problem' strings that _predicate_problem() returns for _raise() to split.
_RAISED = (
    re.compile(r"_raise\(\s*'([0-9A-Z]{5})'"),
    re.compile(r"ERRCODE\s*=\s*'([0-9A-Z]{5})'"),
    re.compile(r"'([0-9A-Z]{5}):[a-z]"),
)


def raised_sqlstates(sql_dir: Path) -> dict[str, list[str]]:
    """Every SQLSTATE the SQL sources raise literally, with where (file:line)."""
    found: dict[str, list[str]] = {}
    for path in sorted(sql_dir.rglob("*")):
        if not path.is_file() or path.suffix not in (".sql", ".j2"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for pattern in _RAISED:
                for sqlstate in pattern.findall(line):
                    found.setdefault(sqlstate, []).append(f"{path.relative_to(sql_dir.parent)}:{number}")
    return found
