"""``gamification register FILE --dsn DSN [--dry-run] [--prune]``: badge_sync from a badge.json file.

Additions and changes are applied; badges registered in the database but missing from the
file are removed only with ``--prune``, or after a confirmation when stdin is a terminal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from .project import ProjectError

SYMBOLS = {"add": "+", "change": "~", "remove": "-", "keep": "=", "unlisted": "!"}
PLAN_SQL = "SELECT code, action FROM gamification.badge_sync(%s, dry_run => %s, prune => %s)"


def load_definitions(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise ProjectError(f"cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ProjectError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc


def server_error(exc: psycopg.Error) -> ProjectError:
    """The server's error as the user should read it: message, hint, SQLSTATE."""
    diag = exc.diag
    text = diag.message_primary or str(exc).strip()
    if diag.message_hint:
        text += f"\nHINT: {diag.message_hint}"
    if diag.sqlstate:
        text += f"\n(SQLSTATE {diag.sqlstate}; nothing was changed)"
    return ProjectError(text)


def plan_lines(path: Path, plan: list[tuple[str, str]]) -> list[str]:
    """The plan as printed before anything is applied (here and by the Django command)."""
    lines = [f"Plan for {path} ({len(plan)} badges):"]
    for code, action in plan:
        if action == "unlisted":
            lines.append(f"  {SYMBOLS[action]} {code:<30} not in file (kept; --prune removes it)")
        else:
            lines.append(f"  {SYMBOLS[action]} {code:<30} {action}")
    return lines


def applied_lines(plan: list[tuple[str, str]]) -> list[str]:
    """What was applied, and the badges kept because the file does not list them."""
    counts = {action: sum(1 for _, a in plan if a == action) for action in SYMBOLS if action != "unlisted"}
    lines = ["Applied: " + (", ".join(f"{n} {action}" for action, n in counts.items() if n) or "nothing")]
    kept = [code for code, action in plan if action == "unlisted"]
    if kept:
        lines.append(f"Kept {len(kept)} badge(s) not in the file: {', '.join(kept)} (--prune removes them).")
    return lines


def confirm_removal(codes: list[str]) -> bool:
    """Ask on the terminal whether the badges missing from the file go; no means keep."""
    try:
        answer = input(f"Remove the {len(codes)} badge(s) not in the file ({', '.join(codes)})? "
                       "Their awards are kept. [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def register(path: Path, dsn: str, dry_run: bool, prune: bool = False) -> list[tuple[str, str]]:
    """Print the plan, then apply it in one transaction unless ``dry_run``.

    Badges missing from the file are removed with ``prune``, or when the user confirms on a
    terminal; otherwise they are kept, and the output says so."""
    definitions = Jsonb(load_definitions(path))
    try:
        with psycopg.connect(dsn) as conn:
            plan = conn.execute(PLAN_SQL, [definitions, True, prune]).fetchall()
            conn.rollback()  # nothing held open while the user reads the plan
            print("\n".join(plan_lines(path, plan)))
            if dry_run:
                print("Dry run: nothing was changed.")
                return plan
            unlisted = [code for code, action in plan if action == "unlisted"]
            if unlisted and sys.stdin.isatty() and confirm_removal(unlisted):
                prune = True
                plan = [(code, "remove" if action == "unlisted" else action) for code, action in plan]
            applied = conn.execute(PLAN_SQL, [definitions, False, prune]).fetchall()
            if applied != plan:
                conn.rollback()
                raise ProjectError("the database changed since the plan was printed; nothing was changed, "
                                   "run the command again")
            conn.commit()
    except psycopg.Error as exc:
        raise server_error(exc) from exc
    print("\n".join(applied_lines(plan)))
    return plan
