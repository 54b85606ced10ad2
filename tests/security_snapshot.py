"""Helpers shared by the security test modules (tests/test_security_*.py).

* ``module_env``: a database of its own on one test server, created once per test module
  (``CREATE EXTENSION gamification``), with login roles made for the module, dropped
  with the database at the end. Much cheaper than the per-test clone of ``dsn``.
* ``snapshot``: the catalog (functions with their definitions, ACLs and settings, triggers,
  relations, columns, policies, schemas) and the data (every table outside the system
  schemas, as sorted rows) of a database, to prove that a refused call changed nothing.
* ``run``: execute one statement and return the error it raised (or None).
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Iterator

import psycopg
import pytest
from psycopg import sql

MAJORS = ["pg15", "pg18"]

# Every SQLSTATE the contract allows a registration call (or an API call) to raise.
DOCUMENTED_SQLSTATES = frozenset({
    "22023", "22004", "42501", "42601", "42703", "42P01", "42704", "42710",
    "42804", "42809", "42883", "55000", "0A000",
})

SYSTEM_SCHEMA_FILTER = """
    n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
"""

CATALOG_QUERIES = {
    "schemas": f"""
        SELECT n.nspname, pg_catalog.pg_get_userbyid(n.nspowner), n.nspacl::text
          FROM pg_catalog.pg_namespace n WHERE {SYSTEM_SCHEMA_FILTER} ORDER BY 1""",
    "functions": f"""
        SELECT n.nspname, p.oid::regprocedure::text,
               CASE WHEN p.prokind <> 'a' THEN pg_catalog.pg_get_functiondef(p.oid) END,
               p.prosecdef, p.proconfig::text, p.proacl::text,
               pg_catalog.pg_get_userbyid(p.proowner), pg_catalog.obj_description(p.oid, 'pg_proc')
          FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
         WHERE {SYSTEM_SCHEMA_FILTER} ORDER BY 1, 2""",
    "triggers": """
        SELECT t.tgrelid::regclass::text, t.tgname, pg_catalog.pg_get_triggerdef(t.oid),
               t.tgenabled, pg_catalog.obj_description(t.oid, 'pg_trigger')
          FROM pg_catalog.pg_trigger t
         WHERE NOT t.tgisinternal ORDER BY 1, 2""",
    "relations": f"""
        SELECT n.nspname, c.relname, c.relkind, c.relacl::text, c.relrowsecurity,
               c.relforcerowsecurity, pg_catalog.pg_get_userbyid(c.relowner)
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE {SYSTEM_SCHEMA_FILTER} ORDER BY 1, 2""",
    "columns": f"""
        SELECT n.nspname, c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
               a.attnotnull, a.attacl::text
          FROM pg_catalog.pg_attribute a
          JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE {SYSTEM_SCHEMA_FILTER} AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY 1, 2, 3""",
    "views": f"""
        SELECT n.nspname, c.relname, pg_catalog.pg_get_viewdef(c.oid)
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE {SYSTEM_SCHEMA_FILTER} AND c.relkind IN ('v', 'm') ORDER BY 1, 2""",
    "policies": """
        SELECT pol.polrelid::regclass::text, pol.polname, pol.polcmd, pol.polpermissive,
               pol.polroles::regrole[]::text,
               pg_catalog.pg_get_expr(pol.polqual, pol.polrelid),
               pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid)
          FROM pg_catalog.pg_policy pol ORDER BY 1, 2""",
}

TABLES_QUERY = f"""
    SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE {SYSTEM_SCHEMA_FILTER} AND c.relkind IN ('r', 'p') AND NOT c.relispartition
     ORDER BY 1"""


def snapshot(conn: psycopg.Connection) -> dict[str, list]:
    """Catalog and data of the database, comparable with ==. Use a superuser connection
    (row security must not hide rows from it)."""
    snap: dict[str, list] = {}
    for key, query in CATALOG_QUERIES.items():
        snap[key] = [tuple(r) for r in conn.execute(query).fetchall()]
    for (table,) in conn.execute(TABLES_QUERY).fetchall():
        rows = conn.execute(
            sql.SQL("SELECT pg_catalog.to_jsonb(t)::text FROM {} t").format(sql.SQL(table))).fetchall()
        snap["data " + table] = sorted(r[0] for r in rows)
    return snap


def diff(before: dict[str, list], after: dict[str, list]) -> list[str]:
    """Human-readable differences between two snapshots (empty if equal)."""
    out = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        if b == a:
            continue
        if b is None or a is None:
            out.append(f"{key}: {'appeared' if b is None else 'disappeared'}")
            continue
        gone = [x for x in b if x not in a]
        new = [x for x in a if x not in b]
        out.append(f"{key}: removed {gone[:3]!r} added {new[:3]!r}")
    return out



@dataclass
class Failure:
    sqlstate: str | None
    message: str
    hint: str | None
    detail: str | None

    def __str__(self) -> str:
        return f"{self.sqlstate}: {self.message} (HINT: {self.hint})"


def run(conn: psycopg.Connection, query: str, params: tuple | None = None) -> Failure | None:
    """Execute a statement; return the error it raised or None. An autocommit connection
    is left usable; a transactional one is rolled back after an error."""
    try:
        cur = conn.execute(query, params)
        if cur.description is not None:
            cur.fetchall()
    except psycopg.Error as e:
        if not conn.autocommit:
            conn.rollback()
        diag = e.diag
        return Failure(e.sqlstate, diag.message_primary or str(e), diag.message_hint, diag.message_detail)
    return None


@dataclass
class Env:
    """One module's database on one server, and the login roles made for it."""

    name: str
    major: int
    host: str
    port: int
    superuser: str
    dbname: str
    roles: dict[str, str] = field(default_factory=dict)
    setup_errors: list[str] = field(default_factory=list)
    _conns: list = field(default_factory=list)

    def dsn(self, role: str | None = None) -> str:
        user = self.roles.get(role, role) if role else self.superuser
        return f"host={self.host} port={self.port} user={user} dbname={self.dbname}"

    def connect(self, role: str | None = None, autocommit: bool = True) -> psycopg.Connection:
        conn = psycopg.connect(self.dsn(role), autocommit=autocommit)
        self._conns.append(conn)
        return conn

    def role(self, key: str) -> str:
        return self.roles[key]


def _proc(request: pytest.FixtureRequest, name: str):
    try:
        return request.getfixturevalue(f"{name}_proc")
    except pytest.FixtureLookupError:
        pytest.skip(f"PostgreSQL for {name} is not installed")


@contextlib.contextmanager
def module_env(request: pytest.FixtureRequest, prefix: str, role_keys: dict[str, str],
               setup: str = "") -> Iterator[Env]:
    """A fresh database with the extension, ``setup`` run in it (as the superuser, with
    search_path = public), then login roles ``role_keys`` (key -> grants run after
    ``CREATE ROLE <name> LOGIN``, ``;``-separated, ``{r}`` standing for the role's quoted
    name). The roles are named ``<prefix>_<key>_<random>`` (roles are cluster-wide)."""
    name = request.param
    proc = _proc(request, name)
    suffix = uuid.uuid4().hex[:8]
    dbname = f"{prefix}_{suffix}"
    admin_dsn = f"host={proc.host} port={proc.port} user={proc.user} dbname=postgres"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        major = conn.info.server_version // 10000
    env = Env(name, major, proc.host, proc.port, proc.user, dbname)
    try:
        with psycopg.connect(env.dsn(), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION gamification")
            if setup:
                conn.execute("SET search_path = public")
                conn.execute(setup)
                conn.execute("RESET search_path")
            for key, grants in role_keys.items():
                role = f"{prefix}_{key}_{suffix}"
                env.roles[key] = role
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
                # Each grant on its own, and a failing one only recorded: before the
                # extension creates its roles, the tests that need none still run.
                for stmt in filter(None, (g.strip() for g in grants.split(";"))):
                    try:
                        conn.execute(stmt.format(r=sql.Identifier(role).as_string(conn)))
                    except psycopg.Error as e:
                        env.setup_errors.append(f"{stmt}: {e}")
        yield env
    finally:
        for conn in env._conns:
            with contextlib.suppress(Exception):
                conn.close()
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
            for role in env.roles.values():
                with contextlib.suppress(psycopg.Error):
                    conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def totals_match_ledger(conn: psycopg.Connection) -> list[tuple]:
    """Users whose points (the default type) differ from the sum of their ledger rows (should be none)."""
    return conn.execute("""
        SELECT coalesce(t.user_id, l.user_id), t.points, l.total
          FROM gamification.user_points t
          FULL JOIN (SELECT user_id, sum(amount)::bigint AS total FROM gamification.points_ledger GROUP BY user_id) l
            ON l.user_id = t.user_id
         WHERE t.points IS DISTINCT FROM l.total""").fetchall()


def duplicate_awards(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute("""
        SELECT user_id, badge_code, count(*) FROM gamification.award
         GROUP BY 1, 2 HAVING count(*) > 1""").fetchall()
