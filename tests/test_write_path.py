"""The write path under concurrency (issue 17): no new lock dependency between the
application's transactions, no lost step.

Awards and counter steps found inside a write are staged and applied at commit, every
user locked in one global order (core/pending.sql). Each test runs several real sessions
for a few seconds and counts deadlocks (40P01) and errors; the totals must be exact.
"""

from __future__ import annotations

import random
import threading
import time

import psycopg
import pytest

SECONDS = 3.0
SETUP = [
    "CREATE TABLE public.post (id bigserial PRIMARY KEY, author int NOT NULL)",
    """SELECT gamification.badge_register('[
      {"code": "poster", "name": "Poster", "points": 3, "condition": "true",
       "trigger_condition": "insert", "trigger_table": "post", "user_field": "author"},
      {"code": "prolific", "name": "Prolific", "points": 5, "target": 1000000,
       "counter": {"table": "post", "user_field": "author"}},
      {"code": "ten", "name": "Ten", "points": 7, "target": 10,
       "counter": {"table": "post", "user_field": "author"}}]')""",
]
USERS = [1, 2, 3, 4]  # few and hot: the case that deadlocked (write-path.md)


@pytest.fixture
def db(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in SETUP:
            conn.execute(statement)
        yield conn


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.errors: list[str] = []

    def add(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n

    def error(self, exc: BaseException) -> None:
        with self.lock:
            self.errors.append(f"{type(exc).__name__}: {exc}")


def run_sessions(dsn, workers, seconds=SECONDS):
    """Run each worker(conn, tally, rng) in a loop in its own session until the time is up."""
    tally = Tally()
    stop = time.monotonic() + seconds

    def loop(worker, seed):
        rng = random.Random(seed)
        with psycopg.connect(dsn) as conn:
            while time.monotonic() < stop:
                try:
                    worker(conn, tally, rng)
                except psycopg.errors.DeadlockDetected as exc:
                    conn.rollback()
                    tally.add("deadlocks")
                    tally.error(exc)
                except psycopg.Error as exc:
                    conn.rollback()
                    tally.error(exc)

    threads = [threading.Thread(target=loop, args=(w, i)) for i, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally


def two_users(conn, tally, rng):
    u, v = rng.sample(USERS, 2)
    conn.execute("INSERT INTO post (author) VALUES (%s)", (u,))
    conn.execute("INSERT INTO post (author) VALUES (%s)", (v,))
    conn.commit()
    tally.add("transactions")


def assert_exact(db):
    # Every committed row counted once, every crossing awarded once, totals = ledger.
    rows = dict(db.execute("SELECT author::text, count(*) FROM post GROUP BY 1").fetchall())
    progress = dict(db.execute("SELECT user_id, progress FROM gamification.progress WHERE badge_code = 'prolific'").fetchall())
    assert progress == rows
    assert db.execute("SELECT count(*) FROM gamification.pending").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM gamification.pending_queue").fetchone()[0] == 0
    for code in ("poster", "ten"):
        held = {r[0] for r in db.execute("SELECT user_id FROM gamification.award WHERE badge_code = %s", (code,))}
        assert held == {u for u, n in rows.items() if code == "poster" or n >= 10}, code
    assert db.execute("""SELECT count(*) FROM gamification.award_history
                          WHERE action = 'award' GROUP BY user_id, badge_code HAVING count(*) > 1""").fetchall() == []
    assert db.execute("""SELECT count(*) FROM gamification.points_total t
                          WHERE t.points <> (SELECT sum(l.amount) FROM gamification.points_ledger l
                                              WHERE l.user_id = t.user_id)""").fetchone()[0] == 0


def test_two_users_in_either_order_never_deadlock(db, dsn):
    tally = run_sessions(dsn, [two_users] * 6)
    assert tally.counts.get("deadlocks", 0) == 0, tally.errors[:3]
    assert tally.errors == []
    assert tally.counts["transactions"] > 50, "not vacuously"
    assert_exact(db)


def test_reset_and_revoke_against_writers_never_deadlock(db, dsn):
    def resetter(conn, tally, rng):
        conn.execute("SELECT gamification.user_reset(%s)", (rng.choice(USERS),))
        conn.commit()
        tally.add("resets")

    def revoker(conn, tally, rng):
        conn.execute("SELECT gamification.badge_revoke(%s, 'poster')", (rng.choice(USERS),))
        conn.commit()
        tally.add("revokes")

    tally = run_sessions(dsn, [two_users] * 4 + [resetter, revoker])
    assert tally.counts.get("deadlocks", 0) == 0, tally.errors[:3]
    assert tally.errors == []
    assert tally.counts["resets"] > 5 and tally.counts["revokes"] > 5 and tally.counts["transactions"] > 20
    assert db.execute("SELECT count(*) FROM gamification.pending").fetchone()[0] == 0
    assert db.execute("""SELECT count(*) FROM gamification.points_total t
                          WHERE t.points <> (SELECT sum(l.amount) FROM gamification.points_ledger l
                                              WHERE l.user_id = t.user_id)""").fetchone()[0] == 0


def test_registration_in_a_migration_transaction_under_writers(db, dsn):
    def migration(conn, tally, rng):
        for points in (1, 2):
            conn.execute("""SELECT gamification.badge_register(jsonb_build_object(
                'code', 'migrated', 'name', 'Migrated', 'points', %s::int, 'condition', 'true',
                'trigger_condition', 'insert', 'trigger_table', 'post', 'user_field', 'author'))""", (points,))
        conn.commit()
        conn.execute("SELECT gamification.badge_unregister('migrated')")
        conn.commit()
        tally.add("migrations")

    tally = run_sessions(dsn, [two_users] * 8 + [migration])
    assert tally.counts.get("deadlocks", 0) == 0, tally.errors[:3]
    assert tally.errors == []
    assert tally.counts["migrations"] > 2 and tally.counts["transactions"] > 20


def test_a_commit_that_cannot_take_a_users_lock_queues_its_steps_and_loses_none(db, dsn):
    with psycopg.connect(dsn) as holder, psycopg.connect(dsn) as writer:
        # An operator's open transaction holds user 1 (a manual award locks the user).
        holder.execute("SELECT gamification.badge_award(1, 'poster')")
        writer.execute("SET lock_timeout = '100ms'")
        notices = []
        writer.add_notice_handler(lambda d: notices.append(d.message_primary))
        writer.execute("INSERT INTO post (author) VALUES (1), (1)")
        writer.commit()  # never fails: the steps wait in the queue
        assert any("queued" in n for n in notices), notices
        holder.commit()
    assert db.execute("SELECT count(*) FROM post").fetchone()[0] == 2
    assert db.execute("SELECT pending FROM gamification.badge_status WHERE code = 'prolific'").fetchone()[0] == 1
    assert db.execute("SELECT gamification.pending_apply()").fetchone()[0] >= 1
    assert db.execute("SELECT gamification.pending_apply()").fetchone()[0] == 0  # exactly once
    assert_exact(db)


def test_no_other_role_can_hold_a_users_lock(db, dsn):
    """Any role may take any advisory lock, so a users' lock made of one let any role that
    can connect stall every commit awarding that user (forever without lock_timeout). The
    locks are rows of gamification.user_lock now, which only the runner may lock."""
    db.execute("CREATE ROLE gam_mallory LOGIN IN ROLE gamification_reader")
    try:
        mallory_dsn = psycopg.conninfo.make_conninfo(dsn, user="gam_mallory")
        with psycopg.connect(mallory_dsn) as mallory, psycopg.connect(dsn) as writer:
            # What the machinery locked before: advisory, class 1483533329, key hashtext(user).
            mallory.execute("SELECT pg_advisory_xact_lock(1483533329, hashtext('1'))")
            writer.execute("SET lock_timeout = '1s'")
            writer.execute("INSERT INTO post (author) VALUES (1)")
            writer.commit()
            mallory.rollback()
            assert db.execute("SELECT count(*) FROM gamification.pending_queue").fetchone() == (0,), \
                "the commit waited for another role's lock and queued its steps"
            assert db.execute("SELECT count(*) FROM gamification.user_badges WHERE user_id = '1' AND code = 'poster'"
                              ).fetchone() == (1,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                mallory.execute("SELECT 1 FROM gamification.user_lock FOR NO KEY UPDATE")
    finally:
        db.execute("DROP ROLE gam_mallory")


def test_the_queue_is_drained_by_the_next_commit(db, dsn):
    with psycopg.connect(dsn) as holder, psycopg.connect(dsn) as writer:
        holder.execute("SELECT gamification.badge_award(2, 'poster')")
        writer.execute("SET lock_timeout = '100ms'")
        writer.execute("INSERT INTO post (author) VALUES (2)")
        writer.commit()
        holder.commit()
    db.execute("INSERT INTO post (author) VALUES (3)")  # any later write applies the queue
    assert_exact(db)


def test_a_row_that_fails_a_condition_costs_only_itself(dsn):
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute("CREATE TABLE public.t (id serial PRIMARY KEY, user_id int, a int, b int)")
        db.execute("""SELECT gamification.badge_register('[
            {"code": "ratio", "name": "Ratio", "condition": "NEW.a / NEW.b > 0",
             "trigger_condition": "insert", "trigger_table": "t", "user_field": "user_id"},
            {"code": "ratios", "name": "Ratios", "target": 100,
             "counter": {"table": "t", "user_field": "user_id", "where": "a / b > 0"}}]')""")
        # One row of three divides by zero: the two healthy rows still award and count.
        db.execute("INSERT INTO t (user_id, a, b) VALUES (1, 1, 1), (2, 1, 0), (3, 1, 1)")
        assert sorted(r[0] for r in db.execute(
            "SELECT user_id FROM gamification.user_badges WHERE code = 'ratio'")) == ["1", "3"]
        assert dict(db.execute("SELECT user_id, progress FROM gamification.user_progress WHERE code = 'ratios'")
                    .fetchall()) == {"1": 1, "3": 1}
        # And the failure is recorded, once per badge and statement.
        assert db.execute("SELECT badge_code, count(*) FROM gamification.badge_error GROUP BY 1 ORDER BY 1").fetchall() == [
            ("ratio", 1), ("ratios", 1)]


def test_a_bad_row_in_a_large_statement_costs_only_itself(dsn):
    """Statements of any size: a failing badge is evaluated again by halves, down to the
    bad rows (it was row by row up to 1,000 rows, and nothing above)."""
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute("CREATE TABLE public.t (id serial PRIMARY KEY, user_id int, a int, b int)")
        db.execute("""SELECT gamification.badge_register('[
            {"code": "ratios", "name": "Ratios", "target": 1000000,
             "counter": {"table": "t", "user_field": "user_id", "where": "a / b > 0"}}]')""")
        # 5,000 rows for 50 users, two of them dividing by zero.
        db.execute("INSERT INTO t (user_id, a, b) SELECT g % 50, 1, CASE WHEN g IN (77, 4321) THEN 0 ELSE 1 END "
                   "FROM generate_series(1, 5000) g")
        progress = dict(db.execute("SELECT user_id, progress FROM gamification.user_progress").fetchall())
        assert sum(progress.values()) == 4998
        assert progress["27"] == 99 and progress["21"] == 99 and progress["1"] == 100


def test_a_broken_badge_does_not_make_the_others_run_twice(dsn):
    """After the fast path of a table's trigger failed once in a session, the badges go one
    by one at once: a slow healthy badge runs once per statement, not twice."""
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute("CREATE TABLE public.t (id serial PRIMARY KEY, user_id int, a int, b int)")
        # A healthy badge whose condition reads a table (evaluated first: badges go in code
        # order): how many times it runs shows in the transaction's own scans of that table.
        db.execute("""SELECT gamification.badge_register('[
            {"code": "a_healthy", "name": "Healthy", "condition": "EXISTS (SELECT FROM public.t x WHERE x.id = NEW.id)",
             "trigger_condition": "insert", "trigger_table": "t", "user_field": "user_id"},
            {"code": "broken", "name": "Broken", "condition": "NEW.a / NEW.b > 0",
             "trigger_condition": "insert", "trigger_table": "t", "user_field": "user_id"}]')""")

        def scans() -> int:
            return db.execute("SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables "
                              "WHERE relname = 't'").fetchone()[0]

        with db.transaction():
            db.execute("INSERT INTO t (user_id, a, b) VALUES (1, 1, 0)")  # the first failure in this session
            before = scans()
            for user in range(2, 12):  # ten more statements, each meeting the broken badge
                db.execute("INSERT INTO t (user_id, a, b) VALUES (%s, 1, 0)", [user])
            assert scans() - before == 10, "the healthy badge ran more than once per statement"
        assert db.execute("SELECT count(*) FROM gamification.user_badges WHERE code = 'a_healthy'").fetchone() == (11,)
