"""Timing helpers and the scenario plumbing: the Scenario record, its figures, and the
ways settings are measured against each other (interleaved runs, databases taking turns)."""

from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, Callable

import psycopg

from .badges import Setting
from .common import BULK_INSERT, SINGLE_INSERT, Options, Progress, Target, stats


# --------------------------------------------------------------------------- timing helpers

def settle(target: Target, dsn: str, tables: str = "events") -> None:
    with closing(psycopg.connect(dsn, autocommit=True)) as conn:
        conn.execute(f"VACUUM ANALYZE {tables}")
        target.checkpoint(conn)


def function_stats(target: Target, dsn: str) -> list[dict[str, Any]]:
    """Every function that ran in the database (registration included), most self time
    first. All of them, not a top few: the award cost reads _apply_grants, which is rarely
    among the functions with the most self time."""
    if not target.track_functions:
        return []
    with closing(psycopg.connect(dsn, autocommit=True)) as conn:
        rows = conn.execute(
            "SELECT schemaname || '.' || funcname, calls, round(total_time::numeric, 1)::float8, "
            "round(self_time::numeric, 1)::float8 FROM pg_stat_user_functions "
            "ORDER BY self_time DESC, funcname").fetchall()
    return [{"function": f, "calls": c, "total_ms": t, "self_ms": s} for f, c, t, s in rows]


# The extension's tables an award writes: its award row, its event, the user's total
# (once per user per statement), an unlock when a total crosses a threshold; and the
# counter progress that leads to it. The staging tables (rows of a write, taken back at
# its commit) are reported apart.
AWARD_TABLES = ("award", "event", "points_total", "unlock", "progress")
STAGING_TABLES = ("pending", "pending_commit")


def _table_counters(conn: psycopg.Connection) -> dict[str, tuple[int, int]]:
    rows = conn.execute(
        "SELECT relname, n_tup_ins, n_tup_upd FROM pg_stat_user_tables "
        "WHERE schemaname = 'gamification' AND relname = ANY(%s)",
        (list(AWARD_TABLES + STAGING_TABLES),)).fetchall()
    return {name: (ins, upd) for name, ins, upd in rows}


def table_writes(dsn: str, timeout: float = 10.0) -> dict[str, Any]:
    """Rows inserted and updated so far in AWARD_TABLES and STAGING_TABLES
    (pg_stat_user_tables), read once the statistics of every other session have arrived.
    A session flushes its statistics when it ends, a moment after it leaves
    pg_stat_activity: so wait until no other client is connected, until each award
    table's inserts equal its rows (nothing in the benchmark deletes from them), and
    until two reads 0.1 s apart agree. ``settled`` is False if that took longer than
    ``timeout`` (the figures may then miss a session's last writes)."""
    deadline = time.monotonic() + timeout
    previous: dict[str, tuple[int, int]] | None = None
    with closing(psycopg.connect(dsn, autocommit=True)) as conn:
        while True:
            others = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'").fetchone()[0]
            counters = _table_counters(conn)
            rows = {t: conn.execute(f"SELECT count(*) FROM gamification.{t}").fetchone()[0] for t in AWARD_TABLES}
            settled = (others == 0 and counters == previous
                       and all(counters.get(t, (0, 0))[0] == rows[t] for t in AWARD_TABLES))
            if settled or time.monotonic() > deadline:
                break
            previous = counters
            time.sleep(0.1)
    return {"settled": settled,
            "tables": {t: {"ins": counters.get(t, (0, 0))[0], "upd": counters.get(t, (0, 0))[1]}
                       for t in AWARD_TABLES + STAGING_TABLES}}


def rows_written(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What a measured run wrote, from two table_writes(): per table inserts + updates,
    their total over AWARD_TABLES, and the staging rows apart."""
    delta = {t: sum(after["tables"][t][k] - before["tables"][t][k] for k in ("ins", "upd"))
             for t in AWARD_TABLES + STAGING_TABLES}
    return {**{t: delta[t] for t in AWARD_TABLES}, "total": sum(delta[t] for t in AWARD_TABLES),
            "staged": sum(delta[t] for t in STAGING_TABLES),
            "settled": before["settled"] and after["settled"]}


def flush_stats(conn: psycopg.Connection) -> None:
    try:
        conn.execute("SELECT pg_stat_force_next_flush()")  # PostgreSQL 15+
        if not conn.autocommit:
            conn.commit()
        conn.execute("SELECT 1")
        if not conn.autocommit:
            conn.commit()
    except psycopg.Error:
        if not conn.autocommit:
            conn.rollback()


def time_bulk(dsn: str, rows: int, users: int) -> float:
    with closing(psycopg.connect(dsn)) as conn:
        t0 = time.perf_counter()
        conn.execute(BULK_INSERT, {"rows": rows, "users": users})
        conn.commit()
        elapsed = time.perf_counter() - t0
        flush_stats(conn)
    return elapsed


def single_rows(n: int, users: int) -> list[tuple[int, str, int]]:
    """n rows over about n/10 users (10 rows each), every kind, pseudo-random points."""
    group = max(1, min(users, n // 10))
    return [((i % group) + 1, f"k{(i // group) % 5}", (i * 2654435761 >> 7) & 1023) for i in range(n)]


def insert_rows(conn: psycopg.Connection, rows: list[tuple[int, str, int]], latencies: list[float]) -> float:
    """One autocommit INSERT per row; appends each latency, returns the seconds taken."""
    t0 = time.perf_counter()
    for row in rows:
        t = time.perf_counter()
        conn.execute(SINGLE_INSERT, row)
        latencies.append(time.perf_counter() - t)
    return time.perf_counter() - t0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency_us(seconds: float, latencies: list[float]) -> dict[str, float]:
    """Mean, median and 99th percentile of a run of single-row inserts, in microseconds."""
    return {"mean": 1e6 * seconds / len(latencies), "p50": 1e6 * percentile(latencies, 0.5),
            "p99": 1e6 * percentile(latencies, 0.99)}


# --------------------------------------------------------------------------- scenario plumbing

@dataclass
class Scenario:
    number: int
    title: str
    size: str = ""
    status: str = "ok"
    figures: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    verification: list[dict[str, Any]] = field(default_factory=list)
    function_stats: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"number": self.number, "title": self.title, "size": self.size, "status": self.status,
                "figures": self.figures, "settings": self.settings, "verification": self.verification,
                "function_stats": self.function_stats, "notes": self.notes, "error": self.error}


def ratio_figure(label: str, setting: str, baseline: str, values: list[float], base: list[float],
                 limit: float | None, size: str, higher_is_better: bool = False,
                 unit: str = "s") -> dict[str, Any]:
    ratios = [v / b if b else float("inf") for v, b in zip(values, base)]
    r = stats(ratios)
    met = None
    if limit is not None:
        met = r["median"] >= limit if higher_is_better else r["median"] <= limit
    return {"label": label, "kind": "ratio", "setting": setting, "baseline": baseline, "size": size,
            "unit": unit, "value": stats(values), "baseline_value": stats(base),
            "ratio": {"median": r["median"], "min": r["min"], "max": r["max"], "runs": ratios},
            "target": None if limit is None else {"op": ">=" if higher_is_better else "<=", "limit": limit},
            "met": met}


def time_figure(label: str, setting: str, seconds: list[float], limit_ms: float | None,
                size: str) -> dict[str, Any]:
    """An absolute time in milliseconds (leaderboard reads), not a ratio."""
    ms = stats([v * 1000 for v in seconds])
    return {"label": label, "kind": "time", "setting": setting, "size": size, "unit": "ms", "value": ms,
            "target": None if limit_ms is None else {"op": "<", "limit": limit_ms},
            "met": None if limit_ms is None else ms["median"] < limit_ms}


def count_figure(label: str, values: list[int], size: str) -> dict[str, Any]:
    return {"label": label, "kind": "count", "setting": "extension", "size": size,
            "value": stats(values), "total": sum(values),
            "target": {"op": "==", "limit": 0}, "met": sum(values) == 0}


def function_ms(sc: Scenario, setting: str, is_it: Callable[[str], bool]) -> float | None:
    """Run 1's total milliseconds in the first tracked function is_it picks (0 if none
    ran); None when functions were not tracked."""
    rows = sc.function_stats.get(setting)
    if not rows:
        return None
    return next((r["total_ms"] for r in rows if is_it(r["function"])), 0.0)


def award_ms(sc: Scenario, setting: str) -> float | None:
    """What applying the awards cost: _apply_grants with its callees (the award rows, their
    events, the totals and unlocks through _points_apply). Inside a write _grant_many only
    stages; _apply_grants runs at commit (from _apply_steps, or from _apply_counts when a
    counter reaches its target) and directly for a backfill or badge_award(). It never
    calls itself, so its total counts each call once."""
    return function_ms(sc, setting, lambda f: f == "gamification._apply_grants")


def commit_ms(sc: Scenario, setting: str) -> float | None:
    """The deferred trigger that applies a transaction's staged awards and counter steps at
    commit, with its callees."""
    return function_ms(sc, setting, lambda f: f == "gamification._apply_at_commit")


def trigger_ms(sc: Scenario, setting: str) -> float | None:
    """The generated trigger function with its callees."""
    return function_ms(sc, setting, lambda f: f.startswith("gamification.trg_"))


def run1_awards(sc: Scenario, setting: str) -> int:
    return next((v["awards"] for v in sc.verification if v.get("setting") == setting and v.get("run") == 1), 0)


def per_award(sc: Scenario, setting: str, awards: int | None = None) -> dict[str, Any] | None:
    """Run 1's cost per award: microseconds applying awards (award_ms) and rows written to
    AWARD_TABLES (the setting's rows_written of run 1), each over the awards of run 1
    (run1_awards unless given). None without function statistics, awards or row counts."""
    apply = award_ms(sc, setting)
    awards = run1_awards(sc, setting) if awards is None else awards
    written = sc.settings.get(setting, {}).get("rows_written")
    if apply is None or not awards or not written:
        return None
    rows = written[0]
    return {"awards": awards, "apply_ms": apply, "us": 1000 * apply / awards, "rows": rows["total"] / awards,
            "rows_by_table": {t: rows[t] / awards for t in AWARD_TABLES}, "staged": rows["staged"] / awards,
            "settled": rows["settled"]}


def attach_per_award(figure: dict[str, Any], sc: Scenario, setting: str, awards: int | None = None) -> None:
    cost = per_award(sc, setting, awards)
    if cost is not None:
        figure["per_award"] = cost


def explain(figure: dict[str, Any], why: str | None) -> None:
    """Attach a measured reason to a figure; the summary prints it under a target not met."""
    if why:
        figure["why"] = why


def interleaved(opts: Options, progress: Progress, tag: str, settings: list[Setting],
                measure: Callable[[Setting, int], float], scenario: Scenario) -> dict[str, list[float]]:
    """Run every setting once per run, in order, ``opts.runs`` times; their times."""
    times: dict[str, list[float]] = {s.name: [] for s in settings}
    # One untimed warm-up of the baseline, so that run 1 does not pay for a cold server.
    seconds = measure(settings[0], 0)
    progress(f"scenario {tag}, warm-up, {settings[0].name}: {seconds:.3f} s (not counted)")
    for run in range(1, opts.runs + 1):
        for s in settings:
            seconds = measure(s, run)
            times[s.name].append(seconds)
            progress(f"scenario {tag}, run {run}/{opts.runs}, {s.name}: {seconds:.3f} s")
    for name, values in times.items():
        scenario.settings.setdefault(name, {})["seconds"] = stats(values)
    return times


# --------------------------------------------------------------------------- settings against each other

def bulk_measure(target: Target, scenario: Scenario, rows: int, users: int,
                 settings: list[Setting]) -> Callable[[Setting, int], float]:
    def measure(s: Setting, run: int) -> float:
        dsn = s.prepare(target)
        settle(target, dsn)
        before = table_writes(dsn) if s.extension else None
        seconds = time_bulk(dsn, rows, users)
        if before is not None and run >= 1:
            scenario.settings.setdefault(s.name, {}).setdefault("rows_written", []).append(
                rows_written(before, table_writes(dsn)))
        with closing(psycopg.connect(dsn, autocommit=True)) as conn:
            check = s.verify(conn)
        if check.get("checked"):
            scenario.verification.append({"setting": s.name, "run": run, **check})
        if run == 1 and s.badges:  # (functions are tracked in every run; one is enough)
            scenario.function_stats[s.name] = function_stats(target, dsn)
        return seconds
    return measure


SINGLE_TURN = 100  # rows per setting per turn in the single-row scenarios


def take_turns(dsns: list[str], rows: list[tuple[int, str, int]]) -> tuple[list[float], list[list[float]]]:
    """The same autocommit inserts into every database, one connection each, taking turns
    every SINGLE_TURN rows: a commit's latency on a shared machine drifts over seconds, and
    taking turns puts every database in the same drift. Seconds and latencies per database."""
    elapsed = [0.0] * len(dsns)
    latencies: list[list[float]] = [[] for _ in dsns]
    conns = [psycopg.connect(dsn, autocommit=True) for dsn in dsns]
    try:
        for start in range(0, len(rows), SINGLE_TURN):
            turn = rows[start:start + SINGLE_TURN]
            for i, conn in enumerate(conns):
                elapsed[i] += insert_rows(conn, turn, latencies[i])
        for conn in conns:
            flush_stats(conn)
    finally:
        for conn in conns:
            conn.close()
    return elapsed, latencies


def single_turns(opts: Options, progress: Progress, tag: str, target: Target, settings: list[Setting],
                 rows: list[tuple[int, str, int]], scenario: Scenario) -> dict[str, list[float]]:
    """Single-row autocommit inserts for every setting, one database per setting, taking
    turns (take_turns: one setting after the other measured the disk of the moment).
    Times per setting, run."""
    times: dict[str, list[float]] = {s.name: [] for s in settings}
    for run in range(1, opts.runs + 1):
        dsns = [s.prepare(target, dbname=f"single{i}") for i, s in enumerate(settings)]
        for dsn in dsns:
            settle(target, dsn)
        before = [table_writes(dsn) if s.extension else None for s, dsn in zip(settings, dsns)]
        elapsed, latencies = take_turns(dsns, rows)
        for i, s in enumerate(settings):
            if before[i] is not None:
                scenario.settings.setdefault(s.name, {}).setdefault("rows_written", []).append(
                    rows_written(before[i], table_writes(dsns[i])))
            times[s.name].append(elapsed[i])
            scenario.settings.setdefault(s.name, {}).setdefault("latency_us", []).append(
                latency_us(elapsed[i], latencies[i]))
            with closing(psycopg.connect(dsns[i], autocommit=True)) as conn:
                check = s.verify(conn)
            if check.get("checked"):
                scenario.verification.append({"setting": s.name, "run": run, **check})
            if run == 1 and s.badges:
                scenario.function_stats[s.name] = function_stats(target, dsns[i])
        progress(f"scenario {tag}, run {run}/{opts.runs}, settings taking turns every {SINGLE_TURN} rows: "
                 + ", ".join(f"{s.name} {elapsed[i]:.3f} s" for i, s in enumerate(settings)))
    for name, values in times.items():
        scenario.settings.setdefault(name, {})["seconds"] = stats(values)
    return times
