"""``gamification register FILE --dsn DSN [--dry-run]``: badge_sync from a badge.json file."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from .project import ProjectError

SYMBOLS = {"add": "+", "change": "~", "remove": "-", "keep": "="}


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


def register(path: Path, dsn: str, dry_run: bool) -> list[tuple[str, str]]:
    """Print the plan, then apply it in one transaction unless ``dry_run``."""
    definitions = Jsonb(load_definitions(path))
    try:
        with psycopg.connect(dsn) as conn:  # one transaction: committed on success only
            plan = conn.execute("SELECT code, action FROM gamification.badge_sync(%s, dry_run => true)",
                                [definitions]).fetchall()
            print(f"Plan for {path} ({len(plan)} badges):")
            for code, action in plan:
                print(f"  {SYMBOLS[action]} {code:<30} {action}")
            if dry_run:
                conn.rollback()
                print("Dry run: nothing was changed.")
                return plan
            conn.execute("SELECT gamification.badge_sync(%s)", [definitions])
            conn.commit()
    except psycopg.Error as exc:
        raise server_error(exc) from exc
    counts = {action: sum(1 for _, a in plan if a == action) for action in SYMBOLS}
    print("Applied: " + ", ".join(f"{n} {action}" for action, n in counts.items() if n))
    return plan
