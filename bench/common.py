"""What every part of the benchmark shares: its options, progress lines, statistics,
errors, the tracked table's SQL, and the server it runs on (Target) with the lookups of
the extension and of pgbench."""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from gamification.project import EXTENSION, ProjectError
from gamification.server import Installation, embedded_installation


ALL_SCENARIOS = (1, 2, 3, 4, 5, 6, 7, 8)

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
            o.naive_rows, o.naive_users, o.pgbench_seconds = 10_000, 100, 2
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
                raise ProjectError(f"--scenarios: expected a comma-separated list of 1..8, got {args.scenarios!r}")
            if not chosen or any(s not in ALL_SCENARIOS for s in chosen):
                raise ProjectError(f"--scenarios: expected numbers among 1..8, got {args.scenarios!r}")
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
            f"or run `make bench` without --dsn to use a throwaway embedded server.")
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
