"""Scenario 6: leaderboard reads over the user_points view (absolute times)."""

from __future__ import annotations

import statistics
import time
from contextlib import closing

import psycopg

from ..common import Options, Progress, Target, VerificationError, stats
from ..measure import Scenario, explain, settle, time_figure


# What an application can run today, over the documented view user_points, for a
# leaderboard: the top 100, and one user's rank (1 + how many have more points).
LEADERBOARD_TOP = ("SELECT user_id, points FROM gamification.user_points "
                   "ORDER BY points DESC, user_id LIMIT 100")
LEADERBOARD_RANK = ("SELECT 1 + count(*) FROM gamification.user_points "
                    "WHERE points > (SELECT points FROM gamification.user_points WHERE user_id = %s)")
LEADERBOARD_INDEX = "CREATE INDEX bench_points_total_points_idx ON gamification.points_total (points)"


def scenario_leaderboard(opts: Options, target: Target, progress: Progress) -> Scenario:
    """There is no leaderboard API yet: time the reads an application can write today over
    gamification.user_points, and the same with an index on points (not shipped), so that
    the leaderboard design starts from figures. Absolute times, client-side, median of
    ``runs`` rounds of 5 reads each, after one untimed round."""
    n = opts.leaderboard_users
    size = f"{n:,} users with points"
    sc = Scenario(6, "Leaderboard reads (no leaderboard API yet: over the user_points view)", size)
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
    settings = {"today: user_points view, no index on points": (),
                "reference: btree index on points_total (points), not shipped": (LEADERBOARD_INDEX,)}
    with closing(psycopg.connect(dsn, autocommit=True)) as conn:
        expected_rank = conn.execute(
            "SELECT r FROM (SELECT user_id, rank() OVER (ORDER BY points DESC) AS r "
            "FROM gamification.user_points) s WHERE user_id = %s", (probe,)).fetchone()[0]
        for name, ddl in settings.items():
            for statement in ddl:
                conn.execute(statement)
                conn.execute("ANALYZE gamification.points_total")
            times: dict[str, list[float]] = {"top 100": [], "one user's rank": []}
            for run in range(opts.runs + 1):  # round 0 warms the cache and is not counted
                for label, query, params in (("top 100", LEADERBOARD_TOP, ()),
                                             ("one user's rank", LEADERBOARD_RANK, (probe,))):
                    rounds = []
                    for _ in range(5):
                        t0 = time.perf_counter()
                        rows = conn.execute(query, params).fetchall()
                        rounds.append(time.perf_counter() - t0)
                    if label == "top 100" and len(rows) != min(100, n):
                        raise VerificationError(f"leaderboard top 100 returned {len(rows)} rows")
                    if label == "one user's rank" and rows[0][0] != expected_rank:
                        raise VerificationError(f"rank of user {probe}: {rows[0][0]}, rank() says {expected_rank}")
                    if run:
                        times[label].append(statistics.median(rounds))
            top, rank = (statistics.median(v) * 1000 for v in times.values())
            progress(f"scenario 6 (leaderboard), {name}: top 100 {top:.1f} ms, one user's rank {rank:.1f} ms")
            today = not ddl
            for label, values in times.items():
                sc.figures.append(time_figure(f"{label} ({name.split(':')[0]})", name, values,
                                              10.0 if today else None, size))
                if today:
                    explain(sc.figures[-1], "no leaderboard API yet: a sequential scan of points_total "
                                            "through user_points; the reference rows add a btree on points")
            sc.settings[name] = {label: stats(values) for label, values in times.items()}
    sc.verification.append({"setting": "leaderboard reads", "checked": True, "ok": True,
                            "rank": expected_rank, "users": n})
    sc.notes.append("No leaderboard API yet: these are the reads an application can run today over "
                    "gamification.user_points (a sequential scan of points_total), and with an index on "
                    "points for reference (not shipped: it would make every points update non-HOT).")
    return sc
