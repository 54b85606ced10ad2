"""The extension installs and reports itself correctly on every major."""

from __future__ import annotations

import psycopg

from gamification.project import find_project


def test_extension_is_installed_at_the_development_version(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        version, schema, relocatable = conn.execute(
            "SELECT e.extversion, n.nspname, e.extrelocatable FROM pg_extension e "
            "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'gamification'"
        ).fetchone()
    assert version == find_project().version
    assert schema == "gamification"
    assert relocatable is False


def test_server_major_matches_its_parameter(server) -> None:
    with psycopg.connect(server.dsn) as conn:
        major = conn.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone()[0]
    assert major == {"pg15": 15, "pg18": 18}[server.name]


def test_extension_can_be_dropped_and_created_again(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP EXTENSION gamification")
        # The control file's schema is created by CREATE EXTENSION but is not a member of
        # the extension, so it stays, empty (documented in the README).
        left = conn.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = 'gamification'").fetchone()[0]
        left += conn.execute("SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                             "WHERE n.nspname = 'gamification'").fetchone()[0]
        assert left == 0
        conn.execute("CREATE EXTENSION gamification")
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'gamification'").fetchone()[0] == 1
