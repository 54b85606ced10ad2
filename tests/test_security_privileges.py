"""The privilege model: reader < operator < admin, application roles, PUBLIC.

* a parametrised matrix: for each level (reader, operator, admin), an application role
  (SELECT/INSERT/UPDATE/DELETE on a tracked table, no gamification role) and a role with
  nothing, every public function and table/view operation, allowed or refused (42501);
* forging: the application role's writes award trigger badges, but it cannot insert
  awards or ledger rows, nor call _grant, badge_award or the generated trigger function;
* every function in schema gamification (generated ones included): not executable by
  PUBLIC; SECURITY DEFINER ones have search_path pinned;
* a writer's search_path (a shadowing schema, a temp table) does not change what a
  condition reads;
* optional row-level security.

One database per server for the whole module; every matrix operation runs in a
transaction that is rolled back.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from security_snapshot import MAJORS, module_env, run

SETUP = """
CREATE TABLE public.posts (id serial PRIMARY KEY, author int, body text, hit_views int NOT NULL DEFAULT 0);
CREATE TABLE public.admin_posts (id serial PRIMARY KEY, author int);
CREATE TABLE public.locked_tbl (id serial PRIMARY KEY, author int);
SELECT gamification.category_register('{"code": "cat1"}');
SELECT gamification.unlockable_register('{"code": "u1", "name": "U1", "points_required": 5}');
SELECT gamification.badge_register('[
  {"code": "manual1", "name": "Manual one", "points": 10, "category": "cat1"},
  {"code": "manual2", "name": "Manual two", "points": 1},
  {"code": "prog1", "name": "Progress", "points": 3, "target": 5},
  {"code": "poster", "name": "Poster", "points": 7, "condition": "true",
   "trigger_condition": "insert", "trigger_table": "posts", "user_field": "author"},
  {"code": "three_posts", "name": "Three posts", "points": 4, "target": 3,
   "counter": {"table": "posts", "user_field": "author"}},
  {"code": "viewed", "name": "Viewed", "condition": "NEW.hit_views >= 100",
   "trigger_condition": "update", "trigger_table": "posts", "user_field": "author", "update_of": ["hit_views"]}
]');
SELECT gamification.badge_award('u1', 'manual1');
SELECT gamification.badge_award('42', 'manual1');
SELECT gamification.badge_award('43', 'manual2');
SELECT gamification.badge_progress('42', 'prog1', 2);
SELECT gamification.badge_progress('43', 'prog1', 1);
SELECT gamification.award_points('42', 3, 'hello');
SELECT gamification.award_points('43', 4, 'hello');
SELECT gamification.point_type_register('{"code": "xp", "name": "XP"}');
SELECT gamification.level_register('[{"number": 1, "name": "One", "points_required": 0},
                                     {"point_type": "xp", "number": 1, "name": "XP one", "points_required": 10}]');
SELECT gamification.points_award('42', 12, 'hello', 'xp');
SELECT gamification.leaderboard_register('[{"code": "lb_all"}, {"code": "lb_week", "period": "week", "point_type": "xp"}]');
"""

ROLES = {
    # A pool's reader: its sessions may name the user row security shows (gamification_pooler).
    "reader": "GRANT gamification_reader, gamification_pooler TO {r}",
    "operator": "GRANT gamification_operator TO {r}",
    # An admin registers on tables it may trigger on, and reads them (backfill, preview).
    "admin": "GRANT gamification_admin TO {r}; GRANT TRIGGER, SELECT ON public.posts, public.admin_posts, public.hj_posts TO {r}",
    "app": "GRANT SELECT, INSERT, UPDATE, DELETE ON public.posts, public.admin_posts, public.hj_posts TO {r}; "
           "GRANT USAGE ON SEQUENCE public.posts_id_seq, public.admin_posts_id_seq, public.hj_posts_id_seq TO {r}; "
           "GRANT USAGE ON SCHEMA evil TO {r}",
    "nobody": "",
}

HIJACK_SETUP = """
CREATE TABLE public.hj_posts (id serial PRIMARY KEY, author int);
CREATE FUNCTION public.hj_good(int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT false';
CREATE SCHEMA evil;
CREATE TABLE evil.hj_posts (id serial PRIMARY KEY, author int);
INSERT INTO evil.hj_posts (author) SELECT 7 FROM generate_series(1, 5);
INSERT INTO evil.hj_posts (author) SELECT 8 FROM generate_series(1, 5);
GRANT SELECT ON evil.hj_posts TO PUBLIC;
CREATE FUNCTION evil.hj_good(int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
"""


HIJACK_BADGES = """SELECT gamification.badge_register('[
  {"code": "hj_count", "name": "Two posts", "points": 1,
   "condition": "count(*) >= 2 FROM hj_posts WHERE author = NEW.author",
   "trigger_condition": "insert", "trigger_table": "hj_posts", "user_field": "author"},
  {"code": "hj_func", "name": "Good", "points": 1, "condition": "hj_good(NEW.author)",
   "trigger_condition": "insert", "trigger_table": "hj_posts", "user_field": "author"}]')"""


@pytest.fixture(scope="module", params=MAJORS)
def env(request):
    # The hijack badges are registered with search_path = public: their names are resolved
    # then, once, into their predicates.
    setup = SETUP + HIJACK_SETUP + HIJACK_BADGES
    with module_env(request, "sec_priv", ROLES, setup) as env:
        yield env


@pytest.fixture(scope="module")
def conns(env):
    out = {"super": env.connect()}
    for key in ROLES:
        out[key] = env.connect(key, autocommit=False)
    return out


def test_roles_were_granted(env):
    assert not env.setup_errors


# --------------------------------------------------------------------------- the matrix

LEVELS = ["reader", "operator", "admin", "app", "nobody"]
RANK = {"reader": 1, "operator": 2, "admin": 3, "app": 0, "nobody": 0}

VIEWS = ["user_badges", "user_points", "user_progress", "user_unlockables", "badges", "points_history",
         "award_history", "points_ledger", "point_types", "user_points_by_type", "levels", "user_levels",
         "leaderboards"]
# badge_status shows every condition and compiles each one with the viewer's rights, so it
# is for admins only (a contract refinement made while implementing: see README).
ADMIN_VIEWS = ["badge_status"]
TABLES = ["category", "badge", "award", "event", "progress", "points_total",
          "unlockable", "unlock", "badge_rule", "badge_error", "pending", "pending_queue", "user_lock",
          "point_type", "level", "leaderboard", "leaderboard_score", "leaderboard_count", "leaderboard_exclusion"]

PREVIEW_DEF = json.dumps({"code": "pv", "name": "Preview", "condition": "true", "trigger_condition": "insert",
                          "trigger_table": "public.posts", "user_field": "author"})

# (operation id, minimum level, SQL). Level 4 = nobody but the owner (refused to all five).
OPERATIONS: list[tuple[str, int, str]] = []
for v in VIEWS:
    OPERATIONS.append((f"select view {v}", 1, f"SELECT * FROM gamification.{v}"))
for v in ADMIN_VIEWS:
    OPERATIONS.append((f"select view {v}", 3, f"SELECT * FROM gamification.{v}"))
OPERATIONS += [
    ("badges_for(text)", 1, "SELECT * FROM gamification.badges_for('42')"),
    ("badges_for(anyelement)", 1, "SELECT * FROM gamification.badges_for(42)"),
    ("badge_award(text)", 2, "SELECT gamification.badge_award('77', 'manual1')"),
    ("badge_award(anyelement)", 2, "SELECT gamification.badge_award(77, 'manual1')"),
    ("badge_award(uuid)", 2, "SELECT gamification.badge_award('7c9e6679-7425-40de-944b-e07fc1f90ae7'::uuid, 'manual1')"),
    ("badge_revoke(text)", 2, "SELECT gamification.badge_revoke('42', 'manual1')"),
    ("badge_revoke(anyelement)", 2, "SELECT gamification.badge_revoke(42, 'manual1')"),
    ("badge_progress(text)", 2, "SELECT gamification.badge_progress('42', 'prog1')"),
    ("badge_progress(text, step)", 2, "SELECT gamification.badge_progress('42', 'prog1', 3)"),
    ("badge_progress(anyelement)", 2, "SELECT gamification.badge_progress(42, 'prog1', 2)"),
    ("award_points(text)", 2, "SELECT gamification.award_points('42', 5, 'matrix')"),
    ("award_points(anyelement)", 2, "SELECT gamification.award_points(42, 5, 'matrix')"),
    ("reset(text)", 2, "SELECT gamification.reset('42')"),
    ("points_award(text)", 2, "SELECT gamification.points_award('42', 5, 'matrix')"),
    ("points_award(anyelement)", 2, "SELECT gamification.points_award(42, 5, 'matrix')"),
    # Point types (issue 19): awarding in a type is the operators' too.
    ("points_award(text, type)", 2, "SELECT gamification.points_award('42', 5, 'matrix', 'xp')"),
    ("points_award(anyelement, type)", 2, "SELECT gamification.points_award(42, 5, 'matrix', 'xp')"),
    ("award_points(text, type)", 2, "SELECT gamification.award_points('42', 5, 'matrix', 'xp')"),
    ("award_points(anyelement, type)", 2, "SELECT gamification.award_points(42, 5, 'matrix', 'xp')"),
    ("user_reset(text)", 2, "SELECT gamification.user_reset('42')"),
    ("user_reset(anyelement)", 2, "SELECT gamification.user_reset(42)"),
    ("reset(anyelement)", 2, "SELECT gamification.reset(42)"),
    ("user_erase(text)", 2, "SELECT gamification.user_erase('42')"),
    ("user_erase(anyelement)", 2, "SELECT gamification.user_erase(42)"),
    ("data_reset", 3, "SELECT gamification.data_reset()"),
    ("pending_apply", 2, "SELECT gamification.pending_apply()"),
    # Consumers of the event log (core/consumers.sql): application workers, as operators.
    ("consume events", 2, "SELECT gamification.consumer_register('m_c'), "
                          "(SELECT count(*) FROM gamification.events_fetch('m_c', 10)), "
                          "gamification.events_ack('m_c', '1'::xid8, 1)"),
    ("update consumer", 4, "UPDATE gamification.consumer SET after_id = 0"),
    ("consumer_unregister", 2, "SELECT gamification.consumer_unregister('m_gone')"),
    # A reader reads the log with its own rights (row security applies), without a cursor.
    ("events_since", 1, "SELECT count(*) FROM gamification.events_since()"),
    # Retention and renumbering rewrite the log: admins.
    ("events_prune", 3, "SELECT gamification.events_prune('1000 years')"),
    ("events_rebase", 3, "SELECT gamification.events_rebase()"),
    ("history_import", 3, "SELECT gamification.history_import('{}')"),
    ("totals_rebuild", 3, "SELECT gamification.totals_rebuild()"),
    ("badge_register", 3, "SELECT * FROM gamification.badge_register('{\"code\": \"m_new\", \"name\": \"New\"}')"),
    ("badge_register(trigger)", 3, "SELECT * FROM gamification.badge_register('" + PREVIEW_DEF + "')"),
    ("badge_unregister", 3, "SELECT gamification.badge_unregister('manual2')"),
    ("badge_unregister(keep_awards)", 3, "SELECT gamification.badge_unregister('manual2', false)"),
    # A sync that keeps every badge: removing a table's last badge drops its trigger, which
    # PostgreSQL allows only to the table's owner (README, "Security model").
    ("badge_sync(dry_run)", 3, "SELECT * FROM gamification.badge_sync(coalesce((SELECT jsonb_agg(definition) "
                               "FROM gamification.badge WHERE retired_at IS NULL), '[]'), true)"),
    ("badge_preview", 3, "SELECT gamification.badge_preview('" + PREVIEW_DEF + "')"),
    ("unlockable_register", 3,
     "SELECT * FROM gamification.unlockable_register('{\"code\": \"u_new\", \"name\": \"U\", \"points_required\": 1}')"),
    ("category_register", 3, "SELECT * FROM gamification.category_register('{\"code\": \"c_new\"}')"),
    # Point types and levels are definitions: admins.
    ("point_type_register", 3, "SELECT * FROM gamification.point_type_register('{\"code\": \"coins\"}')"),
    ("level_register", 3, "SELECT * FROM gamification.level_register("
                          "'{\"point_type\": \"xp\", \"number\": 2, \"name\": \"Two\", \"points_required\": 11}')"),
    ("level_unregister", 3, "SELECT gamification.level_unregister('xp', 1)"),
    # Leaderboards: reading is the readers' (a ranking shows every ranked user), excluding
    # users the operators', definitions and verification the admins'.
    ("leaderboard_top", 1, "SELECT * FROM gamification.leaderboard_top('lb_all', 10, 0)"),
    ("leaderboard_top(past)", 1, "SELECT * FROM gamification.leaderboard_top('lb_week', 10, 0, now() - interval '1 week')"),
    ("leaderboard_rank(text)", 1, "SELECT * FROM gamification.leaderboard_rank('lb_all', '42', 2)"),
    ("leaderboard_rank(anyelement)", 1, "SELECT * FROM gamification.leaderboard_rank('lb_all', 42, 2)"),
    ("leaderboard_periods", 1, "SELECT * FROM gamification.leaderboard_periods('lb_week')"),
    ("leaderboard_exclude(text)", 2, "SELECT gamification.leaderboard_exclude('lb_all', '42')"),
    ("leaderboard_exclude(anyelement)", 2, "SELECT gamification.leaderboard_exclude('lb_all', 42, false)"),
    ("leaderboard_register", 3, "SELECT * FROM gamification.leaderboard_register('{\"code\": \"lb_new\", \"period\": \"day\"}')"),
    ("leaderboard_unregister", 3, "SELECT gamification.leaderboard_unregister('lb_week')"),
    ("leaderboard_verify", 3, "SELECT count(*) FROM gamification.leaderboard_verify()"),
    ("leaderboard_verify(repair)", 3, "SELECT count(*) FROM gamification.leaderboard_verify(true)"),
    ("leaderboard_compact", 3, "SELECT gamification.leaderboard_compact()"),
    ("insert leaderboard", 4, "INSERT INTO gamification.leaderboard (code, name, point_type, period, definition) "
                              "VALUES ('zz', 'zz', 'points', 'all', '{}')"),
    ("update leaderboard_score", 4, "UPDATE gamification.leaderboard_score SET score = 1000000"),
    # The score ranges' counts: inflating one would move every rank below it.
    ("insert leaderboard_count", 4, "INSERT INTO gamification.leaderboard_count VALUES ('lb_all', '-infinity', 7000, 1000)"),
    ("delete leaderboard_count", 4, "DELETE FROM gamification.leaderboard_count"),
    ("select leaderboard_count", 3, "SELECT count(*) FROM gamification.leaderboard_count"),
    ("insert leaderboard_exclusion", 4, "INSERT INTO gamification.leaderboard_exclusion (leaderboard, user_id) "
                                        "VALUES ('lb_all', 'zz')"),
    ("category_delete", 3, "SELECT gamification.category_delete('cat1')"),
    ("triggers_sync", 3, "SELECT * FROM gamification.triggers_sync()"),
    ("row_security(true)", 3, "SELECT gamification.row_security(true)"),
    ("row_security(false)", 3, "SELECT gamification.row_security(false)"),
    # Direct writes to the extension's tables: nobody but the extension's owner (admins
    # change definitions through the API only).
    ("insert category", 4, "INSERT INTO gamification.category (code, name) VALUES ('zz', 'zz')"),
    ("update category", 4, "UPDATE gamification.category SET name = 'renamed'"),
    ("delete category", 4, "DELETE FROM gamification.category"),
    ("insert badge", 4, "INSERT INTO gamification.badge (code, name, definition) VALUES ('zz', 'zz', '{}')"),
    ("update badge", 4, "UPDATE gamification.badge SET description = 'changed'"),
    ("insert award", 4, "INSERT INTO gamification.award (user_id, badge_code) VALUES ('zz', 'manual2')"),
    ("delete award", 4, "DELETE FROM gamification.award"),
    ("insert progress", 4, "INSERT INTO gamification.progress (user_id, badge_code, progress) VALUES ('zz', 'prog1', 1)"),
    ("update progress", 4, "UPDATE gamification.progress SET progress = 4"),
    # Staged and queued steps (core/pending.sql): only the runner writes them.
    ("insert pending", 4, "INSERT INTO gamification.pending (users, codes, steps) VALUES ('{zz}', '{prog1}', '{100}')"),
    ("insert pending_queue", 4,
     "INSERT INTO gamification.pending_queue (user_id, badge_code, steps, at) VALUES ('zz', 'prog1', 100, now())"),
    ("lock a user", 4, "SELECT 1 FROM gamification.user_lock FOR NO KEY UPDATE"),
    ("insert event", 4,
     "INSERT INTO gamification.event (user_id, kind, points, reason) VALUES ('zz', 'points_changed', 1, 'direct')"),
    ("insert badge event", 4,
     "INSERT INTO gamification.event (user_id, kind, subject) VALUES ('zz', 'badge_awarded', 'manual2')"),
    ("insert unlockable", 4,
     "INSERT INTO gamification.unlockable (code, name, points_required) VALUES ('zz', 'zz', 1)"),
    ("delete unlockable", 4, "DELETE FROM gamification.unlockable"),
    ("insert point_type", 4, "INSERT INTO gamification.point_type (code, name) VALUES ('zz', 'zz')"),
    ("insert level", 4, "INSERT INTO gamification.level (point_type, number, name, points_required, definition) "
                        "VALUES ('xp', 9, 'zz', 1000, '{}')"),
    ("update level", 4, "UPDATE gamification.level SET points_required = 0"),
    ("update points_total", 4, "UPDATE gamification.points_total SET points = 1000000 WHERE point_type = 'xp'"),
]
# Reading the tables directly is not part of any level's contract except through views;
# roles without a gamification role must be refused everything.
NO_ROLE_ONLY = [(f"select table {t}", f"SELECT * FROM gamification.{t}") for t in TABLES] + [
    ("call _qualified", "SELECT gamification._qualified('public.posts'::regclass)"),
    ("call _grant", "SELECT gamification._grant('manual1', ARRAY['zz'], 'manual')"),
    ("call _revoke", "SELECT gamification._revoke('manual1', ARRAY['42'], 'revoke')"),
    ("call _count", "SELECT gamification._count('prog1', ARRAY['zz'], ARRAY[10::bigint])"),
    ("call _raise", "SELECT gamification._raise('22023', 'x', 'y')"),
    ("call _badge_register", "SELECT * FROM gamification._badge_register('{\"code\": \"zz\", \"name\": \"zz\"}', 'public')"),
]
# Append-only tables: UPDATE/DELETE refused to everyone (55000 only for the extension's owner).
APPEND_ONLY = [
    ("update event", "UPDATE gamification.event SET points = 100"),
    ("delete event", "DELETE FROM gamification.event"),
    ("truncate event", "TRUNCATE gamification.event"),
]

MATRIX = []
for level in LEVELS:
    for op, minimum, query in OPERATIONS:
        MATRIX.append(pytest.param(level, query, "allowed" if RANK[level] >= minimum else "42501",
                                   id=f"{level}-{op}"))
    for op, query in APPEND_ONLY:
        MATRIX.append(pytest.param(level, query, "42501", id=f"{level}-{op}"))
    if RANK[level] == 0:
        for op, query in NO_ROLE_ONLY:
            MATRIX.append(pytest.param(level, query, "42501", id=f"{level}-{op}"))


@pytest.mark.parametrize("level, query, expected", MATRIX)
def test_privilege_matrix(env, conns, level, query, expected):
    conn = conns[level]
    failure = run(conn, query)
    conn.rollback()
    if expected == "allowed":
        assert failure is None, f"{level} was refused: {failure}"
    else:
        assert failure is not None, f"{level} was allowed, expected {expected}"
        assert failure.sqlstate == expected, f"{level}: {failure}"


def test_matrix_levels_via_set_role(env, conns):
    """The same levels through SET ROLE from a login role that is a member (admin can
    become operator and reader, and each level's limits hold after SET ROLE)."""
    conn = conns["admin"]
    try:
        conn.execute("SET ROLE gamification_reader")
        assert run(conn, "SELECT count(*) FROM gamification.user_badges") is None
        conn.rollback()
        conn.execute("SET ROLE gamification_reader")
        f = run(conn, "SELECT gamification.badge_award('77', 'manual1')")
        assert f is not None and f.sqlstate == "42501", f
        conn.execute("SET ROLE gamification_operator")
        assert run(conn, "SELECT gamification.badge_award('77', 'manual1')") is None
        conn.rollback()
        conn.execute("SET ROLE gamification_operator")
        f = run(conn, "SELECT * FROM gamification.category_register('{\"code\": \"c_x\"}')")
        assert f is not None and f.sqlstate == "42501", f
    finally:
        conn.rollback()
        conn.execute("RESET ROLE")
        conn.commit()


def test_data_reset_tells_an_operator_it_is_for_admins(env, conns):
    """data_reset() empties every user's data: an operator is refused with a hint that
    names the grant, and nothing is deleted."""
    failure = run(conns["operator"], "SELECT gamification.data_reset()")
    conns["operator"].rollback()
    assert failure is not None and failure.sqlstate == "42501", failure
    assert "is not a member of gamification_admin" in failure.message, failure
    assert "GRANT gamification_admin TO" in (failure.hint or ""), failure
    assert conns["super"].execute("SELECT count(*) FROM gamification.award").fetchone()[0] > 0


# --------------------------------------------------------------------------- forging

def _holds(conn, user, code):
    return conn.execute("SELECT count(*) FROM gamification.award WHERE user_id = %s AND badge_code = %s",
                        (str(user), code)).fetchone()[0] == 1


def _generated_function(conn, table, event="insert"):
    row = conn.execute(
        """SELECT p.oid::regprocedure::text FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
            WHERE t.tgrelid = %s::regclass AND t.tgname = %s""",
        (table, f"gamification_on_{event}")).fetchone()
    assert row, f"no gamification_on_{event} trigger on {table}"
    return row[0]


def test_application_writes_award_trigger_badges(env, conns):
    app, su = conns["app"], conns["super"]
    try:
        assert run(app, "INSERT INTO public.posts (author) VALUES (501), (501), (501)") is None
        app.commit()
        assert _holds(su, 501, "poster") and _holds(su, 501, "three_posts")
        assert run(app, "UPDATE public.posts SET hit_views = 150 WHERE author = 501") is None
        app.commit()
        assert _holds(su, 501, "viewed")
        assert run(app, "DELETE FROM public.posts WHERE author = 501") is None
        app.commit()
        total = su.execute("SELECT points FROM gamification.points_total WHERE user_id = '501'").fetchone()
        assert total == (7 + 4 + 0,)
    finally:
        app.rollback()


def test_badges_registered_by_admin_role_award_application_writes(env, conns):
    """A registrant that is only a member of gamification_admin (with TRIGGER on its table):
    the generated function is SECURITY DEFINER, owned by gamification_runner (never by the
    registrant), and awards the application's writes."""
    admin, app, su = conns["admin"], conns["app"], conns["super"]
    definition = json.dumps({"code": "admin_poster", "name": "Admin poster", "points": 2, "condition": "true",
                             "trigger_condition": "insert", "trigger_table": "public.admin_posts",
                             "user_field": "author"})
    failure = run(admin, "SELECT * FROM gamification.badge_register(%s::jsonb)", (definition,))
    assert failure is None, f"admin could not register a trigger badge on a table it has TRIGGER on: {failure}"
    admin.commit()
    function = _generated_function(su, "public.admin_posts")
    owner, secdef = su.execute("SELECT pg_get_userbyid(proowner), prosecdef FROM pg_proc WHERE oid = %s::regprocedure",
                               (function,)).fetchone()
    assert secdef, f"{function} is not SECURITY DEFINER"
    assert owner == "gamification_runner", f"{function} is owned by {owner}, not by gamification_runner"
    try:
        assert run(app, "INSERT INTO public.admin_posts (author) VALUES (601)") is None
        app.commit()
        assert _holds(su, 601, "admin_poster")
    finally:
        app.rollback()


FORGERIES = [
    ("insert award", "INSERT INTO gamification.award (user_id, badge_code) VALUES ('666', 'manual1')"),
    ("stage a step", "SELECT gamification._stage(ARRAY['manual1'], ARRAY['666'], NULL)"),
    ("queue a step", "INSERT INTO gamification.pending_queue (user_id, badge_code, at) VALUES ('666', 'manual1', now())"),
    ("apply the queue", "SELECT gamification.pending_apply()"),
    ("read the log as a consumer", "SELECT * FROM gamification.events_fetch('app', 10)"),
    ("move a consumer's cursor", "SELECT gamification.events_ack('app', '1'::xid8, 1)"),
    ("insert event", "INSERT INTO gamification.event (user_id, kind, points, reason) VALUES ('666', 'points_changed', 1000000, 'forged')"),
    ("insert badge event", "INSERT INTO gamification.event (user_id, kind, subject, points) VALUES ('666', 'badge_awarded', 'manual1', 10)"),
    ("upsert points_total", "INSERT INTO gamification.points_total (user_id, points) VALUES ('666', 1000000)"),
    ("insert progress", "INSERT INTO gamification.progress (user_id, badge_code, progress) VALUES ('666', 'prog1', 5)"),
    ("call _grant", "SELECT gamification._grant('manual1', ARRAY['666'], 'manual')"),
    ("call _count", "SELECT gamification._count('prog1', ARRAY['666'], ARRAY[100::bigint])"),
    ("call badge_award", "SELECT gamification.badge_award('666', 'manual1')"),
    ("call badge_award anyelement", "SELECT gamification.badge_award(666, 'manual1')"),
    ("call badge_progress", "SELECT gamification.badge_progress('666', 'prog1', 100)"),
    ("call award_points", "SELECT gamification.award_points('666', 1000000, 'forged')"),
    ("set role admin", "SET ROLE gamification_admin"),
    ("set role operator", "SET ROLE gamification_operator"),
]


@pytest.mark.parametrize("query", [q for _, q in FORGERIES], ids=[i for i, _ in FORGERIES])
def test_application_role_cannot_forge(env, conns, query):
    app, su = conns["app"], conns["super"]
    failure = run(app, query)
    app.rollback()
    assert failure is not None and failure.sqlstate == "42501", f"forgery not refused with 42501: {failure}"
    assert not _holds(su, 666, "manual1")


@pytest.mark.parametrize("table, event", [("public.posts", "insert"), ("public.posts", "update_of"),
                                          ("public.hj_posts", "insert")])
def test_application_role_cannot_call_generated_trigger_function(env, conns, table, event):
    app, su = conns["app"], conns["super"]
    function = _generated_function(su, table, event)
    name = function.split("(")[0]
    failure = run(app, f"SELECT {name}()")
    app.rollback()
    assert failure is not None and failure.sqlstate == "42501", f"{function}: {failure}"
    assert su.execute("SELECT has_function_privilege(%s, %s::regprocedure, 'EXECUTE')",
                      (env.role("app"), function)).fetchone()[0] is False


# --------------------------------------------------------------------------- every function

FUNCTIONS = """
    SELECT p.oid, p.oid::regprocedure::text AS signature, p.prosecdef, p.proconfig,
           has_function_privilege('public', p.oid, 'EXECUTE') AS public_exec,
           EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                    WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE') AS acl_public
      FROM pg_proc p WHERE p.pronamespace = 'gamification'::regnamespace ORDER BY 2"""


def _functions(conn):
    rows = conn.execute(FUNCTIONS).fetchall()
    generated = [r for r in rows if r[1].startswith("gamification.trg_")]
    assert len(generated) >= 3, "expected generated trigger functions (insert, update, update_of) to be checked too"
    return rows


def test_no_function_is_executable_by_public(env, conns):
    rows = _functions(conns["super"])
    offenders = [sig for _, sig, _, _, public_exec, acl_public in rows if public_exec or acl_public]
    assert not offenders, f"executable by PUBLIC: {offenders}"


@pytest.mark.parametrize("level", ["app", "nobody"])
def test_roles_without_membership_execute_nothing(env, conns, level):
    su = conns["super"]
    rows = su.execute("""SELECT p.oid::regprocedure::text FROM pg_proc p
                          WHERE p.pronamespace = 'gamification'::regnamespace
                            AND has_function_privilege(%s, p.oid, 'EXECUTE') ORDER BY 1""",
                      (env.role(level),)).fetchall()
    assert not rows, f"{level} may execute {[r[0] for r in rows]}"


def test_security_definer_functions_pin_search_path(env, conns):
    rows = _functions(conns["super"])
    definers = [r for r in rows if r[2]]
    assert definers, "no SECURITY DEFINER function at all"
    unpinned = [sig for _, sig, secdef, config, *_ in definers
                if not any(c.startswith("search_path=") for c in (config or []))]
    assert not unpinned, f"SECURITY DEFINER without a pinned search_path: {unpinned}"


def test_security_definer_search_paths_put_pg_temp_last(env, conns):
    """pg_temp is searched first unless it is named: a pinned search_path must name it,
    last (PostgreSQL's advice for SECURITY DEFINER functions)."""
    rows = _functions(conns["super"])
    bad = []
    for _, sig, secdef, config, *_ in rows:
        if not secdef:
            continue
        path = next((c[len("search_path="):] for c in (config or []) if c.startswith("search_path=")), "")
        parts = [p.strip().strip('"') for p in path.split(",")]
        if parts[-1] != "pg_temp":
            bad.append((sig, path))
    assert not bad, f"pinned search_path without pg_temp last: {bad}"


@pytest.mark.parametrize("name", ["badge_award", "badge_revoke", "badge_progress", "award_points", "reset"])
def test_operator_functions_are_security_definer(env, conns, name):
    rows = conns["super"].execute(
        """SELECT p.oid::regprocedure::text, p.prosecdef, p.proconfig FROM pg_proc p
            WHERE p.pronamespace = 'gamification'::regnamespace AND p.proname = %s""", (name,)).fetchall()
    assert len(rows) >= 2, f"expected the text and anyelement overloads of {name}"
    for sig, secdef, config in rows:
        assert secdef, f"{sig} is not SECURITY DEFINER"
        assert any(c.startswith("search_path=") for c in (config or [])), f"{sig}: search_path not pinned"


def test_generated_trigger_functions_are_security_definer(env, conns):
    rows = conns["super"].execute(
        """SELECT p.oid::regprocedure::text, p.prosecdef, p.proconfig FROM pg_proc p
            WHERE p.pronamespace = 'gamification'::regnamespace AND p.proname LIKE 'trg\\_%'""").fetchall()
    assert len(rows) >= 3
    for sig, secdef, config in rows:
        assert secdef and any(c.startswith("search_path=") for c in (config or [])), sig


def test_schema_and_relations_grant_nothing_to_public(env, conns):
    su = conns["super"]
    assert su.execute("SELECT has_schema_privilege('public', 'gamification', 'USAGE')").fetchone()[0] is False
    rows = su.execute("""
        SELECT c.relname, a.privilege_type
          FROM pg_class c CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
         WHERE c.relnamespace = 'gamification'::regnamespace AND a.grantee = 0""").fetchall()
    assert not rows, f"PUBLIC has privileges on {rows}"


# --------------------------------------------------------------------------- search_path hijack

@pytest.mark.parametrize("attack", ["shadow schema", "temp table"])
def test_writer_search_path_does_not_change_what_a_condition_reads(env, conns, attack):
    app, su = conns["app"], conns["super"]
    user = 7 if attack == "shadow schema" else 8
    try:
        if attack == "shadow schema":
            app.execute("SET search_path = evil, public")
        else:
            app.execute("CREATE TEMP TABLE hj_posts (id serial, author int)")
            app.execute("INSERT INTO hj_posts (author) SELECT 8 FROM generate_series(1, 5)")
            app.execute("SET search_path = pg_temp, evil, public")
        app.execute("INSERT INTO public.hj_posts (author) VALUES (%s)", (user,))
        app.commit()
        assert not _holds(su, user, "hj_count"), "the condition read the writer's hj_posts, not public.hj_posts"
        assert not _holds(su, user, "hj_func"), "the condition called the writer's hj_good(), not public.hj_good()"
        app.execute("INSERT INTO public.hj_posts (author) VALUES (%s)", (user,))
        app.commit()
        assert _holds(su, user, "hj_count"), "two rows in public.hj_posts must award hj_count"
        assert not _holds(su, user, "hj_func")
        assert su.execute("SELECT count(*) FROM gamification.badge_error WHERE badge_code LIKE 'hj\\_%'"
                          ).fetchone()[0] == 0
    finally:
        app.rollback()
        app.execute("RESET search_path")
        app.execute("DISCARD TEMP")
        app.commit()


# --------------------------------------------------------------------------- row security

USER_VIEWS = ["user_badges", "user_points", "user_progress", "user_unlockables", "points_history",
              "user_points_by_type", "user_levels"]


def _seen(conn, view, user_setting=None):
    try:
        if user_setting is not None:
            conn.execute(f"SET gamification.user_id = '{user_setting}'")
        rows = conn.execute(f"SELECT DISTINCT user_id FROM gamification.{view}").fetchall()
        return sorted(r[0] for r in rows)
    finally:
        conn.rollback()
        conn.execute("RESET gamification.user_id")
        conn.commit()


def test_row_security(env, conns):
    su, reader, operator, admin = conns["super"], conns["reader"], conns["operator"], conns["admin"]
    everyone = {v: sorted(r[0] for r in su.execute(f"SELECT DISTINCT user_id FROM gamification.{v}"))
                for v in USER_VIEWS}
    for v in USER_VIEWS:
        assert {"42", "43"} <= set(everyone[v]), (v, everyone[v])
    catalogue = su.execute("SELECT count(*) FROM gamification.badges").fetchone()[0]

    # Off by default: readers see every row.
    for v in USER_VIEWS:
        assert _seen(reader, v) == everyone[v], v
        assert _seen(reader, v, "42") == everyone[v], v

    failure = run(admin, "SELECT gamification.row_security(true)")
    assert failure is None, failure
    admin.commit()
    try:
        for v in USER_VIEWS:
            assert _seen(reader, v, "42") == ["42"], v
            assert _seen(reader, v, "43") == ["43"], v
            assert _seen(reader, v) == [], v          # no gamification.user_id: nothing
            assert _seen(operator, v, "42") == everyone[v], v
            assert _seen(admin, v, "42") == everyone[v], v
        # The catalogue has no user rows: unaffected.
        reader.execute("SET gamification.user_id = '42'")
        assert reader.execute("SELECT count(*) FROM gamification.badges").fetchone()[0] == catalogue
        reader.rollback()
        # Readers still cannot write, whatever they set.
        failure = run(reader, "SELECT gamification.award_points('42', 5, 'x')")
        assert failure is not None and failure.sqlstate == "42501"
    finally:
        run(admin, "SELECT gamification.row_security(false)")
        admin.commit()
    for v in USER_VIEWS:
        assert _seen(reader, v, "42") == everyone[v], v


def test_row_security_toggle_is_admin_only(env, conns):
    for level in ["reader", "operator", "app", "nobody"]:
        failure = run(conns[level], "SELECT gamification.row_security(true)")
        conns[level].rollback()
        assert failure is not None and failure.sqlstate == "42501", (level, failure)
