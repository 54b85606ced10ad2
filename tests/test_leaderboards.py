"""Leaderboards under concurrent writers (issue 19): sessions awarding points to a few hot
users at once, one user per transaction (points_award, penalties too) and several users
per statement (a set-based award paying another point type), keep every board's scores
exact: each board's ranking equals rank() over the truth (the totals for all-time boards,
the sums of the current period's events for periodic ones), leaderboard_verify() finds
nothing, and no transaction deadlocks (PostgreSQL 15 and 18)."""

from __future__ import annotations

import random
import threading
import time

import psycopg
from test_core_concurrency import _finish, _in_thread, _wait_until_blocked

USERS = [f"u{i}" for i in range(6)]
WRITERS = 6
TRANSACTIONS = 60
BADGES = 40

BOARDS = """SELECT gamification.leaderboard_register('[
    {"code": "all_points", "ties": "rank"},
    {"code": "week_paris", "period": "week", "time_zone": "Europe/Paris", "ties": "first"},
    {"code": "all_xp", "point_type": "xp", "ties": "dense_rank"},
    {"code": "day_ny", "point_type": "xp", "period": "day", "time_zone": "America/New_York"},
    {"code": "collectors", "ranks_by": "badges"},
    {"code": "even_week", "ranks_by": "badges", "category": "even", "period": "week", "time_zone": "Asia/Tokyo"}]')"""

# What each board must show, from the data: rank() (or dense_rank, row_number) over the
# points of the board's type in the board's current period.
TRUTH = """
WITH b AS (SELECT * FROM gamification.leaderboard WHERE code = %(code)s),
scores AS (
    SELECT t.user_id, t.points AS score FROM b JOIN gamification.points_total t ON t.point_type = b.point_type
     WHERE b.period = 'all'
    UNION ALL
    SELECT e.user_id, sum(e.points)::bigint FROM b JOIN gamification.event e ON e.point_type = b.point_type
     WHERE b.period <> 'all' AND e.points <> 0
       AND e.at >= gamification._leaderboard_period(b.period, b.time_zone, b.week_start, now())
     GROUP BY e.user_id)
SELECT CASE (SELECT ties FROM b) WHEN 'dense_rank' THEN dense_rank() OVER (ORDER BY score DESC)
                                 WHEN 'first' THEN NULL ELSE rank() OVER (ORDER BY score DESC) END,
       user_id, score
  FROM scores ORDER BY score DESC, user_id"""

# Boards of badges: all time, the badges held (of the category); a period, the awards in
# it minus the revokes and resets in it.
BADGE_TRUTH = """
WITH b AS (SELECT * FROM gamification.leaderboard WHERE code = %(code)s),
scores AS (
    SELECT a.user_id, count(*) AS score
      FROM b, gamification.award a JOIN gamification.badge g ON g.code = a.badge_code
     WHERE b.period = 'all' AND (b.category IS NULL OR g.category = b.category)
     GROUP BY a.user_id
    UNION ALL
    SELECT e.user_id, sum(CASE e.kind WHEN 'badge_awarded' THEN 1 ELSE -1 END)
      FROM b, gamification.event e JOIN gamification.badge g ON g.code = e.subject
     WHERE b.period <> 'all' AND e.kind IN ('badge_awarded', 'badge_revoked', 'badge_reset')
       AND (b.category IS NULL OR g.category = b.category)
       AND e.at >= gamification._leaderboard_period(b.period, b.time_zone, b.week_start, now())
     GROUP BY e.user_id)
SELECT user_id, score::bigint FROM scores WHERE score <> 0 ORDER BY user_id"""


def test_concurrent_writers_keep_every_board_exact(dsn):
    with psycopg.connect(dsn, autocommit=True) as setup:
        setup.execute("""SELECT gamification.point_type_register('{"code": "xp", "name": "XP"}')""")
        setup.execute("SELECT gamification.badge_register(%s::jsonb)", (
            "[" + ", ".join(f'{{"code": "b{i}", "name": "B{i}", "points": {i + 1}, "point_type": "xp", '
                            f'"category": "{("even", "odd")[i % 2]}"}}'
                            for i in range(BADGES)) + "]",))
        setup.execute(BOARDS)
    deadlocks: list[BaseException] = []
    errors: list[BaseException] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        with psycopg.connect(dsn, autocommit=True) as conn:
            for _ in range(TRANSACTIONS):
                try:
                    if rng.random() < 0.15:  # a revoke: one badge fewer on the boards of badges
                        conn.execute("SELECT gamification.badge_revoke(%s, %s)",
                                     (rng.choice(USERS), f"b{rng.randrange(BADGES)}"))
                    elif rng.random() < 0.6:
                        user = rng.choice(USERS)
                        with conn.transaction():
                            conn.execute("SELECT gamification.points_award(%s, %s, 'w')", (user, rng.randint(1, 9)))
                            conn.execute("SELECT gamification.points_award(%s, %s, 'w')", (user, -rng.randint(1, 3)))
                    else:
                        users = rng.sample(USERS, 3)  # in any order: the extension locks them in one order
                        conn.execute("SELECT gamification._grant(%s, %s, 'manual')",
                                     (f"b{rng.randrange(BADGES)}", users))
                except psycopg.errors.DeadlockDetected as e:
                    deadlocks.append(e)
                except BaseException as e:  # noqa: BLE001 - reported below
                    errors.append(e)

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not any(thread.is_alive() for thread in threads)
    assert not deadlocks, deadlocks[:3]
    assert not errors, errors[:3]

    with psycopg.connect(dsn, autocommit=True) as check:
        for code in ("all_points", "week_paris", "all_xp", "day_ny"):
            truth = check.execute(TRUTH, {"code": code}).fetchall()
            board = check.execute("SELECT rank, user_id, score FROM gamification.leaderboard_top(%s, 1000)",
                                  (code,)).fetchall()
            assert truth, code
            # Scores exact, and ranks as rank()/dense_rank() say; 'first' is 1, 2, 3, ...
            assert sorted((u, s) for _, u, s in board) == sorted((u, s) for _, u, s in truth), code
            if code == "week_paris":
                assert [r for r, _, _ in board] == list(range(1, len(board) + 1))
            else:
                assert {u: r for r, u, _ in board} == {u: r for r, u, _ in truth}, code
            assert [s for _, _, s in board] == sorted((s for _, _, s in board), reverse=True), code
        for code in ("collectors", "even_week"):
            truth = check.execute(BADGE_TRUTH, {"code": code}).fetchall()
            board = check.execute("SELECT user_id, score FROM gamification.leaderboard_top(%s, 1000) WHERE score <> 0 "
                                  "ORDER BY user_id", (code,)).fetchall()
            assert truth and board == truth, code
        assert check.execute("SELECT count(*) FROM gamification.leaderboard_verify()").fetchone()[0] == 0


def test_a_transaction_that_started_earlier_and_scored_later_sets_the_time_verify_expects(dsn):
    """A score's reached_at is the time of the last event applied (the order of the users'
    locks), which is not the latest time: a transaction that started earlier can take the
    user's lock later. leaderboard_verify() once expected max(at) and reported such rows
    after pgbench (make bench, scenario 6)."""

    with psycopg.connect(dsn, autocommit=True) as admin, psycopg.connect(dsn) as early, psycopg.connect(dsn) as late:
        admin.execute("""SELECT gamification.leaderboard_register('{"code": "all_points", "ties": "first"}')""")
        early.execute("SELECT 1")  # its transaction, and its now(), start here
        time.sleep(0.05)
        late.execute("SELECT gamification.points_award('u', 1, 'late')")
        late.commit()
        early.execute("SELECT gamification.points_award('u', 1, 'early')")
        early.commit()
        assert admin.execute("SELECT * FROM gamification.leaderboard_verify()").fetchall() == []
        (reached,) = admin.execute("SELECT reached_at FROM gamification.leaderboard_score").fetchone()
        (last,) = admin.execute("SELECT at FROM gamification.event ORDER BY id DESC LIMIT 1").fetchone()
        assert reached == last


def test_rank_with_neighbours_equals_the_whole_ranking_for_every_user(dsn):
    """leaderboard_rank counts on the index and reads only the neighbours: for every user of
    boards with many ties and some excluded users, in the three tie rules, it must give the
    rows, ranks and order that ranking everyone gives (_leaderboard_ranked)."""
    rng = random.Random(7)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("""SELECT gamification.leaderboard_register('[
            {"code": "r", "ties": "rank"}, {"code": "d", "ties": "dense_rank"}, {"code": "f", "ties": "first"}]')""")
        for i in range(60):
            conn.execute("SELECT gamification.points_award(%s, %s, 'x')", (f"p{i}", rng.choice([1, 2, 3, 5, 8])))
        for user in ("p3", "p10", "p11"):
            for board in ("r", "d", "f"):
                conn.execute("SELECT gamification.leaderboard_exclude(%s, %s)", (board, user))
        for board, ties in (("r", "rank"), ("d", "dense_rank"), ("f", "first")):
            whole = conn.execute(
                "SELECT pos, rank, user_id, score FROM gamification._leaderboard_ranked(%s, %s, '-infinity') ORDER BY pos",
                (board, ties)).fetchall()
            position = {user: pos for pos, _, user, _ in whole}
            for user, pos in position.items():
                for around in (0, 2):
                    got = conn.execute("SELECT rank, user_id, score FROM gamification.leaderboard_rank(%s, %s, %s)",
                                       (board, user, around)).fetchall()
                    expected = [(rank, u, score) for p, rank, u, score in whole if abs(p - pos) <= around]
                    assert got == expected, (board, user, around)
            assert conn.execute("SELECT count(*) FROM gamification.leaderboard_rank(%s, 'p3', 2)", (board,)).fetchone() == (0,)


def test_score_range_counts_stay_exact_under_writers_in_both_isolation_levels(dsn):
    """The counts that make a rank a sum (gamification.leaderboard_count) are deltas that
    writers insert and, in READ COMMITTED, fold now and then (FOR UPDATE SKIP LOCKED);
    REPEATABLE READ writers never fold (locking a row deleted since their snapshot would be a
    serialization failure in the application's write). Writers of both kinds move scores
    across wide ranges, negative ones too, while readers in REPEATABLE READ check that every
    rank they read equals 1 + the users above in the same snapshot: no error, no deadlock,
    and afterwards the counts equal the scores and every rank equals rank()."""
    with psycopg.connect(dsn, autocommit=True) as setup:
        setup.execute("""SELECT gamification.leaderboard_register('[
            {"code": "all_points", "ties": "rank"}, {"code": "today", "period": "day", "ties": "first"}]')""")
    shared = [f"s{i}" for i in range(8)]
    errors: list[BaseException] = []
    checked = []
    stop = threading.Event()

    def writer(seed: int, isolation: str, users: list[str]) -> None:
        rng = random.Random(seed)
        with psycopg.connect(dsn) as conn:
            conn.execute(f"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL {isolation}")
            conn.commit()
            for _ in range(150):
                try:
                    # The snapshot ages while others fold the ranges this transaction will write to.
                    conn.execute("SELECT 1")
                    time.sleep(0.002)
                    # Two users, in one order: calls lock their user until commit (README).
                    for user in sorted(rng.sample(users, 2)):
                        conn.execute("SELECT gamification.points_award(%s, %s, 'w')",
                                     (user, rng.choice([1, 1, 2, -1, 3, 250, -250, 1000, 70000, -71000])))
                    conn.commit()
                except BaseException as e:  # noqa: BLE001 - reported below
                    errors.append(e)
                    conn.rollback()

    def reader() -> None:
        with psycopg.connect(dsn) as conn:
            conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            conn.commit()
            while not stop.is_set():
                try:
                    for user in shared[:3]:
                        got = conn.execute("SELECT rank, score FROM gamification.leaderboard_rank('all_points', %s)",
                                           (user,)).fetchone()
                        if got:
                            (above,) = conn.execute("""SELECT count(*) FROM gamification.leaderboard_score
                                                        WHERE leaderboard = 'all_points' AND score > %s""",
                                                    (got[1],)).fetchone()
                            checked.append(got[0] == above + 1)
                    conn.commit()
                except BaseException as e:  # noqa: BLE001 - reported below
                    errors.append(e)
                    conn.rollback()

    threads = [threading.Thread(target=writer, args=(seed, "READ COMMITTED", shared)) for seed in range(3)]
    # REPEATABLE READ writers on users of their own: two of them updating the same total
    # would be a serialization failure of the application's own kind (README).
    threads += [threading.Thread(target=writer, args=(10 + i, "REPEATABLE READ", [f"r{i}a", f"r{i}b", f"r{i}c"]))
                for i in range(2)]
    readers = [threading.Thread(target=reader)]
    for thread in threads + readers:
        thread.start()
    for thread in threads:
        thread.join(300)
    stop.set()
    for thread in readers:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads + readers)
    assert not errors, [str(e).replace(chr(10), ' | ') for e in errors[:2]]
    assert checked and all(checked), f"{checked.count(False)} of {len(checked)} ranks disagreed with their snapshot"

    with psycopg.connect(dsn, autocommit=True) as check:
        assert check.execute("SELECT * FROM gamification.leaderboard_verify()").fetchall() == []
        # Folds happened meanwhile: without them there would be a row per delta written (one
        # per range left or entered; every write here is a single points_award).
        (deltas,) = check.execute("""
            SELECT count(*) FILTER (WHERE gamification._leaderboard_bucket(score - points) IS DISTINCT FROM
                                          gamification._leaderboard_bucket(score))
                   + count(*) FILTER (WHERE gamification._leaderboard_bucket(score - points) <>
                                            gamification._leaderboard_bucket(score) AND NOT first)
              FROM (SELECT points, (sum(points) OVER (PARTITION BY user_id ORDER BY id))::bigint AS score,
                           row_number() OVER (PARTITION BY user_id ORDER BY id) = 1 AS first
                      FROM gamification.event WHERE points <> 0) e""").fetchone()
        (rows,) = check.execute("SELECT count(*) FROM gamification.leaderboard_count "
                                "WHERE leaderboard = 'all_points'").fetchone()
        assert rows < deltas, (rows, deltas)
        # What the REPEATABLE READ writers left unfolded, leaderboard_compact() folds: one
        # row per range whose count is not 0, and nothing for leaderboard_verify to report.
        (removed,) = check.execute("SELECT gamification.leaderboard_compact()").fetchone()
        rows, ranges = check.execute("""SELECT count(*), count(DISTINCT (leaderboard, period_start, bucket))
                                         FROM gamification.leaderboard_count""").fetchone()
        assert removed > 0 and rows == ranges, (removed, rows, ranges)
        assert check.execute("SELECT count(*) FROM gamification.leaderboard_count WHERE users = 0").fetchone() == (0,)
        assert check.execute("SELECT * FROM gamification.leaderboard_verify()").fetchall() == []
        for code in ("all_points", "today"):
            truth = check.execute(
                "SELECT user_id, rank() OVER (ORDER BY score DESC) FROM gamification.leaderboard_score "
                "WHERE leaderboard = %s AND period_start = gamification._leaderboard_period("
                "(SELECT period FROM gamification.leaderboard WHERE code = %s), 'UTC', 'monday', now())",
                (code, code)).fetchall()
            for user, rank in truth:
                got = check.execute("SELECT rank FROM gamification.leaderboard_rank(%s, %s)", (code, user)).fetchone()
                if code == "all_points":
                    assert got == (rank,), (code, user)
                else:  # first to reach: 1 + those above, at most + the ties before
                    assert got[0] >= rank, (code, user)


def test_leaderboard_compact_needs_read_committed_and_changes_nothing_otherwise(dsn):
    """Folding under REPEATABLE READ could fail on a row another transaction deleted after
    the snapshot: leaderboard_compact() refuses with 55000 and a hint, and changes nothing."""
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("""SELECT gamification.leaderboard_register('{"code": "all_points"}')""")
        for amount in (1, 300, 5000):
            admin.execute("SELECT gamification.points_award('u', %s, 'x')", (amount,))
        before = admin.execute("SELECT count(*) FROM gamification.leaderboard_count").fetchone()
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        try:
            conn.execute("SELECT gamification.leaderboard_compact()")
            raise AssertionError("leaderboard_compact() ran under REPEATABLE READ")
        except psycopg.errors.ObjectNotInPrerequisiteState as e:
            assert "needs a READ COMMITTED transaction, not REPEATABLE READ" in str(e)
            assert e.diag.message_hint.startswith("Call it on its own")
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM gamification.leaderboard_count").fetchone() == before


def test_with_leaderboard_fold_off_writers_leave_every_delta_to_leaderboard_compact(dsn):
    """gamification.leaderboard_fold = off (ALTER DATABASE ... SET): writers never fold, so
    every move leaves its two deltas; ranks stay exact meanwhile, and one
    leaderboard_compact() leaves a row per range."""
    with psycopg.connect(dsn, autocommit=True) as admin:
        (db,) = admin.execute("SELECT current_database()").fetchone()
        admin.execute(f'ALTER DATABASE "{db}" SET gamification.leaderboard_fold = off')
        admin.execute("""SELECT gamification.leaderboard_register('{"code": "all_points"}')""")
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SHOW gamification.leaderboard_fold").fetchone() == ("off",)
        for i in range(200):  # every award moves its user to another range: 2 deltas (1 for a new row)
            conn.execute("SELECT gamification.points_award(%s, 1, 'x')", (f"u{i % 10}",))
        (rows,) = conn.execute("SELECT count(*) FROM gamification.leaderboard_count").fetchone()
        assert rows == 10 + 2 * 190, rows
        truth = conn.execute("SELECT user_id, rank() OVER (ORDER BY score DESC) FROM gamification.leaderboard_score "
                             "WHERE leaderboard = 'all_points'").fetchall()
        for user, rank in truth:
            assert conn.execute("SELECT rank FROM gamification.leaderboard_rank('all_points', %s)",
                                (user,)).fetchone() == (rank,)
        assert conn.execute("SELECT gamification.leaderboard_compact()").fetchone() == (rows - 1,)
        assert conn.execute("SELECT count(*) FROM gamification.leaderboard_count").fetchone() == (1,)
        assert conn.execute("SELECT * FROM gamification.leaderboard_verify()").fetchall() == []


def _while_open(dsn, registration: str, write: str) -> None:
    """Run `registration` in a transaction left open, then `write` (autocommit) in another
    session, then commit the registration: the write either waited for it or not."""
    with psycopg.connect(dsn) as registrant, psycopg.connect(dsn, autocommit=True) as writer:
        registrant.execute(registration)
        done = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                writer.execute(write)
            except BaseException as exc:  # re-raised below
                failure.append(exc)
            done.set()

        thread = threading.Thread(target=run)
        thread.start()
        done.wait(1.0)  # a writer that does not wait is done by now
        registrant.commit()
        thread.join(30)
        assert not thread.is_alive() and not failure, failure


def test_a_board_registered_while_a_new_user_scores_ranks_that_user(dsn):
    """Registration fills a board from the log under the users' locks; a user with no
    event yet was not among them, and a writer that did not see the uncommitted board
    committed points the board then lacked (verify reported them). Registration now waits
    for the writers in flight and writers for it (a lock on the event log)."""
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("""SELECT gamification.badge_register('{"code": "first", "name": "First"}')""")
        _while_open(dsn, """SELECT gamification.leaderboard_register('{"code": "all_points"}')""",
                    "SELECT gamification.points_award('newcomer', 5, 'hello')")
        assert admin.execute("SELECT leaderboard, user_id, stored, computed FROM gamification.leaderboard_verify()").fetchall() == []
        _while_open(dsn, """SELECT gamification.leaderboard_register('{"code": "collectors", "ranks_by": "badges"}')""",
                    "SELECT gamification.badge_award('another', 'first')")
        assert admin.execute("SELECT leaderboard, user_id, stored, computed FROM gamification.leaderboard_verify()").fetchall() == []
        assert admin.execute("SELECT user_id, score FROM gamification.leaderboard_top('all_points')").fetchall() \
            == [("newcomer", 5)]
        assert admin.execute("SELECT user_id, score FROM gamification.leaderboard_top('collectors')").fetchall() \
            == [("another", 1)]


def test_an_all_time_board_of_badges_ranks_the_badges_held_after_events_prune(dsn):
    """events_prune() keeps only each badge's latest event per user: the log alone would
    say a user who earned, lost and earned a badge again holds none. An all-time board of
    badges counts the badges held, and verify agrees after pruning."""
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("""SELECT gamification.badge_register('{"code": "p", "name": "P"}')""")
        admin.execute("""SELECT gamification.leaderboard_register('{"code": "held", "ranks_by": "badges"}')""")
        admin.execute("""SELECT gamification.history_import(
                             '{"awards": [{"user_id": "u", "code": "p", "at": "2025-01-01T00:00:00Z"}]}')""")
        admin.execute("SELECT gamification.badge_revoke('u', 'p')")
        admin.execute("SELECT gamification.badge_award('u', 'p')")
        assert admin.execute("SELECT gamification.events_prune('1 day')").fetchone()[0] == 1
        assert admin.execute("SELECT count(*) FROM gamification.event WHERE subject = 'p'").fetchone()[0] == 2
        assert admin.execute("SELECT * FROM gamification.leaderboard_verify()").fetchall() == []
        assert admin.execute("SELECT score FROM gamification.leaderboard_rank('held', 'u')").fetchone()[0] == 1


def test_a_registration_and_awards_queued_behind_it_never_deadlock(dsn):
    """The registration takes the event log's lock, then the users' locks; a writer took
    its user's lock, then the log's (appending its event): a writer queued behind the
    registration while holding a user's lock that the registration then wanted was a
    deadlock. Writers now take the log's lock before any user's (_lock_users)."""
    with psycopg.connect(dsn, autocommit=True) as admin, psycopg.connect(dsn) as early, \
            psycopg.connect(dsn) as registrant, psycopg.connect(dsn) as writer:
        admin.execute("SELECT gamification.points_award('u', 1, 'before')")
        early.execute("SELECT gamification.points_award('x', 1, 'open')")  # holds the log until it commits

        def register():
            registrant.execute("""SELECT gamification.leaderboard_register('{"code": "all_points"}')""")
            registrant.commit()
            return True

        def award():
            writer.execute("SELECT gamification.points_award('u', 2, 'queued')")
            writer.commit()
            return True

        r_thread, r_result = _in_thread(register)
        _wait_until_blocked(admin, registrant.info.backend_pid)  # waits for `early`
        w_thread, w_result = _in_thread(award)
        _wait_until_blocked(admin, writer.info.backend_pid)  # queued behind the registration
        early.commit()
        assert _finish(r_thread, r_result) is True
        assert _finish(w_thread, w_result) is True
        assert admin.execute("SELECT count(*) FROM gamification.leaderboard_verify()").fetchone()[0] == 0
        assert admin.execute("SELECT score FROM gamification.leaderboard_rank('all_points', 'u')").fetchone()[0] == 3


def test_the_readme_leaderboard_examples_run_as_written(dsn):
    """Every SQL block of the README's Leaderboards paragraph, run as written: the weekly
    board, its three reads, the board of badges and the prize for last week's winner."""
    import re
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme[readme.index("**Leaderboards** (0.3.0)"):readme.index("**Concurrency.**")]
    blocks = re.findall(r"```sql\n(.*?)```", section, re.S)
    assert len(blocks) == 2, blocks
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("""SELECT gamification.point_type_register('{"code": "xp", "name": "XP"}')""")
        conn.execute("""SELECT gamification.badge_register('[{"code": "weekly_winner", "name": "Winner of the week"},
                            {"code": "helpful", "name": "Helpful", "category": "community"}]')""")
        conn.execute("""SELECT gamification.history_import(jsonb_build_object('points', jsonb_build_array(
                            jsonb_build_object('user_id', 'ann', 'amount', 30, 'point_type', 'xp', 'at', now() - interval '1 week'),
                            jsonb_build_object('user_id', '42', 'amount', 20, 'point_type', 'xp', 'at', now() - interval '1 week'))))""")
        conn.execute("SELECT gamification.points_award('42', 5, 'this week', 'xp')")
        for block in blocks:
            for statement in filter(str.strip, re.sub(r"--[^\n]*", "", block.replace("\n  ", "\n")).split(";")):
                conn.execute(statement)
        assert conn.execute("SELECT user_id FROM gamification.award WHERE badge_code = 'weekly_winner'").fetchall() \
            == [("ann",)]
        assert conn.execute("SELECT code FROM gamification.leaderboards ORDER BY code").fetchall() \
            == [("helpers",), ("weekly",)]
