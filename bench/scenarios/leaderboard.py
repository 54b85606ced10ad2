"""Scenario 6: leaderboard reads (absolute times) and what leaderboards cost writers."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from contextlib import closing
from pathlib import Path

import psycopg

from ..common import Options, Progress, Target, VerificationError, stats
from ..measure import Scenario, count_figure, explain, ratio_figure, settle, time_figure
from .concurrency import run_pgbench


# What an application can run today, over the documented view user_points, for a
# leaderboard: the top 100, and one user's rank (1 + how many have more points).
LEADERBOARD_TOP = ("SELECT user_id, points FROM gamification.user_points "
                   "ORDER BY points DESC, user_id LIMIT 100")
LEADERBOARD_RANK = ("SELECT 1 + count(*) FROM gamification.user_points "
                    "WHERE points > (SELECT points FROM gamification.user_points WHERE user_id = %s)")
LEADERBOARD_INDEX = "CREATE INDEX bench_points_total_points_idx ON gamification.points_total (points)"
# The leaderboard API (0.3.0): an all-time board over the same points, ranked like rank().
BOARD = """SELECT gamification.leaderboard_register('{"code": "bench", "name": "Bench", "period": "all", "ties": "rank"}')"""
BOARD_TOP = "SELECT rank, user_id, score FROM gamification.leaderboard_top('bench', 100)"
BOARD_RANK = "SELECT rank FROM gamification.leaderboard_rank('bench', %s) WHERE user_id = %s"
BOARD_AROUND = "SELECT rank, user_id, score FROM gamification.leaderboard_rank('bench', %s, 5)"
# Writers with three boards on their point type (all time, weekly in Paris, daily in New York)
# against none: pgbench, one points_award per transaction.
THREE_BOARDS = """SELECT gamification.leaderboard_register('[
  {"code": "all", "name": "All time", "period": "all"},
  {"code": "week", "name": "This week", "period": "week", "time_zone": "Europe/Paris", "week_start": "monday"},
  {"code": "day", "name": "Today", "period": "day", "time_zone": "America/New_York"}]')"""
POINTS_SCRIPT = """\\set uid random(1, :users)
SELECT gamification.points_award(:uid, 1 + :uid % 7, 'bench');
"""


def scenario_leaderboard(opts: Options, target: Target, progress: Progress) -> Scenario:
    """Time the leaderboard API (an all-time board) against the reads an application could
    write before it over gamification.user_points, with and without an index on points (not
    shipped). Absolute times, client-side, median of ``runs`` rounds of 5 reads each, after
    one untimed round; every rank checked against rank(). Then writers with three boards."""
    n = opts.leaderboard_users
    size = f"{n:,} users with points"
    sc = Scenario(6, "Leaderboards: reads at scale, and writers with three boards", size)
    dsn = target.fresh_db(True, "leaderboard")
    with closing(psycopg.connect(dsn, autocommit=True)) as conn:
        # One points event per user, then the totals from the log (what points_award() keeps
        # one call at a time; set-based here to load a million users quickly).
        conn.execute("INSERT INTO gamification.event (user_id, kind, points, reason) "
                     "SELECT g::text, 'points_changed', 1 + (hashint4(g)::bigint & 65535), 'bench' "
                     "FROM generate_series(1, %s) g", (n,))
        conn.execute("SELECT gamification.totals_rebuild()")
    settle(target, dsn, "gamification.points_total")
    probe = str(max(1, n // 2))  # a user in the middle of the table, with a middling score
    api = "leaderboard API: an all-time board"
    settings = {"today: user_points view, no index on points": (),
                "reference: btree index on points_total (points), not shipped": (LEADERBOARD_INDEX,),
                api: (BOARD,)}
    with closing(psycopg.connect(dsn, autocommit=True)) as conn:
        expected_rank = conn.execute(
            "SELECT r FROM (SELECT user_id, rank() OVER (ORDER BY points DESC) AS r "
            "FROM gamification.user_points) s WHERE user_id = %s", (probe,)).fetchone()[0]
        for name, ddl in settings.items():
            for statement in ddl:
                conn.execute(statement)
                conn.execute("ANALYZE gamification.points_total")
            if name == api:  # the board as autovacuum leaves it, like points_total above
                settle(target, dsn, "gamification.leaderboard_score, gamification.leaderboard_count")
            reads = ((("top 100", BOARD_TOP, ()), ("one user's rank", BOARD_RANK, (probe, probe)),
                      ("the user and 5 on each side", BOARD_AROUND, (probe,)))
                     if name == api else
                     (("top 100", LEADERBOARD_TOP, ()), ("one user's rank", LEADERBOARD_RANK, (probe,))))
            times: dict[str, list[float]] = {label: [] for label, _, _ in reads}
            for run in range(opts.runs + 1):  # round 0 warms the cache and is not counted
                for label, query, params in reads:
                    rounds = []
                    for _ in range(5):
                        t0 = time.perf_counter()
                        rows = conn.execute(query, params).fetchall()
                        rounds.append(time.perf_counter() - t0)
                    if label == "top 100" and len(rows) != min(100, n):
                        raise VerificationError(f"leaderboard top 100 returned {len(rows)} rows")
                    if label == "one user's rank" and rows[0][0] != expected_rank:
                        raise VerificationError(f"rank of user {probe}: {rows[0][0]}, rank() says {expected_rank}")
                    if label.startswith("the user and") and (len(rows) != 11 or rows[5][:2] != (expected_rank, probe)):
                        raise VerificationError(f"user {probe} and neighbours: {rows[:11]}")
                    if run:
                        times[label].append(statistics.median(rounds))
            progress(f"scenario 6 (leaderboard), {name}: " + ", ".join(
                f"{label} {statistics.median(values) * 1000:.1f} ms" for label, values in times.items()))
            for label, values in times.items():
                sc.figures.append(time_figure(f"{label} ({name.split(':')[0]})", name, values,
                                              10.0 if name == api else None, size))
                if name == api:
                    explain(sc.figures[-1], "leaderboard_top reads the board's index in order and stops after "
                                            "the page; leaderboard_rank sums the counts of the score ranges "
                                            "above the user's (a few hundred rows) and counts the users above "
                                            "it in its own range on the index (a user in the middle of the "
                                            "board is the probe; docs/benchmarks.md)")
            sc.settings[name] = {label: stats(values) for label, values in times.items()}
    sc.verification.append({"setting": "leaderboard reads", "checked": True, "ok": True,
                            "rank": expected_rank, "users": n})
    sc.notes.append("The reads an application could run before the leaderboard API, over "
                    "gamification.user_points (a sequential scan of points_total), with an index on points "
                    "for reference (not shipped: it would make every points update non-HOT), and the "
                    "leaderboard API over an all-time board of the same points.")
    writers_with_boards(opts, target, progress, sc)
    return sc


def writers_with_boards(opts: Options, target: Target, progress: Progress, sc: Scenario) -> None:
    """pgbench, one points_award per transaction, with three leaderboards on the type
    against none, interleaved in every run; errors and deadlocks counted."""
    if target.pgbench is None:
        sc.notes.append("pgbench not found: the writers' row was skipped")
        return
    size = f"pgbench {opts.pgbench_clients} clients x {opts.pgbench_seconds} s, {opts.users:,} users"
    workdir = Path(tempfile.mkdtemp(prefix="gamification-bench-"))
    script = workdir / "points.sql"
    script.write_text(POINTS_SCRIPT)
    tps: dict[bool, list[float]] = {False: [], True: []}
    failures = []
    count_rows: list[str] = []
    try:
        for run in range(1, opts.runs + 1):
            for boards in (False, True):
                dsn = target.fresh_db(True, "boards")
                if boards:
                    with closing(psycopg.connect(dsn, autocommit=True)) as conn:
                        conn.execute(THREE_BOARDS)
                parsed = run_pgbench(target, opts, dsn, script, opts.users)
                tps[boards].append(parsed["tps"])
                failures.append(parsed["failed"] + parsed["deadlock_failures"] + parsed["aborted_clients"])
                if boards:
                    with closing(psycopg.connect(dsn, autocommit=True)) as conn:
                        wrong = conn.execute("SELECT count(*) FROM gamification.leaderboard_verify()").fetchone()[0]
                        rows, ranges = conn.execute(
                            "SELECT count(*), count(DISTINCT (leaderboard, period_start, bucket)) "
                            "FROM gamification.leaderboard_count").fetchone()
                    if wrong:
                        raise VerificationError(f"{wrong} leaderboard scores or counts differ from the log after pgbench")
                    count_rows.append(f"{rows:,} rows for {ranges:,} ranges")
                progress(f"scenario 6 (leaderboard writers), run {run}/{opts.runs}, "
                         f"{'three boards' if boards else 'no board'}: {parsed['tps']:.0f} tps")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    sc.figures.append(ratio_figure("points_award under pgbench, three boards vs none", "three leaderboards",
                                   "no leaderboard", tps[True], tps[False], 0.85, size,
                                   higher_is_better=True, unit="tps"))
    explain(sc.figures[-1], "each points_award also upserts the user's row in each board's current period "
                            "(three rows) and, when a score changes range, inserts the two counts' deltas "
                            "(never waited for; one write in 8 folds them); verified against the log after "
                            "every run (docs/benchmarks.md)")
    sc.figures.append(count_figure("  errors and deadlocks (failed txns, aborted clients)", failures, size))
    sc.notes.append("Score-range counts after each run with three boards (deltas, folded by writers): "
                    + "; ".join(count_rows) + ".")
