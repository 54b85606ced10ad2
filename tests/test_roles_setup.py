"""The README's recommended setup ("Security model", "Recommended setup"), end to end:
a superuser installs the extension (and may register badges first), a migrations role
that owns the application's tables and is a member of gamification_admin manages the
badges from a badge.json file, and the application's role, with no gamification role
beyond gamification_reader, writes its rows (which award) and reads the views.

Badges belong to no role: a sync that keeps a badge never re-checks it against the
caller's rights, and the role that may change a badge is any admin that may change
its table's triggers and read what it reads (the "handover" is that GRANT).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql


@dataclass
class Setup:
    su: psycopg.Connection
    mig: psycopg.Connection
    app: psycopg.Connection
    roles: dict[str, str]
    dsns: dict[str, str]


@pytest.fixture
def setup(server, dsn):
    suffix = uuid.uuid4().hex[:8]
    roles = {key: f"{key}_{suffix}" for key in ("migrations", "app", "team")}
    dsns = {key: f"host={server.host} port={server.port} user={role} dbname={server.dbname}"
            for key, role in roles.items()}
    dsns["su"] = dsn
    su = psycopg.connect(dsn, autocommit=True)
    conns = [su]
    try:
        # The README's recommended setup, as written there.
        su.execute(sql.SQL("""
            CREATE ROLE {mig} LOGIN;
            GRANT gamification_admin TO {mig};
            GRANT CREATE ON SCHEMA public TO {mig};
            CREATE ROLE {app} LOGIN;
            GRANT gamification_reader TO {app};
            CREATE ROLE {team} LOGIN;
            GRANT gamification_admin TO {team};
        """).format(mig=sql.Identifier(roles["migrations"]), app=sql.Identifier(roles["app"]),
                    team=sql.Identifier(roles["team"])))
        mig = psycopg.connect(dsns["migrations"], autocommit=True)
        app = psycopg.connect(dsns["app"], autocommit=True)
        conns += [mig, app]
        # The migrations create the application's tables (so they own them) and grant the
        # application what it writes.
        mig.execute(sql.SQL("""
            CREATE TABLE auth_user (id serial PRIMARY KEY, username text NOT NULL);
            CREATE TABLE dummy_sketch (id serial PRIMARY KEY, user_id int REFERENCES auth_user,
                                       hit_views int NOT NULL DEFAULT 0);
            GRANT SELECT, INSERT, UPDATE, DELETE ON auth_user, dummy_sketch TO {app};
            GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {app};
        """).format(app=sql.Identifier(roles["app"])))
        yield Setup(su, mig, app, roles, dsns)
    finally:
        for conn in conns[1:]:
            conn.close()
        # Badges first: dropping a table a badge uses is refused (tests/test_migrations.py).
        su.execute("SELECT gamification.badge_unregister(badge_code) FROM gamification.badge_rule")
        for role in roles.values():
            su.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(role)))
        su.close()
        with psycopg.connect(server.admin_dsn(), autocommit=True) as admin:
            for role in roles.values():
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


FILE = [
    {"code": "welcome", "name": "Welcome", "points": 1},
    {"code": "collector", "name": "Collector", "points": 20,
     "condition": "count(id) >= 3 from dummy_sketch where user_id = NEW.user_id",
     "trigger_condition": "insert", "trigger_table": "dummy_sketch", "user_field": "user_id"},
    {"code": "star", "name": "Star", "points": 50, "condition": "NEW.hit_views >= 1000",
     "trigger_condition": "update", "trigger_table": "dummy_sketch", "user_field": "user_id",
     "update_of": ["hit_views"]},
    {"code": "prolific", "name": "Prolific", "points": 15, "target": 5, "backfill": True,
     "counter": {"table": "dummy_sketch", "user_field": "user_id"}},
]


def register(path, dsn, *extra):
    result = subprocess.run([sys.executable, "-m", "gamification", "register", str(path), "--dsn", dsn, *extra],
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def plan(conn, definitions, **options):
    args = ", ".join(f"{k} => {'true' if v else 'false'}" for k, v in options.items())
    return dict(conn.execute(f"SELECT code, action FROM gamification.badge_sync(%s::jsonb{', ' if args else ''}{args})",
                             (json.dumps(definitions),)).fetchall())


def registry(conn):
    """Every column of every badge and rule, and the generated code: a no-op leaves them equal."""
    return (conn.execute("SELECT b.*, r.* FROM gamification.badge b LEFT JOIN gamification.badge_rule r "
                         "ON r.badge_code = b.code ORDER BY b.code").fetchall(),
            conn.execute("SELECT p.oid, p.proname FROM pg_proc p WHERE p.pronamespace = 'gamification'::regnamespace "
                         "AND obj_description(p.oid, 'pg_proc') LIKE 'gamification: generated %' ORDER BY 2").fetchall(),
            conn.execute("SELECT oid, tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 2").fetchall())


def test_recommended_setup_end_to_end(setup, tmp_path):
    path = tmp_path / "badge.json"
    path.write_text(json.dumps(FILE, indent=2))
    # The superuser registers the file first.
    register(path, setup.dsns["su"])
    before = registry(setup.su)

    # The migrations role re-syncs the same file: a no-op, dry run or not.
    for extra in (("--dry-run",), ()):
        out = register(path, setup.dsns["migrations"], *extra)
        assert plan(setup.mig, FILE, dry_run=True) == {c["code"]: "keep" for c in FILE}, out
        assert registry(setup.su) == before, out

    # It dry-runs a change, then applies it.
    changed = [dict(d, points=75) if d["code"] == "star" else d for d in FILE]
    path.write_text(json.dumps(changed, indent=2))
    out = register(path, setup.dsns["migrations"], "--dry-run")
    assert "star" in out and registry(setup.su) == before, out
    assert plan(setup.mig, changed, dry_run=True)["star"] == "change"
    register(path, setup.dsns["migrations"])
    assert setup.su.execute("SELECT points FROM gamification.badge WHERE code = 'star'").fetchone()[0] == 75
    assert plan(setup.mig, changed) == {c["code"]: "keep" for c in changed}

    # The application writes its rows, with no gamification role but reader, and they award.
    app = setup.app
    assert not app.execute("SELECT has_function_privilege('gamification.badge_award(text, text)', 'EXECUTE')"
                           ).fetchone()[0]
    app.execute("INSERT INTO auth_user (username) VALUES ('ada'), ('bob')")
    app.execute("INSERT INTO dummy_sketch (user_id) SELECT 1 FROM generate_series(1, 5)")
    app.execute("UPDATE dummy_sketch SET hit_views = 1500 WHERE id = 1")
    app.execute("INSERT INTO dummy_sketch (user_id) VALUES (2)")
    assert app.execute("SELECT user_id, code, points FROM gamification.user_badges ORDER BY 1, 2").fetchall() == [
        ("1", "collector", 20), ("1", "prolific", 15), ("1", "star", 75)]
    assert app.execute("SELECT user_id, points FROM gamification.user_points ORDER BY 1").fetchall() == [("1", 110)]


def test_a_sync_keeping_a_superusers_badges_never_checks_them_against_the_callers_rights(setup):
    su, mig = setup.su, setup.mig
    # Badges the migrations role could not register itself: on a table it has no right on,
    # reading a table it may not read, firing on replicas of a table it does not own.
    su.execute("CREATE TABLE audit_events (id serial PRIMARY KEY, user_id int, kind text)")
    su.execute("CREATE TABLE private_scores (user_id int, score int)")
    definitions = FILE + [
        {"code": "audited", "name": "Audited", "condition": "NEW.kind = 'login'", "trigger_condition": "insert",
         "trigger_table": "audit_events", "user_field": "user_id", "fire_on_replica": True, "backfill": True},
        {"code": "scorer", "name": "Scorer",
         "condition": "exists (select 1 from private_scores s where s.user_id = NEW.user_id and s.score > 10)",
         "trigger_condition": "insert", "trigger_table": "dummy_sketch", "user_field": "user_id"}]
    su.execute("SELECT gamification.badge_register(%s::jsonb)", (json.dumps(definitions),))
    before = registry(su)
    keep = {d["code"]: "keep" for d in definitions}
    assert plan(mig, definitions, dry_run=True) == keep
    assert plan(mig, definitions) == keep
    assert plan(mig, definitions, prune=True) == keep
    assert registry(su) == before

    # Changing one of them needs the caller's rights on its table: 42501, naming the GRANT.
    changed = [dict(d, points=5) if d["code"] == "audited" else d for d in definitions]
    for dry_run in (True, False):
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as err:
            plan(mig, changed, dry_run=dry_run)
        assert "audit_events" in err.value.diag.message_primary
        assert "GRANT TRIGGER, SELECT ON public.audit_events TO" in err.value.diag.message_hint
    assert registry(su) == before


def test_handing_a_tables_badges_to_another_role_is_one_grant(setup):
    su, team = setup.su, psycopg.connect(setup.dsns["team"], autocommit=True)
    try:
        su.execute("SELECT gamification.badge_register(%s::jsonb)", (json.dumps(FILE),))
        changed = [dict(d, points=99) if d["code"] == "collector" else d for d in FILE]
        # Another admin team: it may keep them, not change them...
        assert plan(team, FILE) == {d["code"]: "keep" for d in FILE}
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            plan(team, changed)
        # ...until the table's owner hands the table's badges over, with the one GRANT the
        # README documents (and the hint names).
        setup.mig.execute(sql.SQL("GRANT TRIGGER, SELECT ON dummy_sketch TO {}").format(
            sql.Identifier(setup.roles["team"])))
        assert plan(team, changed)["collector"] == "change"
        assert su.execute("SELECT points FROM gamification.badge WHERE code = 'collector'").fetchone()[0] == 99
        # And unregistering follows the same rule.
        assert team.execute("SELECT gamification.badge_unregister('collector')").fetchone()[0] is True
    finally:
        team.close()
