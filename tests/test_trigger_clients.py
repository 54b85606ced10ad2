"""Trigger badges seen from real clients (psycopg 3): every way an application
writes awards, in the transaction of the write; concurrent writers for the same
user award once; a writer role without any privilege on schema gamification
still awards.
"""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest
from psycopg import sql

SKETCH = "CREATE TABLE public.sketch (id serial PRIMARY KEY, user_id int, hit_views int NOT NULL DEFAULT 0)"
BADGES = """SELECT gamification.badge_register('[
  {"code": "sketcher", "name": "Sketcher", "points": 10, "condition": "true",
   "trigger_condition": "insert", "trigger_table": "sketch", "user_field": "user_id"},
  {"code": "star", "name": "Star", "points": 20, "condition": "NEW.hit_views >= 1000",
   "trigger_condition": "update", "trigger_table": "sketch", "user_field": "user_id"},
  {"code": "quitter", "name": "Quitter", "points": 1, "condition": "true",
   "trigger_condition": "delete", "trigger_table": "sketch", "user_field": "user_id"},
  {"code": "three", "name": "Three", "points": 5, "target": 3,
   "counter": {"table": "sketch", "user_field": "user_id"}}]')"""


@pytest.fixture
def db(dsn):
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute(SKETCH)
    conn.execute(BADGES)
    yield conn
    conn.close()


def holders(conn, code):
    return [r[0] for r in conn.execute(
        "SELECT user_id FROM gamification.user_badges WHERE code = %s ORDER BY user_id::int", (code,))]


def points(conn, user):
    row = conn.execute("SELECT points FROM gamification.user_points WHERE user_id = %s", (str(user),)).fetchone()
    return row[0] if row else None


def awards(conn, user, code):
    """How many times the badge was awarded to the user (history), whatever happened since."""
    return conn.execute(
        "SELECT count(*) FROM gamification.award_history WHERE user_id = %s AND badge_code = %s AND action = 'award'",
        (str(user), code)).fetchone()[0]


def test_awards_are_applied_at_commit(db, dsn):
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO sketch (user_id) VALUES (%s)", (1,))
        # Found by the write, staged, applied when the transaction commits.
        assert conn.execute("SELECT count(*) FROM gamification.user_badges WHERE user_id = '1'").fetchone()[0] == 0
        # One staged row for the statement, with its two steps for user 1.
        assert conn.execute("SELECT count(*) FROM gamification.pending p, unnest(p.users) u WHERE u = '1'"
                            ).fetchone()[0] == 2
    assert holders(db, "sketcher") == ["1"]
    assert db.execute("SELECT count(*) FROM gamification.pending").fetchone()[0] == 0


def test_execute_with_parameters_awards(db, dsn):
    with psycopg.connect(dsn) as conn:
        # Applied at the end of each statement instead of at commit (README, "Concurrency").
        conn.execute("SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE")
        conn.execute("INSERT INTO sketch (user_id) VALUES (%s)", (1,))
        # Visible inside the writer's own transaction, before commit.
        assert conn.execute(
            "SELECT count(*) FROM gamification.user_badges WHERE user_id = '1' AND code = 'sketcher'"
        ).fetchone()[0] == 1
        assert holders(db, "sketcher") == []  # not committed yet
    assert holders(db, "sketcher") == ["1"]
    assert points(db, 1) == 10


def test_rolled_back_write_awards_nothing(db, dsn):
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO sketch (user_id) VALUES (%s), (%s), (%s)", (2, 2, 2))
        conn.rollback()
    assert holders(db, "sketcher") == []
    assert db.execute("SELECT count(*) FROM gamification.user_progress").fetchone()[0] == 0
    assert points(db, 2) is None


def test_executemany_awards_each_user_once(db, dsn):
    with psycopg.connect(dsn) as conn:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO sketch (user_id, hit_views) VALUES (%s, %s)",
                            [(u, 0) for u in range(1, 21) for _ in range(3)])
    assert holders(db, "sketcher") == [str(u) for u in range(1, 21)]
    assert holders(db, "three") == [str(u) for u in range(1, 21)]
    assert awards(db, 7, "sketcher") == 1 and awards(db, 7, "three") == 1
    assert points(db, 7) == 15
    assert db.execute(
        "SELECT progress FROM gamification.user_progress WHERE user_id = '7' AND code = 'three'").fetchone()[0] == 3


def test_copy_from_stdin_awards(db, dsn):
    with psycopg.connect(dsn) as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY sketch (user_id, hit_views) FROM STDIN") as copy:
                for u in range(1, 101):
                    for _ in range(u % 4):  # users with u % 4 == 0 write nothing
                        copy.write_row((u, 5))
                copy.write_row((None, 5))
    expected = [str(u) for u in range(1, 101) if u % 4]
    assert holders(db, "sketcher") == expected
    assert holders(db, "three") == [str(u) for u in range(1, 101) if u % 4 == 3]
    assert db.execute(
        "SELECT count(*) FROM gamification.award_history WHERE badge_code = 'sketcher'").fetchone()[0] == len(expected)


def test_bulk_insert_select_update_and_delete_award(db, dsn):
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO sketch (user_id) SELECT 1 + g % 50 FROM generate_series(0, 499) g")
    assert len(holders(db, "sketcher")) == 50
    assert len(holders(db, "three")) == 50
    with psycopg.connect(dsn) as conn:
        cur = conn.execute("UPDATE sketch SET hit_views = 1000 WHERE user_id % 2 = 0")
        assert cur.rowcount == 250
    assert holders(db, "star") == [str(u) for u in range(2, 51, 2)]
    with psycopg.connect(dsn) as conn:
        cur = conn.execute("DELETE FROM sketch WHERE user_id <= 10")
        assert cur.rowcount == 100
    assert holders(db, "quitter") == [str(u) for u in range(1, 11)]
    assert points(db, 2) == 10 + 5 + 20 + 1
    assert db.execute(
        "SELECT count(*) FROM gamification.points_total t WHERE t.points <> "
        "(SELECT sum(amount) FROM gamification.points_ledger l WHERE l.user_id = t.user_id)").fetchone()[0] == 0


# --- concurrent writers ------------------------------------------------------

def _wait_until_blocked(monitor, pid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = monitor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
        if row and row[0] == "Lock":
            return
        time.sleep(0.02)
    raise AssertionError(f"backend {pid} never blocked on a lock")


def _wait_until_blocked_or_done(monitor, pid, thread, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and thread.is_alive():
        row = monitor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
        if row and row[0] == "Lock":
            return
        time.sleep(0.02)


def _interleave(dsn, monitor, statement, params_a, params_b):
    """A writes in an open transaction; B writes the same and commits (its awards are
    applied at its commit: it does not wait for A's uncommitted badge state, but it may
    wait for A's own row locks, which are the application's); A commits. Both must
    succeed."""
    a = psycopg.connect(dsn)
    b = psycopg.connect(dsn)
    try:
        a.execute(statement, params_a)
        b_pid = b.info.backend_pid
        result: dict = {}

        def session_b():
            try:
                b.execute(statement, params_b)
                b.commit()
                result["ok"] = True
            except BaseException as exc:  # re-raised in the main thread
                result["error"] = exc

        thread = threading.Thread(target=session_b)
        thread.start()
        try:
            _wait_until_blocked_or_done(monitor, b_pid, thread)
        finally:
            a.commit()
            thread.join(timeout=30)
        assert not thread.is_alive(), "writer B never finished"
        if "error" in result:
            raise result["error"]
    finally:
        a.close()
        b.close()


def test_two_concurrent_writers_same_user_condition_badge_awarded_once(db, dsn):
    monitor = db
    _interleave(dsn, monitor, "INSERT INTO sketch (user_id) VALUES (%s)", (42,), (42,))
    assert db.execute("SELECT count(*) FROM sketch WHERE user_id = 42").fetchone()[0] == 2, "both writes committed"
    assert holders(db, "sketcher") == ["42"]
    assert awards(db, 42, "sketcher") == 1
    assert db.execute(
        "SELECT count(*) FROM gamification.points_ledger WHERE user_id = '42' AND badge_code = 'sketcher'").fetchone()[0] == 1
    assert points(db, 42) == 10


def test_two_concurrent_writers_same_user_update_badge_awarded_once(db, dsn):
    db.execute("INSERT INTO sketch (id, user_id) VALUES (1001, 43), (1002, 43)")
    _interleave(dsn, db, "UPDATE sketch SET hit_views = 1000 WHERE id = %s", (1001,), (1002,))
    assert db.execute("SELECT count(*) FROM sketch WHERE user_id = 43 AND hit_views = 1000").fetchone()[0] == 2
    assert holders(db, "star") == ["43"]
    assert awards(db, 43, "star") == 1
    assert points(db, 43) == 10 + 20


def test_two_concurrent_writers_counter_crossing_target_awarded_once(db, dsn):
    # Each writer alone would take user 44 from 0 to 3 (the target).
    _interleave(dsn, db, "INSERT INTO sketch (user_id) VALUES (%s), (%s), (%s)", (44, 44, 44), (44, 44, 44))
    assert db.execute("SELECT count(*) FROM sketch WHERE user_id = 44").fetchone()[0] == 6
    assert db.execute(
        "SELECT progress FROM gamification.user_progress WHERE user_id = '44' AND code = 'three'").fetchone()[0] == 6
    assert awards(db, 44, "three") == 1
    assert points(db, 44) == 10 + 5


def test_two_concurrent_writers_counter_crossing_together(db, dsn):
    # 2 rows committed; each writer adds 1: the second one crosses the target.
    db.execute("INSERT INTO sketch (user_id) VALUES (45)")
    _interleave(dsn, db, "INSERT INTO sketch (user_id) VALUES (%s)", (45,), (45,))
    assert db.execute(
        "SELECT progress FROM gamification.user_progress WHERE user_id = '45' AND code = 'three'").fetchone()[0] == 3
    assert holders(db, "three") == ["45"]
    assert awards(db, 45, "three") == 1


# --- a writer without privileges on schema gamification ------------------------

@pytest.fixture
def app_role(db, dsn):
    role = f"app_{uuid.uuid4().hex[:8]}"
    ident = sql.Identifier(role)
    db.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
    db.execute(sql.SQL("GRANT INSERT, SELECT, UPDATE, DELETE ON public.sketch TO {}").format(ident))
    db.execute(sql.SQL("GRANT USAGE ON SEQUENCE public.sketch_id_seq TO {}").format(ident))
    db.execute(sql.SQL("REVOKE ALL ON SCHEMA gamification FROM PUBLIC"))
    yield role
    db.execute(sql.SQL("DROP OWNED BY {}").format(ident))
    db.execute(sql.SQL("DROP ROLE {}").format(ident))


def test_writer_role_without_gamification_privileges_awards(db, dsn, app_role):
    app_dsn = psycopg.conninfo.make_conninfo(dsn, user=app_role)
    with psycopg.connect(app_dsn) as conn:
        assert conn.execute(
            "SELECT has_schema_privilege('gamification', 'USAGE')").fetchone()[0] is False
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM gamification.award")
        conn.rollback()
        conn.execute("INSERT INTO sketch (user_id) VALUES (%s), (%s), (%s)", (50, 50, 50))
        conn.execute("UPDATE sketch SET hit_views = 1000 WHERE user_id = 50")
        conn.execute("DELETE FROM sketch WHERE id = (SELECT min(id) FROM sketch WHERE user_id = 50)")
    assert sorted(r[0] for r in db.execute(
        "SELECT code FROM gamification.user_badges WHERE user_id = '50'")) == ["quitter", "sketcher", "star", "three"]
    assert points(db, 50) == 10 + 20 + 1 + 5


def test_set_role_writer_awards(db, dsn, app_role):
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(app_role)))
        conn.execute("INSERT INTO sketch (user_id) VALUES (%s)", (51,))
    assert holders(db, "sketcher") == ["51"]
