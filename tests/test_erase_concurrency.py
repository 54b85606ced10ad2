"""user_erase() against concurrent awards and point grants for the same user: whatever the
interleaving, no award is left without its history and ledger rows, and every total equals
its ledger (PostgreSQL 15 and 18)."""

from __future__ import annotations

import threading

import psycopg

from security_snapshot import totals_match_ledger


def test_erase_while_another_session_awards_the_same_user(dsn):
    with psycopg.connect(dsn, autocommit=True) as setup:
        setup.execute("""SELECT gamification.badge_register('[{"code": "a", "name": "A", "points": 10},
                                                              {"code": "b", "name": "B", "points": 5}]')""")
        setup.execute("SELECT gamification.badge_award('u1', 'a')")
        setup.execute("SELECT gamification.award_points('u1', 3, 'bonus')")
    eraser = psycopg.connect(dsn)
    awarder = psycopg.connect(dsn, autocommit=True)
    try:
        # The erasure holds its locks, uncommitted, while the other session awards and grants.
        removed = eraser.execute("SELECT gamification.user_erase('u1')").fetchone()[0]
        assert removed["award"] == 1 and removed["points_total"] == 1
        errors: list[BaseException] = []

        def award() -> None:
            try:
                awarder.execute("SELECT gamification.badge_award('u1', 'a')")
                awarder.execute("SELECT gamification.badge_award('u1', 'b')")
                awarder.execute("SELECT gamification.award_points('u1', 2, 'late')")
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        thread = threading.Thread(target=award)
        thread.start()
        thread.join(1.0)
        assert thread.is_alive(), "the award should wait for the erasure's locks"
        eraser.commit()
        thread.join(30)
        assert not thread.is_alive() and not errors, errors
    finally:
        eraser.close()
        awarder.close()
    with psycopg.connect(dsn, autocommit=True) as check:
        assert totals_match_ledger(check) == []
        # What came after the erasure is a new record, complete: awards with history and ledger.
        rows = check.execute("""SELECT (SELECT array_agg(badge_code ORDER BY badge_code) FROM gamification.award WHERE user_id = 'u1'),
                                       (SELECT count(*) FROM gamification.award_history WHERE user_id = 'u1'),
                                       (SELECT points FROM gamification.points_total WHERE user_id = 'u1')""").fetchone()
        assert rows == (["a", "b"], 2, 17)
