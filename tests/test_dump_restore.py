"""pg_dump / pg_restore and DROP EXTENSION with registered badges, on both majors.

A database with manual and trigger badges, awards, revocations, points, progress and
unlockables is dumped and restored (custom format with a parallel restore, and plain
SQL through psql); everything the extension stores comes back identical, the restore
awards nothing twice, and the triggers on the application's tables award again.
"""

from __future__ import annotations

import subprocess

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

BADGES = [
    {"code": "first_post", "name": "First post", "points": 10, "category": "community"},
    {"code": "regular", "name": "Regular", "points": 5, "target": 3},
    {"code": "secret_one", "name": "Secret", "secret": True},
    {"code": "collector", "name": "Collector", "points": 20,
     "condition": "count(*) >= 3 FROM posts WHERE author = NEW.author",
     "trigger_condition": "insert", "trigger_table": "posts", "user_field": "author"},
    {"code": "prolific", "name": "Prolific", "points": 7, "target": 4, "backfill": True,
     "counter": {"table": "posts", "user_field": "author", "where": "kind = 'post'"}},
    {"code": "popular", "name": "Popular", "condition": "NEW.views >= 100", "trigger_condition": "update",
     "trigger_table": "posts", "user_field": "author", "update_of": ["views"]},
]

# What the extension stores, as a client reads it (ids and times included: a restore
# must bring them back exactly).
SNAPSHOT_QUERIES = {
    "badges": "SELECT code, name, description, points, category, target, secret, next FROM gamification.badges ORDER BY code",
    "definitions": "SELECT code, definition, retired_at FROM gamification.badge ORDER BY code",
    "rules": "SELECT badge_code, kind, table_name::text, event, user_field, condition, counter_where, update_of, "
             "search_path FROM gamification.badge_rule ORDER BY badge_code",
    "categories": "SELECT code, name, description FROM gamification.category ORDER BY code",
    "user_badges": "SELECT user_id, code, awarded_at FROM gamification.user_badges ORDER BY 1, 2",
    "events": "SELECT id, at, user_id, kind, subject, points, reason, data FROM gamification.event ORDER BY id",
    "history": "SELECT user_id, badge_code, action, points, source, at FROM gamification.award_history ORDER BY id",
    "ledger": "SELECT user_id, amount, reason, badge_code, created_at FROM gamification.points_ledger ORDER BY id",
    "points": "SELECT user_id, points FROM gamification.user_points ORDER BY 1",
    "progress": "SELECT user_id, code, progress, target FROM gamification.user_progress ORDER BY 1, 2",
    "unlockables": "SELECT user_id, code, unlocked_at FROM gamification.user_unlockables ORDER BY 1, 2",
    "triggers": "SELECT tgrelid::regclass::text, tgname, tgfoid::regproc::text FROM pg_trigger "
                "WHERE tgname LIKE 'gamification%' ORDER BY 1, 2",
    "generated": "SELECT p.oid::regprocedure::text, pg_get_userbyid(p.proowner), p.prosecdef, p.proconfig, "
                 "obj_description(p.oid, 'pg_proc') FROM pg_proc p WHERE p.pronamespace = 'gamification'::regnamespace "
                 "AND obj_description(p.oid, 'pg_proc') LIKE 'gamification: generated %' ORDER BY 1",
    "status": "SELECT code, installed, up_to_date, broken FROM gamification.badge_status ORDER BY code",
}


def snapshot(dsn: str, skip: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    with psycopg.connect(dsn) as conn:
        return {name: conn.execute(query).fetchall() for name, query in SNAPSHOT_QUERIES.items() if name not in skip}


def populate(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE posts (id serial PRIMARY KEY, author int, kind text NOT NULL DEFAULT 'post', "
                     "views int NOT NULL DEFAULT 0)")
        # History before registration: the counter's backfill counts it.
        conn.execute("INSERT INTO posts (author) SELECT 1 FROM generate_series(1, 2)")
        conn.execute("SELECT gamification.unlockable_register(%s)",
                     [Jsonb([{"code": "frame", "name": "Frame", "points_required": 15},
                             {"code": "crown", "name": "Crown", "points_required": 1000}])])
        conn.execute("SELECT gamification.badge_register(%s)", [Jsonb(BADGES)])
        conn.execute("INSERT INTO posts (author, kind) SELECT 1 + g % 3, 'post' FROM generate_series(1, 9) g")
        conn.execute("UPDATE posts SET views = 150 WHERE id = 3")
        conn.execute("SELECT gamification.badge_award(u, 'first_post') FROM generate_series(1, 4) u")
        conn.execute("SELECT gamification.badge_revoke(4, 'first_post')")
        conn.execute("SELECT gamification.badge_progress(2, 'regular', 2)")
        conn.execute("SELECT gamification.badge_award(3, 'secret_one')")
        conn.execute("SELECT gamification.award_points(5, 40, 'welcome gift')")
        conn.execute("SELECT gamification.award_points(5, -35, 'penalty')")  # 5 reached frame, then lost it


# Point types and levels (0.3.0): kept apart from populate() and SNAPSHOT_QUERIES, which
# test_upgrade also runs against released versions that have neither.
TYPED_QUERIES = {
    "point_types": "SELECT code, name, description FROM gamification.point_types ORDER BY code",
    "levels": "SELECT point_type, number, name, points_required FROM gamification.levels ORDER BY 1, 2",
    "badge_types": "SELECT code, point_type FROM gamification.badge ORDER BY code",
    "totals": "SELECT user_id, point_type, points FROM gamification.user_points_by_type ORDER BY 1, 2",
    "user_levels": "SELECT * FROM gamification.user_levels ORDER BY 1, 2",
    "typed_events": "SELECT id, kind, point_type, data FROM gamification.event ORDER BY id",
    "boards": "SELECT code, ranks_by, point_type, category, period, time_zone, week_start, ties "
              "FROM gamification.leaderboards ORDER BY code",
    "standings": "SELECT b.code, t.* FROM gamification.leaderboards b, gamification.leaderboard_top(b.code, 100) t "
                 "ORDER BY b.code, t.rank, t.user_id",
    "ranks": "SELECT b.code, r.rank, r.user_id FROM gamification.leaderboards b, "
             "gamification.leaderboard_rank(b.code, '6', 1) r ORDER BY b.code, r.rank, r.user_id",
    "range_counts": "SELECT leaderboard, bucket, sum(users) FROM gamification.leaderboard_count "
                    "GROUP BY 1, 2 HAVING sum(users) <> 0 ORDER BY 1, 2",
}


def populate_point_types(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("""SELECT gamification.point_type_register('[{"code": "xp", "name": "XP"}, {"code": "coins"}]')""")
        conn.execute("""SELECT gamification.level_register('[
            {"point_type": "xp", "number": 1, "name": "Newcomer", "points_required": 0},
            {"point_type": "xp", "number": 2, "name": "Contributor", "points_required": 50}]')""")
        conn.execute("""SELECT gamification.badge_register('{"code": "helper", "name": "Helper", "points": 60,
                                                            "point_type": "xp"}')""")
        conn.execute("""SELECT gamification.unlockable_register('{"code": "purse", "name": "Purse",
                                                                 "points_required": 3, "point_type": "coins"}')""")
        conn.execute("SELECT gamification.badge_award(u, 'helper') FROM generate_series(1, 2) u")
        conn.execute("SELECT gamification.points_award(1, -20, 'penalty', 'xp')")
        conn.execute("SELECT gamification.points_award(3, 5, 'found', 'coins')")
        # Leaderboards: scores, the score ranges' counts (two moves each), an exclusion.
        conn.execute("""SELECT gamification.leaderboard_register('[
            {"code": "xp_all", "point_type": "xp"},
            {"code": "xp_week", "point_type": "xp", "period": "week", "time_zone": "Europe/Paris", "ties": "first"},
            {"code": "collectors", "ranks_by": "badges"},
            {"code": "community_month", "ranks_by": "badges", "category": "community", "period": "month"}]')""")
        conn.execute("SELECT gamification.points_award(u, 300 * u, 'climb', 'xp') FROM generate_series(4, 7) u")
        conn.execute("SELECT gamification.leaderboard_exclude('xp_all', 5)")


def typed_snapshot(dsn: str) -> dict[str, list[tuple]]:
    with psycopg.connect(dsn) as conn:
        return {name: conn.execute(query).fetchall() for name, query in TYPED_QUERIES.items()}


def restore_into(server, dbname: str, dump_args: list[str], restore: list[str] | None) -> str:
    with psycopg.connect(server.admin_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    target = server.admin_dsn(dbname)
    dump = subprocess.run([str(server.installation.tool("pg_dump")), *dump_args, "-d", server.dsn],
                          capture_output=True, check=True)
    if restore is None:  # plain SQL through psql, stopping at the first error
        result = subprocess.run([str(server.installation.tool("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                 "-d", target], input=dump.stdout, capture_output=True)
    else:
        result = subprocess.run([str(server.installation.tool("pg_restore")), *restore, "-d", target],
                                input=dump.stdout, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
    return target


def pg_restore(server, target: str, dump_file, *args: str) -> None:
    result = subprocess.run([str(server.installation.tool("pg_restore")), *args, "-d", target, str(dump_file)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# Every restore path the README documents: pg_restore runs over one custom-format dump,
# or None for a plain dump through psql. -j applies to post-data only: the extension's
# tables reference each other, and pg_dump cannot order the data of an extension's
# configuration tables, so their data loads in one session. The data-only paths restore into the schema a
# --schema-only restore made, triggers and all: the rows they load into posts were
# counted before the dump and must not count again (core/runtime.sql, _stage()).
RESTORE_PATHS = {
    "custom": [[]],
    "custom-parallel-post-data": [["--section=pre-data", "--section=data"], ["--section=post-data", "-j", "2"]],
    "schema-then-data": [["--schema-only"], ["--data-only"]],
    "schema-then-data-disable-triggers": [["--schema-only"], ["--data-only", "--disable-triggers"]],
    "plain": None,
}


@pytest.mark.parametrize("path", list(RESTORE_PATHS))
def test_dump_and_restore_bring_everything_back_and_award_again(server, path: str, tmp_path) -> None:
    populate(server.dsn)
    populate_point_types(server.dsn)
    before = snapshot(server.dsn)
    typed_before = typed_snapshot(server.dsn)
    assert before["user_badges"] and before["unlockables"] and before["progress"] and before["events"]  # not vacuous
    assert len(typed_before["point_types"]) == 3 and typed_before["user_levels"]
    assert len(typed_before["standings"]) > 4 and typed_before["range_counts"]
    assert all(row[2] for row in before["status"])  # every trigger badge up to date
    if RESTORE_PATHS[path] is None:
        target = restore_into(server, f"{server.dbname}_plain", ["-Fp"], None)
    else:
        dump_file = tmp_path / "db.dump"
        subprocess.run([str(server.installation.tool("pg_dump")), "-Fc", "-f", str(dump_file), "-d", server.dsn],
                       check=True, capture_output=True)
        target_db = f"{server.dbname}_{path.replace('-', '_')}"
        with psycopg.connect(server.admin_dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target_db)))
        target = server.admin_dsn(target_db)
        for args in RESTORE_PATHS[path]:
            pg_restore(server, target, dump_file, *args)
    after = snapshot(target)
    for name in SNAPSHOT_QUERIES:
        assert after[name] == before[name], f"{name} differs after a {path} restore"
    typed_after = typed_snapshot(target)
    for name in TYPED_QUERIES:
        assert typed_after[name] == typed_before[name], f"{name} differs after a {path} restore"
    with psycopg.connect(target, autocommit=True) as conn:
        # Nothing counted twice, nothing to repair, nothing left staged or queued.
        assert conn.execute("SELECT gamification.totals_rebuild()").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM gamification.pending_queue").fetchone() == (0,)
        # The triggers on posts award again after the restore, in an ordinary session.
        conn.execute("INSERT INTO posts (author) SELECT 9 FROM generate_series(1, 4)")
        held = {row[0] for row in conn.execute("SELECT code FROM gamification.user_badges WHERE user_id = '9'")}
        assert held == {"collector", "prolific"}
        assert conn.execute("SELECT points FROM gamification.user_points WHERE user_id = '9'").fetchone() == (27,)
        assert conn.execute("SELECT count(*) FROM gamification.badge_status WHERE broken IS NOT NULL "
                            "OR NOT up_to_date").fetchone() == (0,)
        assert conn.execute("SELECT * FROM gamification.triggers_sync()").fetchall() == []
        # Scores and counts came back together: nothing for leaderboard_verify to report.
        assert conn.execute("SELECT count(*) FROM gamification.leaderboard_verify()").fetchone() == (0,)


def test_a_session_that_says_it_restores_counts_nothing(server) -> None:
    """A hand-made load (COPY of rows that were counted before) sets gamification.restoring."""
    populate(server.dsn)
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        before = conn.execute("SELECT count(*) FROM gamification.event").fetchone()
        with conn.transaction():
            conn.execute("SET LOCAL gamification.restoring = on")
            conn.execute("INSERT INTO posts (author) SELECT 11 FROM generate_series(1, 4)")
        assert conn.execute("SELECT count(*) FROM gamification.event").fetchone() == before
        conn.execute("INSERT INTO posts (author) VALUES (11)")  # the next ordinary write counts
        assert conn.execute("SELECT progress FROM gamification.user_progress WHERE user_id = '11' "
                            "AND code = 'prolific'").fetchone() == (1,)


def test_drop_extension_refuses_while_badges_are_registered(server) -> None:
    populate(server.dsn)
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.DependentObjectsStillExist) as refused:
            conn.execute("DROP EXTENSION gamification")
        assert "trigger gamification_on_insert on table posts" in refused.value.diag.message_detail
        assert conn.execute("SELECT count(*) FROM gamification.user_badges").fetchone()[0] > 0  # nothing dropped


def test_drop_extension_cascade_removes_our_triggers_and_leaves_the_table_working(server) -> None:
    populate(server.dsn)
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE FUNCTION keep_me() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'")
        conn.execute("CREATE TRIGGER users_own_trigger AFTER INSERT ON posts EXECUTE FUNCTION keep_me()")
        rows = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
        conn.execute("DROP EXTENSION gamification CASCADE")
        triggers = [row[0] for row in conn.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'posts'::regclass AND NOT tgisinternal")]
        assert triggers == ["users_own_trigger"]
        assert conn.execute("SELECT count(*) FROM pg_proc WHERE pronamespace = 'gamification'::regnamespace"
                            ).fetchone() == (0,)
        conn.execute("INSERT INTO posts (author) VALUES (1)")  # the application's writes go on
        conn.execute("UPDATE posts SET views = views + 1")
        conn.execute("DELETE FROM posts WHERE id = 1")
        assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == rows
