"""``python -m bench`` (what ``make bench`` runs, from the repository root): the options
and the entry point."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gamification.project import ProjectError

from .common import Options
from .runner import run


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="measure what trigger badges cost inside writes (ratios against a baseline)")
    p.add_argument("--dsn", help="run on this server (scratch database created and dropped there) "
                                 "instead of a throwaway embedded PostgreSQL 18")
    p.add_argument("--runs", type=int, metavar="N", help="runs per setting; median, min, max (default 3)")
    p.add_argument("--rows", type=int, metavar="N", help="rows of the bulk insert and backfill (default 1,000,000)")
    p.add_argument("--single", type=int, metavar="N", help="single-row inserts per run (default 10,000)")
    p.add_argument("--history", type=int, metavar="N",
                   help="a user's history rows for the counter cost scenario (default 100,000; vs 10)")
    p.add_argument("--users", type=int, metavar="N", help="distinct users (default 10,000)")
    p.add_argument("--leaderboard-users", type=int, metavar="N",
                   help="users with points for the leaderboard reads (default 1,000,000)")
    p.add_argument("--scenarios", metavar="LIST", help="comma-separated scenario numbers 1-8 (default all)")
    p.add_argument("--json", type=Path, metavar="PATH",
                   help="where to write the results (default bench-results/latest.json)")
    p.add_argument("--quick", action="store_true", help="about 100x smaller sizes: a smoke run")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return run(Options.from_args(args))
    except ProjectError as exc:
        print(f"make bench: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
