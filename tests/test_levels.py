"""Point types and levels under real concurrent sessions (issue 19).

pgTAP (310, 320) proves the rules inside one transaction; here commits and concurrency
matter: totals of a type stay exact, and each user's level_changed events form one
unbroken chain (every event starts where the one before ended, the last ends at the level
user_levels shows), while sessions award and penalise in that type and an admin moves the
thresholds under them.
"""

from __future__ import annotations

import random
import threading

import psycopg
import pytest

USERS = [f"lv{n}" for n in range(6)]


@pytest.fixture
def conn(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT gamification.data_reset()")
        conn.execute("DELETE FROM gamification.level")
        conn.execute("""SELECT gamification.point_type_register('{"code": "xp", "name": "XP"}')""")
        conn.execute("""SELECT gamification.level_register('[
            {"point_type": "xp", "number": 1, "name": "One", "points_required": 0},
            {"point_type": "xp", "number": 2, "name": "Two", "points_required": 30},
            {"point_type": "xp", "number": 3, "name": "Three", "points_required": 60},
            {"point_type": "xp", "number": 4, "name": "Four", "points_required": 90}]')""")
        yield conn
        conn.execute("SELECT gamification.data_reset()")
        conn.execute("DELETE FROM gamification.level")


def _run(workers):
    errors = []

    def guard(fn):
        def run():
            try:
                fn()
            except BaseException as exc:  # reported in the main thread
                errors.append(exc)
        return run

    threads = [threading.Thread(target=guard(w)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a session never finished"
    assert not errors, errors


def _check_chains(conn):
    """Totals of xp equal the sum of their events; level events chain up to the view's level."""
    bad = conn.execute("""
        SELECT t.user_id, t.points, (SELECT sum(e.points) FROM gamification.event e
                                      WHERE e.user_id = t.user_id AND e.point_type = 'xp')
          FROM gamification.points_total t
         WHERE t.point_type = 'xp'
           AND t.points <> (SELECT sum(e.points) FROM gamification.event e
                             WHERE e.user_id = t.user_id AND e.point_type = 'xp')""").fetchall()
    assert bad == [], f"xp totals differ from their events: {bad}"
    levels = dict(conn.execute("SELECT user_id, level FROM gamification.user_levels WHERE point_type = 'xp'").fetchall())
    for user in USERS:
        chain = conn.execute("""SELECT (data ->> 'from')::int, (data ->> 'to')::int FROM gamification.event
                                 WHERE user_id = %s AND kind = 'level_changed' AND point_type = 'xp' ORDER BY id""",
                             (user,)).fetchall()
        level = 0
        for frm, to in chain:
            assert frm == level, f"{user}: an event from {frm} after reaching {level}: {chain}"
            assert to != frm, f"{user}: an event that changes nothing: {chain}"
            level = to
        assert level == levels.get(user, 0), f"{user}: events end at {level}, user_levels says {levels.get(user)}"


def test_concurrent_awards_of_one_type_keep_totals_exact_and_levels_right(dsn, conn):
    """Six sessions award and penalise xp for the same users in random order, several users
    per transaction (sorted, as README's "Concurrency" asks of several manual calls): totals
    exact, no deadlock, each user's level events one chain."""

    def worker(seed):
        rng = random.Random(seed)
        with psycopg.connect(dsn, autocommit=False) as session:
            for _ in range(40):
                for user in sorted(rng.sample(USERS, 2)):  # in key order, as the README asks
                    session.execute("SELECT gamification.points_award(%s, %s, 'race', 'xp')",
                                    (user, rng.choice([7, 13, 25, -11, -19])))
                session.commit()

    _run([lambda s=seed: worker(s) for seed in range(6)])
    _check_chains(conn)
    assert conn.execute("SELECT count(*) FROM gamification.event WHERE kind = 'level_changed'").fetchone()[0] > len(USERS)
    # The default type was never touched.
    assert conn.execute("SELECT count(*) FROM gamification.user_points").fetchone()[0] == 0


def test_thresholds_moved_while_sessions_award_keep_every_chain(dsn, conn):
    """An admin moves level 2 and 3 back and forth while sessions award: everyone's level
    follows each move at once (backfill events), and no session's events break a chain."""
    for user in USERS:  # every user has a total first (see _levels_change on first points)
        conn.execute("SELECT gamification.points_award(%s, 1, 'start', 'xp')", (user,))

    def worker(seed):
        rng = random.Random(seed)
        with psycopg.connect(dsn, autocommit=True) as session:
            for _ in range(60):
                session.execute("SELECT gamification.points_award(%s, %s, 'race', 'xp')",
                                (rng.choice(USERS), rng.choice([9, 17, -8, -15])))

    def admin():
        with psycopg.connect(dsn, autocommit=True) as session:
            for i in range(12):
                two, three = (20, 45) if i % 2 else (35, 70)
                session.execute(
                    "SELECT gamification.level_register(%s::jsonb)",
                    (f'[{{"point_type": "xp", "number": 2, "name": "Two", "points_required": {two}}},'
                     f' {{"point_type": "xp", "number": 3, "name": "Three", "points_required": {three}}}]',))

    _run([admin] + [lambda s=seed: worker(s) for seed in range(4)])
    _check_chains(conn)
    assert conn.execute("SELECT count(*) FROM gamification.event WHERE kind = 'level_changed' "
                        "AND origin = 'backfill' AND reason = 'register'").fetchone()[0] > 0


def test_a_level_reached_by_a_trigger_badge_is_recorded_at_commit(dsn, conn):
    """A trigger badge paying xp: the level follows when the write's awards are applied, at
    commit; a rolled-back write leaves no level event."""
    conn.execute("CREATE TABLE IF NOT EXISTS public.lv_posts (id serial PRIMARY KEY, author text)")
    conn.execute("""SELECT gamification.badge_register('{"code": "lv_poster", "name": "Poster", "points": 65,
        "point_type": "xp", "condition": "true", "trigger_condition": "insert", "trigger_table": "lv_posts",
        "user_field": "author"}')""")
    try:
        with psycopg.connect(dsn, autocommit=False) as app:
            app.execute("INSERT INTO public.lv_posts (author) VALUES ('w1')")
            app.rollback()
            app.execute("INSERT INTO public.lv_posts (author) VALUES ('w2')")
            inside = app.execute("SELECT count(*) FROM gamification.event WHERE user_id = 'w2'").fetchone()[0]
            app.commit()
        assert inside == 0, "applied before commit"
        rows = conn.execute("SELECT user_id, data FROM gamification.event WHERE kind = 'level_changed' "
                            "AND user_id IN ('w1', 'w2')").fetchall()
        assert rows == [("w2", {"from": 0, "to": 3, "name": "Three"})]
        assert conn.execute("SELECT level, points_to_next FROM gamification.user_levels "
                            "WHERE user_id = 'w2'").fetchone() == (3, 25)
    finally:
        conn.execute("SELECT gamification.badge_unregister('lv_poster', false)")
        conn.execute("DROP TABLE public.lv_posts")


def test_thresholds_registered_while_a_new_user_earns_give_that_user_the_new_level(dsn, conn):
    """level_register locks the users with a total of the type; a user whose first points
    committed meanwhile was not among them, and their writer had read the thresholds before
    the change: no level_changed event, ever. Writers now wait for the registration."""
    from test_leaderboards import _while_open

    _while_open(dsn, """SELECT gamification.level_register(
                            '{"point_type": "points", "number": 1, "name": "One", "points_required": 10}')""",
                "SELECT gamification.points_award('newcomer', 15, 'hello')")
    assert conn.execute("""SELECT data ->> 'to' FROM gamification.event
                            WHERE user_id = 'newcomer' AND kind = 'level_changed'""").fetchall() == [("1",)]
