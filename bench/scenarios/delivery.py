"""Scenario 8: what delivering events costs the writers (issue 18).

Every event is in the log whatever happens; delivery adds a NOTIFY at the commit of each
transaction that appended events (a cluster-wide lock, taken by notifying transactions only)
and a consumer reading the log with events_fetch/events_ack while the writers run. Each
pair below differs only in that: the same badges and writes, with `gamification.notify =
off` and nobody reading, against NOTIFY on and a consumer woken by it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from contextlib import closing
from pathlib import Path

import psycopg

from ..badges import Badge, Setting
from ..common import BenchError, Options, Progress, Target, VerificationError, stats
from ..measure import Scenario, explain, insert_rows, ratio_figure, settle
from .concurrency import PGBENCH_SCRIPT, PROFILES_DDL, run_pgbench

# The worst case for NOTIFY: every transaction appends an event.
PGBENCH_POINTS_SCRIPT = """\\set uid random(1, :users)
SELECT gamification.points_award(:uid, 1, 'bench');
"""
# A badge every first row of a user earns: each single-row insert below awards.
FIRST = Badge("first", {"code": "first", "name": "First", "points": 1, "condition": "true",
                        "trigger_condition": "insert", "trigger_table": "events", "user_field": "user_id"},
              "SELECT count(DISTINCT user_id) FROM events", "true")
COUNTER = Badge("cnt1", {"code": "cnt1", "name": "Counter 1", "points": 1, "target": 3,
                         "counter": {"table": "events", "user_field": "user_id", "on": "insert"}},
                "SELECT count(*) FROM (SELECT user_id FROM events GROUP BY user_id HAVING count(*) >= 3) s", "")
HIGH_SCORE = Badge("high_score", {"code": "high_score", "name": "High score", "points": 5,
                                  "condition": "NEW.score >= 1500", "trigger_condition": "update",
                                  "trigger_table": "profiles", "user_field": "user_id", "update_of": ["score"]},
                   "SELECT count(*) FROM profiles WHERE score >= 1500", "")
NOTIFY_SET = "ALTER DATABASE {db} SET gamification.notify = '{mode}'"
GATHER_SECONDS = 0.1  # what a worker waits after a wake-up before it fetches (the README's advice)


class Consumer:
    """A worker of consumer 'bench' in a thread: LISTEN, then fetch and acknowledge until
    the log is drained, wait for a wake-up (or 0.5 s) and 0.1 s more, again; counts what it got."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.delivered = 0
        self.wakeups = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Consumer":
        with closing(psycopg.connect(self.dsn, autocommit=True)) as conn:
            conn.execute("SELECT gamification.consumer_register('bench', from_start => true)")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def drain(self, conn: psycopg.Connection) -> int:
        got = 0
        while True:
            with conn.transaction():
                rows = conn.execute("SELECT id, txid FROM gamification.events_fetch('bench', 1000)").fetchall()
                if rows:
                    conn.execute("SELECT gamification.events_ack('bench', %s, %s)", (rows[-1][1], rows[-1][0]))
            got += len(rows)
            if not rows:
                return got

    def _run(self) -> None:
        try:
            with closing(psycopg.connect(self.dsn, autocommit=True)) as conn:
                conn.execute("LISTEN gamification_events")
                while not self._stop.is_set():
                    self.delivered += self.drain(conn)
                    woken = sum(1 for _ in conn.notifies(timeout=0.5, stop_after=1))
                    self.wakeups += woken
                    if woken:
                        # Gather: let the events of the next commits arrive and take them in one
                        # batch, instead of one fetch-and-acknowledge transaction per commit.
                        time.sleep(GATHER_SECONDS)
                self.delivered += self.drain(conn)
        except BaseException as exc:  # reported by the scenario
            self.error = exc


def prepare(setting: Setting, target: Target, notify: str, users: int) -> str:
    dsn = setting.prepare(target)
    with closing(psycopg.connect(dsn, autocommit=True)) as conn:
        conn.execute(NOTIFY_SET.format(db=conn.info.dbname, mode=notify))
        if "profiles" in " ".join(setting.ddl):
            conn.execute("INSERT INTO profiles (user_id) SELECT g FROM generate_series(1, %s) g", (users,))
    settle(target, dsn, "events")
    return dsn


def measure(setting: Setting, target: Target, notify: str | None, work) -> tuple[float, dict]:
    """Prepare a fresh database, run work(dsn) (returns its rate) with NOTIFY in mode
    notify and a consumer, or (notify None) with neither, and check that the consumer got
    every event once the run is over."""
    dsn = prepare(setting, target, notify or "off", work.users)
    if notify is None:
        rate, detail = work(dsn)
        return rate, detail
    with Consumer(dsn) as consumer:
        rate, detail = work(dsn)
    if consumer.error is not None:
        raise BenchError(f"{setting.name}: the consumer failed: {consumer.error}")
    with closing(psycopg.connect(dsn, autocommit=True)) as conn:
        logged = conn.execute("SELECT count(*) FROM gamification.event").fetchone()[0]
    if consumer.delivered != logged:
        raise VerificationError(f"{setting.name}: the consumer got {consumer.delivered} events, the log holds {logged}")
    detail.update(delivered=consumer.delivered, wakeups=consumer.wakeups)
    return rate, detail


class PgbenchWork:
    def __init__(self, target: Target, opts: Options, script: Path, users: int) -> None:
        self.target, self.opts, self.script, self.users = target, opts, script, users

    def __call__(self, dsn: str) -> tuple[float, dict]:
        parsed = run_pgbench(self.target, self.opts, dsn, self.script, self.users)
        return parsed["tps"], parsed


class SingleRowWork:
    """opts.single autocommit one-row inserts, each by a new user: every one awards."""

    def __init__(self, n: int) -> None:
        self.users = n
        self.rows = [(i + 1, "k0", 1) for i in range(n)]

    def __call__(self, dsn: str) -> tuple[float, dict]:
        latencies: list[float] = []
        with closing(psycopg.connect(dsn, autocommit=True)) as conn:
            seconds = insert_rows(conn, self.rows, latencies)
        return len(self.rows) / seconds, {"inserts": len(self.rows), "seconds": seconds}


def scenario_delivery(opts: Options, target: Target, progress: Progress) -> Scenario:
    users, clients = opts.users, opts.pgbench_clients
    size = f"pgbench {clients} clients x {opts.pgbench_seconds} s, {users:,} users; {opts.single:,} single-row inserts"
    sc = Scenario(8, "Event delivery: NOTIFY and a consumer, against neither", size)
    if target.pgbench is None:
        raise BenchError("pgbench not found (neither the server's, on PATH, nor the wheel's)")
    mixed_setting = Setting("scenario 7's badges", extension=True, badges=(COUNTER, HIGH_SCORE), ddl=PROFILES_DDL)
    points_setting = Setting("points_award in every transaction", extension=True)
    single_setting = Setting("a badge every single-row insert earns", extension=True, badges=(FIRST,))
    workdir = Path(tempfile.mkdtemp(prefix="gamification-bench-"))
    mixed, points = workdir / "mixed.sql", workdir / "points.sql"
    mixed.write_text(PGBENCH_SCRIPT)
    points.write_text(PGBENCH_POINTS_SCRIPT)
    mixed_work, points_work = PgbenchWork(target, opts, mixed, users), PgbenchWork(target, opts, points, users)
    # (label, setting, work, NOTIFY mode of the delivery run, target): each against the same
    # setting and work with neither NOTIFY nor a consumer, in the same run.
    rows = [("pgbench (scenario 7's writes): TPS with delivery vs without", mixed_setting, mixed_work, "awards",
             0.9, "tps"),
            ("  an event in every transaction (points), default NOTIFY", points_setting, points_work, "awards",
             None, "tps"),
            ("  the same with gamification.notify = all", points_setting, points_work, "all", None, "tps"),
            ("single-row inserts, each awarding: rate with delivery vs without", single_setting,
             SingleRowWork(opts.single), "awards", 0.9, "rows/s")]
    runs_of: dict[tuple[str, str | None], list[float]] = {}
    try:
        for run in range(1, opts.runs + 1):
            for label, setting, work, mode, _, _ in rows:
                for notify in (None, mode):
                    if (setting.name, notify) in runs_of and len(runs_of[(setting.name, notify)]) == run:
                        continue  # a baseline two rows share, measured once per run
                    rate, detail = measure(setting, target, notify, work)
                    runs_of.setdefault((setting.name, notify), []).append(rate)
                    key = f"NOTIFY {notify} + consumer" if notify else "neither"
                    sc.settings.setdefault(setting.name, {}).setdefault(key, []).append(detail)
                    progress(f"scenario 8 (delivery), run {run}/{opts.runs}, {setting.name}, {key}: {rate:.0f}/s")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for (name, notify), values in runs_of.items():
        key = f"NOTIFY {notify} + consumer" if notify else "neither"
        sc.settings[name][f"rate, {key}"] = stats(values)
    for label, setting, _, mode, limit, unit in rows:
        sc.figures.append(ratio_figure(label, f"{setting.name}, NOTIFY {mode} + consumer", f"{setting.name}, neither",
                                       runs_of[(setting.name, mode)], runs_of[(setting.name, None)], limit, size,
                                       higher_is_better=True, unit=unit))
        runs = sc.settings[setting.name][f"NOTIFY {mode} + consumer"]
        delivered = sum(r["delivered"] for r in runs)
        seconds = sum(r.get("seconds", opts.pgbench_seconds) for r in runs)
        if mode == "all":
            why = "every commit notifies and queues on NOTIFY's cluster-wide lock: why the default leaves points out"
        elif setting is points_setting:
            why = (f"no NOTIFY (points wake nobody by default): the consumer read {delivered / seconds:,.0f} "
                   f"events/s on the writers' {os.cpu_count()} cores")
        else:
            why = (f"{delivered:,} events delivered over the runs; the transactions that award notify, and "
                   "NOTIFY serialises their commits (a cluster-wide lock)")
        explain(sc.figures[-1], why)
    sc.notes.append("Delivery: NOTIFY in the mode shown and a consumer thread that LISTENs, waits 0.1 s after a "
                    "wake-up, fetches and acknowledges in batches of 1,000 while the writers run (polling every "
                    "0.5 s when not woken); neither: gamification.notify = off and no consumer. After each "
                    "delivery run the consumer had every event of the log.")
    return sc
