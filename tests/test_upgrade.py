"""Every released version upgrades to the current one, proven on both majors.

For each version V listed in extension/RELEASED: install V, put real data in it,
ALTER EXTENSION gamification UPDATE, then require the catalog of the extension's objects
to be identical to a fresh install of the current version, all data intact, the
registered triggers still awarding, and the whole pgTAP suite passing on the upgraded
database. A downgrade gets PostgreSQL's own error.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from gamification.project import find_project
from gamification.released import read_manifest
from test_dump_restore import populate, snapshot

PROJECT = find_project(Path(__file__).parent)
RELEASED = sorted(name.removeprefix("gamification--").removesuffix(".sql")
                  for name in read_manifest(PROJECT.released_manifest) if name.count("--") == 1)
OLD_VERSIONS = [v for v in RELEASED if v != PROJECT.version]
# Versions of before 0.2.0: two logs instead of the event log, and a schema admins could create in.
BEFORE_0_2_0 = [v for v in OLD_VERSIONS if tuple(map(int, v.split("."))) < (0, 2, 0)]
PGTAP_FILES = sorted((Path(__file__).parent / "pgtap").glob("*.sql"))

# The extension's objects as the catalog describes them, without OIDs: members with their
# definitions, attributes and privileges, the columns, constraints, indexes and triggers
# of its tables, its policies, comments, config-dump registrations and version.
CATALOG_QUERIES = {
    "members": """
        SELECT pg_describe_object(d.classid, d.objid, 0) FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
         WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'gamification'
         ORDER BY 1""",
    "functions": """
        SELECT p.oid::regprocedure::text, md5(pg_get_functiondef(p.oid)), p.prosecdef, p.provolatile, p.proconfig,
               p.proacl::text, obj_description(p.oid, 'pg_proc'), pg_get_userbyid(p.proowner)
          FROM pg_proc p WHERE p.pronamespace = 'gamification'::regnamespace ORDER BY 1""",
    "relations": """
        SELECT c.relname, c.relkind, c.reloptions, c.relacl::text, c.relrowsecurity, obj_description(c.oid, 'pg_class'),
               CASE WHEN c.relkind = 'v' THEN md5(pg_get_viewdef(c.oid)) END
          FROM pg_class c WHERE c.relnamespace = 'gamification'::regnamespace ORDER BY 1""",
    "columns": """
        SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(ad.adbin, ad.adrelid), col_description(c.oid, a.attnum)
          FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
         WHERE c.relnamespace = 'gamification'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
         WHERE connamespace = 'gamification'::regnamespace ORDER BY 1, 2""",
    "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'gamification' ORDER BY 1",
    "triggers": """
        SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger
         WHERE tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'gamification'::regnamespace)
           AND NOT tgisinternal ORDER BY 1, 2""",
    "policies": "SELECT tablename, policyname, permissive, roles, cmd, qual, with_check FROM pg_policies "
                "WHERE schemaname = 'gamification' ORDER BY 1, 2",
    "config_dump": """
        SELECT c.relname, x.cond FROM pg_extension e,
               unnest(e.extconfig, e.extcondition) AS x(oid, cond) JOIN pg_class c ON c.oid = x.oid
         WHERE e.extname = 'gamification' ORDER BY 1""",
    "extension": "SELECT extversion, extrelocatable, extnamespace::regnamespace::text FROM pg_extension "
                 "WHERE extname = 'gamification'",
    "schema": "SELECT nspacl::text, obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = 'gamification'",
}


def catalog(dsn: str) -> dict[str, list[tuple]]:
    with psycopg.connect(dsn) as conn:
        return {name: conn.execute(query).fetchall() for name, query in CATALOG_QUERIES.items()}


def database(server, name: str, version: str | None) -> str:
    """A new database on the test server with gamification at ``version`` (None: none)."""
    dbname = f"{server.dbname}_{name}" + (f"_{version.replace('.', '_')}" if version else "")
    with psycopg.connect(server.admin_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    dsn = server.admin_dsn(dbname)
    if version is not None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE EXTENSION gamification VERSION {}").format(sql.Literal(version)))
    return dsn


def update(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ALTER EXTENSION gamification UPDATE")
        assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'gamification'"
                            ).fetchone() == (PROJECT.version,)


def test_a_released_version_exists() -> None:
    assert RELEASED, "extension/RELEASED lists no version"


@pytest.mark.parametrize("version", OLD_VERSIONS)
def test_upgraded_catalog_is_identical_to_a_fresh_install(server, version: str) -> None:
    upgraded = database(server, "upgraded", version)
    update(upgraded)
    fresh = database(server, f"fresh_for_{version.replace('.', '_')}", PROJECT.version)
    before, after = catalog(fresh), catalog(upgraded)
    assert before["functions"], "the catalog query found nothing"
    for name in CATALOG_QUERIES:
        assert after[name] == before[name], f"{name}: upgraded from {version} differs from a fresh install"


@pytest.mark.parametrize("version", OLD_VERSIONS)
def test_upgrade_keeps_the_data_and_the_triggers_award(server, version: str) -> None:
    dsn = database(server, "data", version)
    populate(dsn)
    before = snapshot(dsn, skip=("events",))  # 0.1.0 had no event log: its two logs are compared
    update(dsn)
    after = snapshot(dsn, skip=("events",))
    for name in before:
        if name != "status":
            assert after[name] == before[name], f"{name} changed in the upgrade from {version}"
    # Trigger functions generated by the old version keep awarding with the new internals;
    # badge_status says they are not up to date until triggers_sync() regenerates them.
    status = "SELECT code, installed, up_to_date, broken FROM gamification.badge_status ORDER BY code"
    assert [row[:2] + row[3:] for row in after["status"]] == [row[:2] + row[3:] for row in before["status"]]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO posts (author) SELECT 9 FROM generate_series(1, 4)")
        held = {row[0] for row in conn.execute("SELECT code FROM gamification.user_badges WHERE user_id = '9'")}
        assert held == {"collector", "prolific"}
        conn.execute("SELECT gamification.triggers_sync()")
        assert all(up_to_date and broken is None for _, _, up_to_date, broken in conn.execute(status))
        conn.execute("INSERT INTO posts (author) SELECT 10 FROM generate_series(1, 4)")
        held = {row[0] for row in conn.execute("SELECT code FROM gamification.user_badges WHERE user_id = '10'")}
        assert held == {"collector", "prolific"}


EVENTS = ("SELECT user_id, kind, subject, points, reason, data FROM gamification.event "
          "WHERE kind NOT LIKE 'unlockable%' ORDER BY id")


@pytest.mark.parametrize("version", BEFORE_0_2_0)
def test_upgrade_moves_both_logs_into_the_event_log_in_order(server, version: str) -> None:
    """The same history made on the old version and upgraded, and made on a fresh install,
    gives the same event log (0.1.0 recorded no unlock events), ids in order from 1."""
    upgraded = database(server, "moved", version)
    populate(upgraded)
    update(upgraded)
    fresh = database(server, f"made_for_{version.replace('.', '_')}", PROJECT.version)
    populate(fresh)
    with psycopg.connect(upgraded) as old, psycopg.connect(fresh) as new:
        moved = old.execute(EVENTS).fetchall()
        assert moved and moved == new.execute(EVENTS).fetchall()
        assert old.execute("SELECT min(id), max(id), count(*) FROM gamification.event").fetchone() == (1, len(moved), len(moved))
        # Every total is its events' sum (the timestamps are compared in the test above).
        assert old.execute("SELECT gamification.totals_rebuild()").fetchone() == (0,)
        # The next award continues the log.
        old.execute("SELECT gamification.badge_award(77, 'first_post')")
        assert old.execute("SELECT id FROM gamification.event WHERE user_id = '77'").fetchone() == (len(moved) + 1,)


@pytest.mark.parametrize("version", OLD_VERSIONS)
def test_pgtap_suite_passes_on_an_upgraded_database(server, version: str) -> None:
    dsn = database(server, "pgtap", version)
    update(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pgtap")
    result = subprocess.run(
        ["pg_prove", "--psql-bin", str(server.installation.tool("psql")), "--host", server.host,
         "--port", str(server.port), "--username", server.user, "--dbname", psycopg.conninfo.conninfo_to_dict(dsn)["dbname"],
         *map(str, PGTAP_FILES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    assert f"Files={len(PGTAP_FILES)}" in result.stdout


@pytest.mark.parametrize("version", OLD_VERSIONS)
def test_a_downgrade_gets_postgresqls_error(server, version: str) -> None:
    dsn = database(server, f"downgrade_to_{version.replace('.', '_')}", PROJECT.version)
    with psycopg.connect(dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InvalidParameterValue) as refused:
            conn.execute(sql.SQL("ALTER EXTENSION gamification UPDATE TO {}").format(sql.Literal(version)))
        assert (f'extension "gamification" has no update path from version "{PROJECT.version}" '
                f'to version "{version}"') in str(refused.value)


@pytest.mark.parametrize("version", BEFORE_0_2_0)
def test_upgrade_refuses_objects_planted_in_the_schema(server, version: str) -> None:
    """Before 0.2.0 admins could create objects in schema gamification; an overload planted
    there (a better match for the literals of the extension's own calls) would run as the
    superuser upgrading. The upgrade refuses, naming it, until it is dropped."""
    dsn = database(server, "planted", version)
    planter = f"planter_{server.dbname}"[:60]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(planter)))
        try:
            conn.execute(sql.SQL("GRANT gamification_admin TO {}").format(sql.Identifier(planter)))
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(planter)))
            conn.execute("""CREATE FUNCTION gamification._int_field(p_label text, p_object jsonb, p_field text,
                                p_min integer, p_default integer, p_expected text, p_hint text)
                            RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint'""")
            conn.execute("RESET ROLE")
            with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
                conn.execute("ALTER EXTENSION gamification UPDATE")
            assert "_int_field" in str(refused.value) and planter in str(refused.value)
            assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'gamification'"
                                ).fetchone() == (version,)
            conn.execute("DROP FUNCTION gamification._int_field(text, jsonb, text, integer, integer, text, text)")
        finally:
            conn.execute("RESET ROLE")
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(planter)))
    update(dsn)
