"""Real concurrent sessions against the gamification core (psycopg 3).

Each test interleaves two sessions deterministically: session A does its work
in an open transaction, session B starts the same work in a thread and is
observed (through pg_stat_activity) waiting on A's lock; A commits; B finishes.
"""

import threading
import time

import psycopg
import pytest


def _wait_until_blocked(monitor, pid, timeout=10.0):
    """Wait until backend `pid` is waiting on a lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = monitor.execute(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
        ).fetchone()
        if row and row[0] == "Lock":
            return
        time.sleep(0.02)
    raise AssertionError(f"backend {pid} never blocked on a lock")


def _in_thread(fn):
    result = {}

    def run():
        try:
            result["value"] = fn()
        except BaseException as exc:  # re-raised in the main thread
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def _finish(thread, result):
    thread.join(timeout=30)
    assert not thread.is_alive(), "session B never finished"
    if "error" in result:
        raise result["error"]
    return result["value"]


@pytest.fixture
def sessions(dsn):
    setup = psycopg.connect(dsn, autocommit=True)
    a = psycopg.connect(dsn, autocommit=False)
    b = psycopg.connect(dsn, autocommit=False)
    monitor = psycopg.connect(dsn, autocommit=True)
    yield setup, a, b, monitor
    for conn in (a, b, monitor, setup):
        conn.close()


def _interleave(a, b, monitor, sql, params):
    """A runs sql in an open transaction; B runs the same and blocks; A commits; B commits."""
    first = a.execute(sql, params).fetchone()[0]
    b_pid = b.info.backend_pid

    def session_b():
        value = b.execute(sql, params).fetchone()[0]
        b.commit()
        return value

    thread, result = _in_thread(session_b)
    _wait_until_blocked(monitor, b_pid)
    a.commit()
    second = _finish(thread, result)
    return first, second


def test_same_badge_awarded_twice_at_once_pays_once(sessions):
    setup, a, b, monitor = sessions
    setup.execute(
        """SELECT gamification.badge_register('{"code": "race", "name": "Race", "points": 25}')"""
    )
    first, second = _interleave(
        a, b, monitor, "SELECT gamification.badge_award(%s::bigint, 'race')", (7,)
    )
    assert (first, second) == (True, False)
    assert setup.execute(
        "SELECT count(*) FROM gamification.award WHERE user_id = '7' AND badge_code = 'race'"
    ).fetchone()[0] == 1
    assert setup.execute(
        "SELECT points FROM gamification.user_points WHERE user_id = '7'"
    ).fetchone()[0] == 25
    assert setup.execute(
        "SELECT count(*) FROM gamification.points_ledger WHERE user_id = '7'"
    ).fetchone()[0] == 1
    assert setup.execute(
        "SELECT count(*) FROM gamification.award_history WHERE user_id = '7'"
    ).fetchone()[0] == 1


def test_concurrent_points_total_equals_ledger_sum(sessions):
    setup, a, b, monitor = sessions
    first, second = _interleave(
        a, b, monitor, "SELECT gamification.award_points(%s, 10, 'race')", ("u",)
    )
    assert (first, second) == (10, 20)
    total, ledger = setup.execute(
        """SELECT (SELECT points FROM gamification.points_total WHERE user_id = 'u'),
                  (SELECT sum(amount) FROM gamification.points_ledger WHERE user_id = 'u')"""
    ).fetchone()
    assert total == ledger == 20


def test_concurrent_points_many_threads(dsn):
    """Many sessions hammering the same users: the invariant total == sum(ledger) holds."""
    errors = []

    def worker(n):
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                for i in range(25):
                    for user in ("x", "y"):
                        conn.execute(
                            "SELECT gamification.award_points(%s::text, %s, 'hammer')",
                            (user, (n + i) % 7 - 3 or 1),
                        )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    with psycopg.connect(dsn, autocommit=True) as conn:
        bad = conn.execute(
            """SELECT count(*) FROM gamification.points_total t
                WHERE t.points <> (SELECT sum(amount) FROM gamification.points_ledger l
                                    WHERE l.user_id = t.user_id)"""
        ).fetchone()[0]
        rows = conn.execute(
            "SELECT count(*) FROM gamification.points_ledger WHERE reason = 'hammer'"
        ).fetchone()[0]
    assert bad == 0
    assert rows == 6 * 25 * 2


def test_concurrent_progress_crossing_target_awards_once(sessions):
    setup, a, b, monitor = sessions
    setup.execute(
        """SELECT gamification.badge_register('{"code": "steps", "name": "Steps", "points": 5, "target": 10}')"""
    )
    setup.execute("SELECT gamification.badge_progress('w', 'steps', 8)")
    first, second = _interleave(
        a, b, monitor, "SELECT gamification.badge_progress(%s, 'steps', 2)", ("w",)
    )
    assert (first, second) == (10, 12)
    assert setup.execute(
        "SELECT count(*) FROM gamification.award_history WHERE user_id = 'w' AND action = 'award'"
    ).fetchone()[0] == 1
    assert setup.execute(
        "SELECT points FROM gamification.user_points WHERE user_id = 'w'"
    ).fetchone()[0] == 5


def test_award_blocked_behind_rolled_back_award_still_awards(sessions):
    """If A rolls back, B's waiting award goes through and pays."""
    setup, a, b, monitor = sessions
    setup.execute(
        """SELECT gamification.badge_register('{"code": "rb", "name": "Rb", "points": 3}')"""
    )
    assert a.execute("SELECT gamification.badge_award('r', 'rb')").fetchone()[0] is True
    b_pid = b.info.backend_pid

    def session_b():
        value = b.execute("SELECT gamification.badge_award('r', 'rb')").fetchone()[0]
        b.commit()
        return value

    thread, result = _in_thread(session_b)
    _wait_until_blocked(monitor, b_pid)
    a.rollback()
    assert _finish(thread, result) is True
    assert setup.execute(
        "SELECT points FROM gamification.user_points WHERE user_id = 'r'"
    ).fetchone()[0] == 3


def test_badge_registration_never_deadlocks_with_an_award_of_that_badge(sessions):
    """A registration that awards (a lowered target) waits for the users' locks while it
    holds the badge's row; an application transaction holding a user's lock and awarding
    that badge must not then wait for the badge's row (its award's foreign key check takes
    KEY SHARE on it): that was a deadlock, and PostgreSQL aborted one of the two."""
    setup, a, b, monitor = sessions
    setup.execute(
        """SELECT gamification.badge_register('[{"code": "x", "name": "X", "target": 10},
                                                 {"code": "y", "name": "Y"}]')"""
    )
    setup.execute("SELECT gamification.badge_progress('u', 'x', 5)")
    b.execute("SELECT gamification.badge_award('u', 'y')")  # B holds u's lock
    a_pid = a.info.backend_pid

    def registrant():
        a.execute("""SELECT gamification.badge_register('{"code": "x", "name": "X", "target": 5}')""")
        a.commit()
        return True

    thread, result = _in_thread(registrant)
    _wait_until_blocked(monitor, a_pid)  # A holds x's row and waits for u's lock
    assert b.execute("SELECT gamification.badge_award('u', 'x')").fetchone()[0] is True
    b.commit()
    assert _finish(thread, result) is True
    assert setup.execute(
        "SELECT count(*) FROM gamification.event WHERE user_id = 'u' AND subject = 'x' AND kind = 'badge_awarded'"
    ).fetchone()[0] == 1
    assert setup.execute("SELECT target FROM gamification.badge WHERE code = 'x'").fetchone()[0] == 5
