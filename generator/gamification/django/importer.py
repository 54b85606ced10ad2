"""A django-gamification database into the extension
(``manage.py gamification_import django-gamification``; README, "Moving from
django-gamification").

Read through django-gamification's own models (``django_gamification`` stays in
INSTALLED_APPS until the import is done), written in one transaction of the gamification
database:

- ``Category`` -> ``category_register``, ``BadgeDefinition`` -> ``badge_register`` (name,
  description, points, category, ``target`` = progression_target when > 0, ``next`` =
  next_badge's code), ``UnlockableDefinition`` -> ``unlockable_register``. Codes are slugs
  of the names (``Gold star`` -> ``gold-star``), stable: for names that give the same slug,
  the lowest id keeps it and the others get ``-<id>``; a nameless one is ``badge-<id>``.
  A code already registered here is kept as it is (never overwritten: it may be a badge of
  your badge.json, triggers included) and the history goes to it.
- ``PointChange`` (amount, time), ``Badge`` acquired and not revoked, and
  ``Progression.progress`` -> ``history_import`` (point changes with their times; awards
  paying nothing, their points being among the point changes; progress).
- The user key is the primary key (as text) of the ``AUTH_USER_MODEL`` row whose foreign
  key to ``GamificationInterface`` points to the interface.

Every event is marked ``origin = 'import'`` and no signal is sent for them. A second import
would add the point changes again: it is refused while any of the users has imported events,
unless ``--force``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import DatabaseError, connections, transaction
from django.utils import timezone
from django.utils.text import slugify

from ..register import server_error
from . import conf

SOURCE = "django-gamification"
APP_LABEL = "django_gamification"
REASON = "django-gamification"  # the reason of the imported point changes
MAX_CODE = 63
MAX_DESCRIPTION = 4000


class DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


@dataclass
class Definition:
    code: str
    name: str
    definition: dict
    exists: bool = False


@dataclass
class Plan:
    user_field: str
    users: int = 0
    users_without_interface: int = 0
    interfaces_without_user: int = 0
    categories: list[Definition] = field(default_factory=list)
    badges: list[Definition] = field(default_factory=list)
    unlockables: list[Definition] = field(default_factory=list)
    points: list[dict] = field(default_factory=list)
    awards: list[dict] = field(default_factory=list)
    progress: list[dict] = field(default_factory=list)
    revoked: int = 0
    progress_without_target: int = 0
    notes: list[str] = field(default_factory=list)

    def history(self) -> dict:
        return {"points": self.points, "awards": self.awards, "progress": self.progress}

    def user_keys(self) -> list[str]:
        return sorted({e["user_id"] for section in self.history().values() for e in section})


def model(name: str):
    try:
        return apps.get_model(APP_LABEL, name)
    except LookupError as exc:
        raise CommandError(f"django-gamification is not installed: add {APP_LABEL!r} to INSTALLED_APPS "
                           "(its models are read to import its data; remove it after the import)") from exc


def interface_field(user_model, name: str | None = None) -> str:
    """The field of the user model that points to GamificationInterface (a ForeignKey or a
    OneToOneField): ``name`` checked, or the only one found."""
    interface = model("GamificationInterface")
    label = user_model._meta.label
    candidates = [f.name for f in user_model._meta.get_fields()
                  if f.concrete and (f.many_to_one or f.one_to_one) and f.related_model is interface]
    if name is not None:
        if name not in candidates:
            raise CommandError(f"{label}.{name} is not a foreign key to {APP_LABEL}.GamificationInterface"
                               + (f" (found: {', '.join(candidates)})" if candidates else ""))
        return name
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise CommandError(f"{label} (AUTH_USER_MODEL) has no foreign key to {APP_LABEL}.GamificationInterface: "
                           "pass --user-field NAME")
    raise CommandError(f"{label} has several foreign keys to {APP_LABEL}.GamificationInterface "
                       f"({', '.join(candidates)}): pass --user-field NAME")


def slug_codes(rows: list[tuple[int, str | None]], prefix: str) -> dict[int, str]:
    """id -> code for (id, name) rows: the name's slug (letters, digits, "-", "_"), unique:
    in id order, a slug already given gets "-<id>"; a name without any letter or digit gives
    "<prefix>-<id>". The same rows always give the same codes."""
    codes: dict[int, str] = {}
    taken: set[str] = set()
    for pk, name in sorted(rows):
        base = slugify(name or "")[:MAX_CODE].strip("-_") or f"{prefix}-{pk}"
        code, n = base, 1
        while code in taken:
            suffix = f"-{pk}" if n == 1 else f"-{pk}-{n}"
            code, n = base[:MAX_CODE - len(suffix)].rstrip("-_") + suffix, n + 1
        taken.add(code)
        codes[pk] = code
    return codes


def _text(value: str | None, limit: int = MAX_DESCRIPTION) -> str | None:
    return value[:limit] if value and value.strip() else None


def _at(value: datetime) -> str:
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value.isoformat()


def collect(user_field: str | None = None) -> Plan:
    """Read django-gamification's definitions and history (nothing is written)."""
    Category, BadgeDefinition = model("Category"), model("BadgeDefinition")
    UnlockableDefinition, PointChange = model("UnlockableDefinition"), model("PointChange")
    Badge = model("Badge")
    User = get_user_model()
    plan = Plan(user_field=interface_field(User, user_field))
    column = User._meta.get_field(plan.user_field).attname

    # The users: interface id -> the user's key (the primary key, as text).
    owners: dict[int, list[str]] = {}
    for pk, interface_id in User._default_manager.values_list("pk", column).order_by("pk"):
        if interface_id is None:
            plan.users_without_interface += 1
        else:
            owners.setdefault(interface_id, []).append(str(pk))
    shared = {i: keys for i, keys in owners.items() if len(keys) > 1}
    if shared:
        interface, keys = sorted(shared.items())[0]
        raise CommandError(f"{len(shared)} interface(s) belong to several users (interface {interface}: users "
                           f"{', '.join(keys[:5])}): each user's history must be its own; nothing was imported")
    keys = {i: users[0] for i, users in owners.items()}
    plan.users = len(keys)
    plan.interfaces_without_user = model("GamificationInterface")._default_manager.exclude(pk__in=keys).count()

    # Definitions.
    categories = list(Category._default_manager.values_list("pk", "name", "description"))
    category_codes = slug_codes([(pk, name) for pk, name, _ in categories], "category")
    for pk, name, description in sorted(categories):
        code = category_codes[pk]
        definition = {"code": code, "name": _text(name, 200) or code}
        if _text(description):
            definition["description"] = _text(description)
        plan.categories.append(Definition(code, definition["name"], definition))

    badges = list(BadgeDefinition._default_manager.values_list(
        "pk", "name", "description", "progression_target", "next_badge_id", "category_id", "points"))
    badge_codes = slug_codes([(row[0], row[1]) for row in badges], "badge")
    targets: dict[str, int | None] = {}
    for pk, name, description, target, next_id, category_id, points in sorted(badges):
        code = badge_codes[pk]
        definition = {"code": code, "name": _text(name, 200) or code}
        if _text(description):
            definition["description"] = _text(description)
        if points is not None and points < 0:
            plan.notes.append(f"badge {code}: {points} points is not allowed here (0 or more): registered with 0 "
                              "(its past point changes are imported as they are)")
        elif points:
            definition["points"] = points
        if category_id is not None:
            definition["category"] = category_codes[category_id]
        targets[code] = target if target and target > 0 else None
        if targets[code] is not None:
            definition["target"] = target
        if next_id is not None:
            definition["next"] = badge_codes[next_id]
        plan.badges.append(Definition(code, definition["name"], definition))

    unlockables = list(UnlockableDefinition._default_manager.values_list(
        "pk", "name", "description", "points_required"))
    unlockable_codes = slug_codes([(row[0], row[1]) for row in unlockables], "unlockable")
    for pk, name, description, required in sorted(unlockables):
        code = unlockable_codes[pk]
        definition = {"code": code, "name": _text(name, 200) or code, "points_required": max(required, 0)}
        if _text(description):
            definition["description"] = _text(description)
        plan.unlockables.append(Definition(code, definition["name"], definition))

    # History, for the interfaces that have a user.
    for interface_id, amount, at in PointChange._default_manager.filter(interface_id__in=keys) \
            .values_list("interface_id", "amount", "time").order_by("time", "pk"):
        plan.points.append({"user_id": keys[interface_id], "amount": amount, "reason": REASON, "at": _at(at)})
    for interface_id, definition_id, acquired, revoked, progress in Badge._default_manager \
            .filter(interface_id__in=keys) \
            .values_list("interface_id", "badge_definition_id", "acquired", "revoked", "progression__progress") \
            .order_by("interface_id", "badge_definition_id", "pk"):
        user, code = keys[interface_id], badge_codes[definition_id]
        if acquired and not revoked:
            plan.awards.append({"user_id": user, "code": code})
        elif acquired:
            plan.revoked += 1
        if progress is not None and progress > 0:  # 0 is no progress; a negative one (possible there) too
            if targets[code] is None:
                plan.progress_without_target += 1
            else:
                plan.progress.append({"user_id": user, "code": code, "progress": progress})
    return plan


def describe(plan: Plan) -> list[str]:
    User = get_user_model()
    lines = [f"Import from django-gamification (users: {User._meta.label}.{plan.user_field}):",
             f"  users: {plan.users} with an interface, {plan.users_without_interface} without (skipped)"
             + (f"; {plan.interfaces_without_user} interface(s) without a user (their data skipped)"
                if plan.interfaces_without_user else "")]
    for kind, definitions in (("categories", plan.categories), ("badges", plan.badges),
                              ("unlockables", plan.unlockables)):
        new = sum(1 for d in definitions if not d.exists)
        lines.append(f"  {kind}: {len(definitions)} ({new} new, {len(definitions) - new} already registered)")
        for d in definitions:
            if d.exists:
                lines.append(f"    = {d.code:<30} already registered: kept as it is")
            else:
                extra = {k: v for k, v in d.definition.items() if k not in ("code", "name", "description")}
                details = ", ".join(f"{k} {v}" for k, v in extra.items())
                lines.append(f"    + {d.code:<30} {d.name}" + (f" ({details})" if details else ""))
    point_users = len({e["user_id"] for e in plan.points})
    lines.append(f"  point changes: {len(plan.points)} ({point_users} users; reason {REASON!r}, with their times)")
    lines.append(f"  awards: {len(plan.awards)} (acquired and not revoked; paying nothing, dated now: "
                 f"django-gamification keeps no award time)"
                 + (f"; {plan.revoked} revoked, skipped" if plan.revoked else ""))
    lines.append(f"  progress: {len(plan.progress)}"
                 + (f" ({plan.progress_without_target} of badges without a target, skipped)"
                    if plan.progress_without_target else ""))
    lines.extend(f"  note: {note}" for note in plan.notes)
    return lines


def _existing(cursor, table: str, codes: list[str]) -> set[str]:
    cursor.execute(f"SELECT code FROM gamification.{table} WHERE code = ANY(%s)", [codes])
    return {row[0] for row in cursor.fetchall()}


def _keep_progress_with_target(cursor, plan: Plan) -> None:
    """Progress only for badges with a target: an imported badge's is known, an already
    registered badge (kept as it is) may have none."""
    kept = [d.code for d in plan.badges if d.exists]
    if not kept:
        return
    cursor.execute("SELECT code FROM gamification.badges WHERE code = ANY(%s) AND target IS NULL", [kept])
    untargeted = {row[0] for row in cursor.fetchall()}
    progress = [e for e in plan.progress if e["code"] not in untargeted]
    plan.progress_without_target += len(plan.progress) - len(progress)
    plan.progress = progress


def _register(cursor, function: str, definitions: list[Definition]) -> None:
    new = [d.definition for d in definitions if not d.exists]
    if new:
        cursor.execute(f"SELECT count(*) FROM gamification.{function}(%s::jsonb)", [json.dumps(new)])


def run(using: str | None = None, dry_run: bool = False, force: bool = False, user_field: str | None = None,
        write=print) -> dict:
    """Import, printing the plan first; the counts history_import() returned."""
    using = using or conf.database()
    plan = collect(user_field)
    connection = connections[using]
    result: dict = {}
    try:
        with transaction.atomic(using=using):
            connection.ensure_connection()
            # The driver's cursor, in Django's transaction: not through the app's execute
            # wrapper, so no in-process signal is sent for the imported events.
            with connection.connection.cursor() as cursor:
                # history_import() marks what it writes origin import itself (and puts the
                # setting back); registering definitions writes no event but first unlocks,
                # which unlockable_register() marks backfill.
                for table, definitions in (("category", plan.categories), ("badges", plan.badges),
                                           ("unlockable", plan.unlockables)):
                    existing = _existing(cursor, table, [d.code for d in definitions])
                    for d in definitions:
                        d.exists = d.code in existing
                _keep_progress_with_target(cursor, plan)
                users = plan.user_keys()
                cursor.execute("SELECT user_id, count(*) FROM gamification.event "
                               "WHERE origin = 'import' AND user_id = ANY(%s) GROUP BY 1 ORDER BY 1", [users])
                imported = cursor.fetchall()
                for line in describe(plan):
                    write(line)
                if imported and not force:
                    sample = ", ".join(user for user, _ in imported[:5])
                    raise CommandError(
                        f"{len(imported)} of these users already have imported history (events with origin "
                        f"'import': users {sample}{', ...' if len(imported) > 5 else ''}): importing again would "
                        "add their point changes twice. Nothing was imported. To import anyway, pass --force "
                        "(on a test database, SELECT gamification.data_reset() empties every user's data first).")
                _register(cursor, "category_register", plan.categories)
                _register(cursor, "badge_register", plan.badges)
                _register(cursor, "unlockable_register", plan.unlockables)
                cursor.execute("SELECT gamification.history_import(%s::jsonb)", [json.dumps(plan.history())])
                result = cursor.fetchone()[0]
                if isinstance(result, str):
                    result = json.loads(result)
            if dry_run:
                raise DryRun
    except DryRun:
        write(f"Dry run: would import {_counts(result)}; rolled back, nothing was changed.")
        return result
    except (DatabaseError, connection.Database.Error) as exc:
        # Django's error (reading), or the driver's (the raw cursor's statements)
        cause = exc if hasattr(exc, "diag") else exc.__cause__
        raise CommandError(str(server_error(cause)) if hasattr(cause, "diag") else str(exc)) from exc
    write(f"Imported {_counts(result)} (origin import; no signals sent).")
    return result


def _counts(result: dict) -> str:
    return ", ".join(f"{result.get(k, 0)} {label}" for k, label in
                     (("points", "point changes"), ("awards", "awards"), ("progress", "progress rows")))
