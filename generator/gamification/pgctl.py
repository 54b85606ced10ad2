"""``python -m gamification.pgctl BINDIR ARGS...``: pg_ctl that works as root.

pytest-postgresql runs ``pg_ctl initdb/start/status/stop`` itself, and PostgreSQL
refuses root. This stand-in for pg_ctl (see tests/conftest.py) runs the real
``BINDIR/pg_ctl`` as the server user when we are root, after handing that user the
directory pytest-postgresql made for the data directory and log file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .server import as_server_user, give_to_server_user, is_root


def _datadir(args: list[str]) -> Path | None:
    for flag, value in zip(args, args[1:]):
        if flag in ("-D", "--pgdata"):
            return Path(value)
    for arg in args:
        if arg.startswith("--pgdata="):
            return Path(arg.split("=", 1)[1])
    return None


def main() -> None:
    bindir, args = Path(sys.argv[1]), sys.argv[2:]
    datadir = _datadir(args)
    if is_root() and args[:1] == ["initdb"] and datadir is not None:
        give_to_server_user(datadir.parent)
    argv = as_server_user([str(bindir / "pg_ctl"), *args])
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main()
