"""Scenario 5: registering a counter badge with backfill against a plain GROUP BY ... HAVING."""

from __future__ import annotations

import time
from contextlib import closing

import psycopg
from psycopg.types.json import Jsonb

from ..badges import counter_badge
from ..common import BULK_INSERT, EVENTS_DDL, Options, Progress, Target, VerificationError, stats
from ..measure import (Scenario, attach_per_award, award_ms, explain, flush_stats, function_stats, ratio_figure,
                       rows_written, run1_awards, settle, table_writes)


def scenario_backfill(opts: Options, target: Target, progress: Progress) -> Scenario:
    size = f"{opts.rows:,} existing rows, {opts.users:,} users"
    sc = Scenario(5, "Backfill of a counter badge vs a plain GROUP BY ... HAVING", size)
    badge = counter_badge(1, 50, "points >= 512", backfill=True)
    plain_sql = "SELECT user_id FROM events WHERE points >= 512 GROUP BY user_id HAVING count(*) >= 50"
    times: dict[str, list[float]] = {"plain GROUP BY query": [], "badge_register with backfill": []}
    for run in range(1, opts.runs + 1):
        dsn = target.fresh_db(True)
        with closing(psycopg.connect(dsn, autocommit=True)) as conn:
            conn.execute(EVENTS_DDL)
            conn.execute(BULK_INSERT, {"rows": opts.rows, "users": opts.users})
        settle(target, dsn)
        before = table_writes(dsn)
        with closing(psycopg.connect(dsn)) as conn:
            conn.execute("SELECT count(*) FROM events").fetchone()  # same cache state for both
            conn.commit()
            t0 = time.perf_counter()
            expected = len(conn.execute(plain_sql).fetchall())
            conn.commit()
            t_plain = time.perf_counter() - t0
            t0 = time.perf_counter()
            conn.execute("SELECT gamification.badge_register(%s)", (Jsonb(badge.definition),))
            conn.commit()
            t_backfill = time.perf_counter() - t0
            flush_stats(conn)
            awards = conn.execute("SELECT count(*) FROM gamification.award").fetchone()[0]
            progress_rows = conn.execute("SELECT count(*) FROM gamification.progress").fetchone()[0]
            with_rows = conn.execute("SELECT count(DISTINCT user_id) FROM events WHERE points >= 512").fetchone()[0]
            conn.commit()
        sc.settings.setdefault("badge_register with backfill", {}).setdefault("rows_written", []).append(
            rows_written(before, table_writes(dsn)))
        if awards != expected or progress_rows != with_rows:
            raise VerificationError(f"backfill awarded {awards} (expected {expected}), progress rows "
                                    f"{progress_rows} (expected {with_rows})")
        sc.verification.append({"setting": "badge_register with backfill", "run": run, "checked": True,
                                "ok": True, "awards": awards, "expected": expected})
        times["plain GROUP BY query"].append(t_plain)
        times["badge_register with backfill"].append(t_backfill)
        if run == 1:
            sc.function_stats["badge_register with backfill"] = function_stats(target, dsn)
        progress(f"scenario 5 (backfill), run {run}/{opts.runs}: plain query {t_plain:.3f} s, "
                 f"backfill {t_backfill:.3f} s ({awards:,} awards)")
    for name, values in times.items():
        sc.settings.setdefault(name, {})["seconds"] = stats(values)
    sc.figures.append(ratio_figure("backfill vs plain GROUP BY", "badge_register with backfill",
                                   "plain GROUP BY query", times["badge_register with backfill"],
                                   times["plain GROUP BY query"], 2.0, size))
    attach_per_award(sc.figures[-1], sc, "badge_register with backfill")
    awards = award_ms(sc, "badge_register with backfill")
    if awards is not None:
        plain_ms = times["plain GROUP BY query"][0] * 1000
        explain(sc.figures[-1], f"run 1: the plain query {plain_ms:.0f} ms, the backfill "
                                f"{times['badge_register with backfill'][0] * 1000:.0f} ms; applying its "
                                f"{run1_awards(sc, 'badge_register with backfill'):,} awards (_apply_grants: award "
                                f"rows, events, totals) took {awards:.0f} ms, {awards / plain_ms:.2f}x the plain "
                                "query by itself")
    sc.notes.append("The backfill also writes progress for every counted user, the awards, an event each "
                    "and the users' totals; the plain query only reads.")
    return sc
