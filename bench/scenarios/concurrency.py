"""Scenario 7: concurrency, pgbench's mixed insert/update on tracked tables."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg

from ..badges import Badge, Setting, counter_badge, plain
from ..common import BenchError, Options, Progress, Target, VerificationError, stats
from ..measure import (Scenario, attach_per_award, count_figure, explain, function_stats, ratio_figure,
                       rows_written, settle, table_writes)


PGBENCH_SCRIPT = """\\set uid random(1, :users)
\\set p random(0, 1023)
BEGIN;
INSERT INTO events (user_id, kind, points) VALUES (:uid, 'k' || (:p % 5), :p);
UPDATE profiles SET score = score + :p WHERE user_id = :uid;
END;
"""
# Two users per transaction, in random order: one row for each of two distinct random
# users, the lower user id first in about half of the transactions and the higher first in
# the others, so that concurrent transactions touch the same two users in opposite orders.
# Without the extension these inserts take no lock on each other: any deadlock or error is
# the extension's.
PGBENCH_TWO_USERS_SCRIPT = """\\set a random(1, :users)
\\set b 1 + (:a + random(0, :users - 2)) % :users
\\set lo least(:a, :b)
\\set hi greatest(:a, :b)
\\set p random(0, 1023)
\\set q random(0, 1023)
\\set low_first random(0, 1)
BEGIN;
\\if :low_first
INSERT INTO events (user_id, kind, points) VALUES (:lo, 'k' || (:p % 5), :p);
INSERT INTO events (user_id, kind, points) VALUES (:hi, 'k' || (:q % 5), :q);
\\else
INSERT INTO events (user_id, kind, points) VALUES (:hi, 'k' || (:q % 5), :q);
INSERT INTO events (user_id, kind, points) VALUES (:lo, 'k' || (:p % 5), :p);
\\endif
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


def run_pgbench(target: Target, opts: Options, dsn: str, script: Path, users: int) -> dict:
    """One pgbench run of script (opts' clients and seconds, users as :users), parsed;
    BenchError when pgbench reports no rate."""
    argv = [str(target.pgbench), "-n", "-M", "prepared", "-c", str(opts.pgbench_clients), "-j", "2",
            "-T", str(opts.pgbench_seconds), "-D", f"users={users}", "--failures-detailed", "-f", str(script), dsn]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=opts.pgbench_seconds + 300)
    parsed = parse_pgbench(result.stdout + result.stderr)
    if parsed["tps"] is None:
        raise BenchError(f"pgbench failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    return parsed


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
    base_setting = replace(plain(), ddl=PROFILES_DDL)
    pair_base = replace(base_setting, name="no badges, two users per transaction")
    pair = replace(storm, name="extension: counter + update condition, two users per transaction")
    workdir = Path(tempfile.mkdtemp(prefix="gamification-bench-"))
    mixed, two_users = workdir / "mixed.sql", workdir / "two_users.sql"
    mixed.write_text(PGBENCH_SCRIPT)
    two_users.write_text(PGBENCH_TWO_USERS_SCRIPT)
    # Every setting with its script, run in this order in every run.
    plan = [(base_setting, mixed), (storm, mixed), (holding, mixed), (handwritten, mixed)]
    if users >= 2:
        plan += [(pair_base, two_users), (pair, two_users)]
        sc.notes.append("two users per transaction: one INSERT into events for each of two distinct random "
                        "users, the lower id first in about half of the transactions (pgbench \\if), the "
                        "higher first in the others; the same duration and clients")
    else:
        sc.notes.append("two users per transaction: skipped (--users 1)")
    settings = [s for s, _ in plan]
    tps: dict[str, list[float]] = {s.name: [] for s in settings}
    # Errors and deadlocks per workload, over its extension runs.
    errors: dict[str, list[int]] = {"mixed": [], "two users": []}
    deadlocks: dict[str, list[int]] = {"mixed": [], "two users": []}
    try:
        for run in range(1, opts.runs + 1):
            for s, script in plan:
                workload = "two users" if script is two_users else "mixed"
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
                before = table_writes(dsn) if s.extension else None
                offset = target.log_offset()
                argv = [str(target.pgbench), "-n", "-M", "prepared", "-c", str(clients), "-j", "2",
                        "-T", str(opts.pgbench_seconds), "-D", f"users={users}", "--failures-detailed",
                        "-f", str(script), dsn]
                result = subprocess.run(argv, capture_output=True, text=True, timeout=opts.pgbench_seconds + 300)
                parsed = parse_pgbench(result.stdout + result.stderr)
                if parsed["tps"] is None:
                    raise BenchError(f"pgbench failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
                # After pgbench's sessions are gone and their statistics arrived (table_writes
                # waits for both): pg_stat_database and the function statistics are complete.
                if before is not None:
                    sc.settings.setdefault(s.name, {}).setdefault("rows_written", []).append(
                        rows_written(before, table_writes(dsn)))
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
                    errors[workload].append(parsed["failed"] + parsed["aborted_clients"] + parsed["log_errors"])
                    deadlocks[workload].append(max(parsed["deadlock_failures"], parsed["db_deadlocks"] or 0,
                                                   parsed["log_deadlocks"]))
                    sc.verification.append({"setting": s.name, "run": run, **check})
                    if run == 1:
                        sc.function_stats[s.name] = function_stats(target, dsn)
                progress(f"scenario 7 (pgbench), run {run}/{opts.runs}, {s.name}: {parsed['tps']:.0f} tps, "
                         f"{parsed['failed']} failed, {parsed['aborted_clients']} aborted clients")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    base = base_setting.name
    for name, values in tps.items():
        sc.settings[name]["tps"] = stats(values)

    def run1_awards_in_run(setting: Setting) -> int:
        return sc.settings[setting.name]["pgbench"][0]["awards_in_run"]

    sc.figures.append(ratio_figure("pgbench TPS with badges vs without", storm.name, base, tps[storm.name],
                                   tps[base], 0.85, size, higher_is_better=True, unit="tps"))
    attach_per_award(sc.figures[-1], sc, storm.name, run1_awards_in_run(storm))
    sc.figures.append(ratio_figure("  same badges, every user already holding both", holding.name, base,
                                   tps[holding.name], tps[base], 0.95, size, higher_is_better=True, unit="tps"))
    sc.figures.append(ratio_figure("  reference: hand-written one-upsert row trigger", handwritten.name, base,
                                   tps[handwritten.name], tps[base], None, size, higher_is_better=True, unit="tps"))
    runs = sc.settings[storm.name]["pgbench"]
    awards = sum(r["awards_in_run"] for r in runs)
    txns = sum(r["transactions"] for r in runs)
    held, by_hand = (f["ratio"]["median"] for f in sc.figures[1:3])
    cost = sc.figures[0].get("per_award")
    rows = "each award its row, an event and a total"
    if cost:
        progress_rows = cost["rows_by_table"]["progress"]
        rows = (f"in run 1 {cost['rows'] - progress_rows:.1f} rows written per award (its row, an event, "
                f"totals, unlocks) and {progress_rows:.1f} counter progress writes per award")
    explain(sc.figures[0], f"{awards:,} awards in {txns:,} transactions ({awards / max(txns, 1):.2f} per "
                           f"transaction): every user earns both badges during the run, {rows}; the same "
                           f"writes awarding nothing (badges already held) {held:.2f}x, a hand-written "
                           f"one-upsert trigger {by_hand:.2f}x")
    explain(sc.figures[1], f"nothing is awarded, but every insert is a counter step (counters count past "
                           f"their target): staged in the statement, applied at commit under the user's lock "
                           f"(docs/benchmarks.md, the write path as released in 0.2.0); the hand-written "
                           f"one-upsert trigger, which does its upsert inside the statement, {by_hand:.2f}x")
    sc.notes.append("Already holding both badges, the same writes award nothing; the hand-written trigger "
                    "is the least a counter kept in the writer's transaction costs.")
    sc.figures.append(count_figure("errors (failed txns, aborted clients, logged ERRORs)", errors["mixed"], size))
    sc.figures.append(count_figure("deadlocks", deadlocks["mixed"], size))
    if pair.name in tps:
        sc.figures.append(ratio_figure("two users per transaction, random order: TPS vs no badges", pair.name,
                                       pair_base.name, tps[pair.name], tps[pair_base.name], None, size,
                                       higher_is_better=True, unit="tps"))
        attach_per_award(sc.figures[-1], sc, pair.name, run1_awards_in_run(pair))
        pair_runs = sc.settings[pair.name]["pgbench"]
        explain(sc.figures[-1], f"{sum(r['awards_in_run'] for r in pair_runs):,} awards in "
                                f"{sum(r['transactions'] for r in pair_runs):,} transactions of two users each")
        sc.figures.append(count_figure("  two users per transaction: errors", errors["two users"], size))
        sc.figures.append(count_figure("  two users per transaction: deadlocks", deadlocks["two users"], size))
    if target.logfile is None:
        sc.notes.append("server log not readable (--dsn): deadlocks from pgbench and pg_stat_database only")
    return sc
