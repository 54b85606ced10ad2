"""Scenario 3: a counter badge's per-insert cost against the size of the user's history."""

from __future__ import annotations

from contextlib import closing

import psycopg
from psycopg.types.json import Jsonb

from ..badges import counter_badge
from ..common import EVENTS_DDL, Options, Progress, Target, VerificationError, stats
from ..measure import (SINGLE_TURN, Scenario, explain, function_stats, latency_us, ratio_figure, settle,
                       take_turns, trigger_ms)


def prepare_history(target: Target, dbname: str, name: str, h: int, n: int) -> str:
    """A database where user 1 has h rows, counted by a backfilled counter badge whose
    target the n timed inserts cross once, half way."""
    badge = counter_badge(1, h + n // 2 + 1, "true", backfill=True)
    dsn = target.fresh_db(True, dbname)
    with closing(psycopg.connect(dsn, autocommit=True)) as conn:
        conn.execute(EVENTS_DDL)
        conn.execute("INSERT INTO events (user_id, kind, points) "
                     "SELECT 1, 'k' || (g %% 5), g %% 1024 FROM generate_series(1, %s) g", (h,))
        conn.execute("SELECT gamification.badge_register(%s)", (Jsonb(badge.definition),))
        progress_before = conn.execute(
            "SELECT progress FROM gamification.progress WHERE user_id = '1'").fetchone()
        if not progress_before or progress_before[0] != h:
            raise VerificationError(f"{name}: backfill set progress {progress_before}, expected {h}")
    settle(target, dsn)
    return dsn


def scenario_history(opts: Options, target: Target, progress: Progress) -> Scenario:
    n = opts.single
    size = f"{n:,} single-row inserts for one user, history {opts.history_small:,} vs {opts.history:,} rows"
    sc = Scenario(3, "Counter badge per-insert cost vs the user's history", size)
    histories = {f"history {opts.history_small:,}": opts.history_small, f"history {opts.history:,}": opts.history}
    times: dict[str, list[float]] = {k: [] for k in histories}

    rows = [(1, f"k{i % 5}", i & 1023) for i in range(n)]
    for run in range(1, opts.runs + 1):
        dsns = [prepare_history(target, f"history{i}", name, h, n)
                for i, (name, h) in enumerate(histories.items())]
        # The two histories take turns, as scenario 2's settings do: one after the other
        # measured the disk's drift.
        elapsed, latencies = take_turns(dsns, rows)
        for i, (name, h) in enumerate(histories.items()):
            seconds = elapsed[i]
            times[name].append(seconds)
            sc.settings.setdefault(name, {}).setdefault("latency_us", []).append(latency_us(seconds, latencies[i]))
            with closing(psycopg.connect(dsns[i], autocommit=True)) as conn:
                prog = conn.execute("SELECT progress FROM gamification.progress WHERE user_id = '1'").fetchone()[0]
                awards = conn.execute("SELECT count(*) FROM gamification.award").fetchone()[0]
            if prog != h + n or awards != 1:
                raise VerificationError(f"{name}: progress {prog} (expected {h + n}), awards {awards} (expected 1)")
            sc.verification.append({"setting": name, "run": run, "checked": True, "ok": True,
                                    "progress": prog, "awards": awards, "expected": 1})
            if run == 1:
                sc.function_stats[name] = function_stats(target, dsns[i])
        progress(f"scenario 3 (history), run {run}/{opts.runs}, taking turns every {SINGLE_TURN} rows: "
                 + ", ".join(f"{name} {t:.3f} s ({1e6 * t / n:.0f} us/insert)" for name, t in zip(histories, elapsed)))
    small, big = list(histories)
    for name, values in times.items():
        sc.settings[name]["seconds"] = stats(values)
    sc.figures.append(ratio_figure(f"counter insert, {big} vs {small.split()[1]}", big, small,
                                   times[big], times[small], 1.2, size))
    trigger = {name: trigger_ms(sc, name) for name in histories}
    if all(trigger.values()):
        explain(sc.figures[-1], "run 1: the trigger with its callees took "
                + " vs ".join(f"{trigger[name] * 1000 / n:.0f} us per insert ({name})" for name in (big, small)))
    return sc
