"""badge.json into the database: ``badge_sync`` through Django's connection."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import CommandError
from django.db import DatabaseError, connections, transaction

from ..project import ProjectError
from ..register import applied_lines, load_definitions, plan_lines, server_error
from . import conf

PLAN_SQL = "SELECT code, action FROM gamification.badge_sync(%s::jsonb, dry_run => %s, prune => %s)"


def _plan(using: str, definitions: str, dry_run: bool, prune: bool) -> list[tuple[str, str]]:
    with connections[using].cursor() as cursor:
        cursor.execute(PLAN_SQL, [definitions, dry_run, prune])
        return [tuple(row) for row in cursor.fetchall()]


def sync(path: Path | None = None, using: str | None = None, dry_run: bool = False, prune: bool = False,
         write=print) -> list[tuple[str, str]]:
    """Print the plan for the badge file, then apply it in one transaction (unless dry_run).
    Badges the file does not list are removed (awards kept) only with ``prune``."""
    path = path or conf.badges_file()
    if path is None:
        raise CommandError("no badge file: set GAMIFICATION_BADGES_FILE in settings or pass --file PATH")
    using = using or conf.database()
    try:
        definitions = json.dumps(load_definitions(Path(path)))
    except ProjectError as exc:
        raise CommandError(str(exc)) from exc
    try:
        with transaction.atomic(using=using):
            plan = _plan(using, definitions, True, prune)
        for line in plan_lines(path, plan):
            write(line)
        if dry_run:
            write("Dry run: nothing was changed.")
            return plan
        with transaction.atomic(using=using):
            applied = _plan(using, definitions, False, prune)
            if applied != plan:
                raise CommandError("the database changed since the plan was printed; nothing was changed, "
                                   "run the command again")
    except DatabaseError as exc:
        cause = exc.__cause__
        raise CommandError(str(server_error(cause)) if cause is not None and hasattr(cause, "diag")
                           else str(exc)) from exc
    for line in applied_lines(plan):
        write(line)
    return plan
