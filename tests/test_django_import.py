"""Moving from django-gamification (issue 20): ``manage.py gamification_import
django-gamification`` against that package's real models, in a real Django 5.2 project on
PostgreSQL 15 and 18; and a pytest-django suite using the README's fixture.

The project installs django_gamification (mattjegan's, from PyPI) beside gamification.django;
its user model (integer keys) holds a foreign key to GamificationInterface, as that package's
README asks. Its published migrations are used as they are except one line: 0003 imports
``django.utils.datetime_safe``, removed in Django 5.0 (upstream fixed it after the last
release, PR #43), so the test copies the installed migrations into the project
(MIGRATION_MODULES) with ``datetime_safe.datetime.now`` replaced by ``timezone.now``; the
tables are the package's. scenario.py builds its data through its own API (definitions
created after the interfaces, so that its models create the badges; award(), increment(),
force_revoke(); its signals module imported, as its tests do, for the unlockables), then the
command runs: --dry-run (nothing written), the import, a second run (refused), and the
extension's views are compared with django-gamification's own numbers.

Then pytest-django inside the same project: a fixture on transactional_db calling
gamification.django.test.reset_data(), with sequences reset so that every test's first
user has id 1: the second test's user inherits nothing; a third test without the fixture
shows what it prevents.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

pytest.importorskip("django")
django_gamification = pytest.importorskip("django_gamification")
pytest.importorskip("pytest_django")

SETTINGS = """
DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", "NAME": {dbname!r},
                          "HOST": {host!r}, "PORT": {port!r}, "USER": {user!r}}}}}
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django_gamification",
                  "gamification.django", "accounts"]
AUTH_USER_MODEL = "accounts.User"
MIGRATION_MODULES = {{"django_gamification": "dg_migrations"}}
INSTALLED_APPS[-1] = "accounts.apps.AccountsConfig"
SECRET_KEY = "test"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
"""

ACCOUNTS_MODELS = """
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    # django-gamification's README: the user holds a foreign key to an interface.
    interface = models.ForeignKey("django_gamification.GamificationInterface", null=True,
                                  on_delete=models.SET_NULL)
"""

# Every gamification signal this project's processes receive, one JSON line in $SIGNAL_LOG.
ACCOUNTS_APPS = """
import json
import os

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from gamification.django import signals

        def receive(sender, event, **kwargs):
            with open(os.environ["SIGNAL_LOG"], "a") as log:
                log.write(json.dumps({"kind": event.kind, "user_id": event.user_id}) + "\\n")

        for signal in signals.ALL:
            signal.connect(receive, weak=False)
"""

SCENARIO = """
import json
from datetime import datetime, timedelta, timezone

import django
django.setup()

import django_gamification.signals  # noqa: F401  (new interfaces get badges; unlockables follow points)
from django.contrib.auth import get_user_model
from django_gamification.models import (Badge, BadgeDefinition, Category, GamificationInterface, PointChange,
                                        UnlockableDefinition)

User = get_user_model()
users = {}
for name in ("alice", "bob", "carol", "dave"):
    users[name] = User.objects.create_user(name, interface=None if name == "dave" else GamificationInterface.objects.create())
orphan = GamificationInterface.objects.create()  # no user: its data is not imported

general = Category.objects.create(name="General", description="Everyday badges")
Category.objects.create(name="Events")
nameless = Category.objects.create(name=None)
silver = BadgeDefinition.objects.create(name="Silver Sketcher", progression_target=5, points=20, category=nameless)
BadgeDefinition.objects.create(name="Bronze Sketcher", description="Two sketches", progression_target=2,
                               next_badge=silver, points=10)
BadgeDefinition.objects.create(name="Star", points=5, category=general)
BadgeDefinition.objects.create(name="Star!", points=3)        # the same slug as Star
BadgeDefinition.objects.create(name="Helper", progression_target=0)  # no target, no points
UnlockableDefinition.objects.create(name="Gold Frame", description="A frame", points_required=15)
UnlockableDefinition.objects.create(name="Crown", points_required=100)

def badge(user, name):
    interface = user.interface if user is not None else orphan
    return Badge.objects.select_related("progression").get(interface=interface, name=name)

def award(user, name):
    b = badge(user, name)
    b.award()
    b.save()

def increment(user, name, times):
    b = badge(user, name)
    for _ in range(times):
        b.increment()
        b.progression.save()
    b.save()

alice, bob, carol = users["alice"], users["bob"], users["carol"]
award(alice, "Star")
increment(alice, "Bronze Sketcher", 2)          # acquired by progression (pays nothing there)
increment(alice, "Silver Sketcher", 3)
PointChange.objects.create(interface=alice.interface, amount=20)
award(bob, "Star"); b = badge(bob, "Star"); b.force_revoke(); b.save()   # revoked: +5 then -5
award(bob, "Star!")
increment(bob, "Silver Sketcher", 1)
award(carol, "Helper")
PointChange.objects.create(interface=carol.interface, amount=7)
PointChange.objects.create(interface=carol.interface, amount=-2)
award(None, "Star")                             # the orphan interface's

# Each point change at its own time in the past.
start = datetime(2019, 5, 1, 10, 0, tzinfo=timezone.utc)
times = {}
for i, change in enumerate(PointChange.objects.order_by("pk")):
    PointChange.objects.filter(pk=change.pk).update(time=start + timedelta(days=i, minutes=i))
    times.setdefault(str(change.interface_id), []).append((change.amount, (start + timedelta(days=i, minutes=i)).isoformat()))

def key(user):
    return str(user.pk)

out = {
    "keys": {name: key(u) for name, u in users.items()},
    "points": {key(u): u.interface.points for u in (alice, bob, carol)},
    "acquired": {key(u): sorted(b.name for b in Badge.acquired_objects.filter(interface=u.interface))
                 for u in (alice, bob, carol)},
    "progress": {key(u): sorted((b.name, b.progression.progress) for b in Badge.objects.filter(
                     interface=u.interface, progression__isnull=False) if b.progression.progress)
                 for u in (alice, bob, carol)},
    "unlocked": {key(u): sorted(x.name for x in u.interface.unlockable_set.filter(acquired=True))
                 for u in (alice, bob, carol)},
    "times": {key(u): times.get(str(u.interface_id), []) for u in (alice, bob, carol)},
}
print("RESULT " + json.dumps(out))
"""

PYTEST_INI = """
[pytest]
DJANGO_SETTINGS_MODULE = settings
"""

# The README's fixture, and user ids reused across tests (sequences reset).
PYTEST_SUITE = """
import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from gamification.django import api


@pytest.fixture
def gamification_db(transactional_db):
    from gamification.django.test import reset_data
    reset_data()


def earn(expected_points):
    user = get_user_model().objects.create_user("first")
    assert user.pk == 1  # the same id in every test
    with connection.cursor() as cur:
        cur.execute(\"\"\"SELECT gamification.badge_register('{"code": "welcome", "name": "Welcome", "points": 5}')\"\"\")
    before = (api.points(user), list(api.badges(user).values_list("code", flat=True)))
    api.award(user, "welcome")
    api.award_points(user, 2, "bonus")
    assert api.points(user) == expected_points
    return before


pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)


def test_first(gamification_db):
    assert earn(7) == (0, [])


def test_second_reuses_user_1_and_inherits_nothing(gamification_db):
    assert earn(7) == (0, [])


def test_without_the_fixture_user_1_inherits(transactional_db):
    # what the fixture prevents: the previous test's user 1 had 7 points and "welcome"
    assert earn(9) == (7, ["welcome"])
"""


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


class Project:
    def __init__(self, root: Path, server):
        self.root, self.server = root, server
        (root / "accounts" / "migrations").mkdir(parents=True)
        (root / "accounts" / "__init__.py").write_text("")
        (root / "accounts" / "migrations" / "__init__.py").write_text("")
        (root / "accounts" / "models.py").write_text(ACCOUNTS_MODELS)
        (root / "accounts" / "apps.py").write_text(ACCOUNTS_APPS)
        self.signal_log = root / "signals.jsonl"
        # django-gamification's published migrations, datetime_safe (gone in Django 5.0) replaced.
        published = Path(django_gamification.__file__).parent / "migrations"
        (root / "dg_migrations").mkdir()
        for migration in published.glob("*.py"):
            text = migration.read_text().replace("django.utils.datetime_safe.datetime.now", "django.utils.timezone.now")
            text = text.replace("import django.utils.datetime_safe", "import django.utils.timezone")
            (root / "dg_migrations" / migration.name).write_text(text)
        (root / "settings.py").write_text(SETTINGS.format(dbname=server.dbname, host=server.host,
                                                          port=str(server.port), user=server.user))
        (root / "scenario.py").write_text(SCENARIO)
        (root / "pytest.ini").write_text(PYTEST_INI)
        (root / "test_reuse.py").write_text(PYTEST_SUITE)

    def run(self, *argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *argv], cwd=self.root, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "DJANGO_SETTINGS_MODULE": "settings",
                                   "PYTHONPATH": str(self.root), "SIGNAL_LOG": str(self.signal_log)})

    def manage(self, *argv: str) -> subprocess.CompletedProcess:
        return self.run("-m", "django", *argv)


def counts(conn) -> dict:
    return {table: conn.execute(sql.SQL("SELECT count(*) FROM gamification.{}").format(sql.Identifier(table)))
            .fetchone()[0] for table in ("category", "badge", "unlockable", "event", "award", "progress", "unlock")}


def test_import_django_gamification_and_pytest_django(server, dsn, tmp_path):
    project = Project(tmp_path, server)
    ok(project.manage("makemigrations", "accounts"))
    ok(project.manage("migrate", "--noinput"))
    dg = json.loads(ok(project.run("scenario.py")).split("RESULT ", 1)[1])
    keys = dg["keys"]
    alice, bob, carol = keys["alice"], keys["bob"], keys["carol"]

    with psycopg.connect(dsn, autocommit=True) as conn:
        # A badge of the project's own with the code "star": kept as it is, the history goes to it.
        conn.execute("""SELECT gamification.badge_register('{"code": "star", "name": "Star (ours)", "points": 50}')""")
        empty = counts(conn)
        assert empty == {**dict.fromkeys(empty, 0), "badge": 1}

        # The dry run: the plan, the import run and rolled back.
        dry = ok(project.manage("gamification_import", "django-gamification", "--dry-run"))
        assert "(users: accounts.User.interface)" in dry, dry
        assert "users: 3 with an interface, 1 without (skipped); 1 interface(s) without a user" in dry, dry
        assert "categories: 3 (3 new, 0 already registered)" in dry, dry
        assert "badges: 5 (4 new, 1 already registered)" in dry and re.search(r"= star\s+already registered", dry)
        assert re.search(r"\+ bronze-sketcher\s+Bronze Sketcher \(points 10, target 2, next silver-sketcher\)", dry)
        assert re.search(r"\+ star-\d+\s+Star!", dry), dry
        assert "point changes: 7 (3 users" in dry and "awards: 4 (" in dry and "1 revoked, skipped" in dry, dry
        assert "progress: 3\n" in dry, dry
        assert "Dry run: would import 7 point changes, 4 awards, 3 progress rows; rolled back" in dry, dry
        assert counts(conn) == empty

        # The import, with the field named.
        done = ok(project.manage("gamification_import", "django-gamification", "--user-field", "interface"))
        assert "Imported 7 point changes, 4 awards, 3 progress rows (origin import; no signals sent)." in done, done
        star_bang = re.search(r"\+ (star-\d+)\s+Star!", done).group(1)

        q = lambda query, *args: [tuple(r) for r in conn.execute(query, args).fetchall()]
        assert q("SELECT code, name, description FROM gamification.category ORDER BY code") == [
            ("category-3", "category-3", None), ("events", "Events", None),
            ("general", "General", "Everyday badges")]
        assert q("SELECT code, name, description, points, category, target, next FROM gamification.badges "
                 "ORDER BY code") == sorted([
            ("bronze-sketcher", "Bronze Sketcher", "Two sketches", 10, None, 2, "silver-sketcher"),
            ("helper", "Helper", None, 0, None, None, None),
            ("silver-sketcher", "Silver Sketcher", None, 20, "category-3", 5, None),
            ("star", "Star (ours)", None, 50, None, None, None),
            (star_bang, "Star!", None, 3, None, None, None)])
        assert q("SELECT code, name, points_required FROM gamification.unlockable ORDER BY code") == [
            ("crown", "Crown", 100), ("gold-frame", "Gold Frame", 15)]

        # Totals: django-gamification's interface.points; the orphan's and dave's nothing.
        assert dict(q("SELECT user_id, points FROM gamification.user_points")) == \
            {alice: dg["points"][alice], bob: dg["points"][bob], carol: dg["points"][carol]} == \
            {alice: 25, bob: 3, carol: 5}
        # Badges held: acquired and not revoked there.
        held = {}
        for user, code in q("SELECT user_id, code FROM gamification.user_badges ORDER BY 1, 2"):
            held.setdefault(user, []).append(code)
        names = {"Star": "star", "Star!": star_bang, "Bronze Sketcher": "bronze-sketcher", "Helper": "helper"}
        assert held == {u: sorted(names[n] for n in dg["acquired"][u]) for u in (alice, bob, carol)} == \
            {alice: ["bronze-sketcher", "star"], bob: [star_bang], carol: ["helper"]}
        assert q("SELECT user_id, code, progress FROM gamification.user_progress ORDER BY 1, 2") == sorted(
            [(alice, "bronze-sketcher", 2), (alice, "silver-sketcher", 3), (bob, "silver-sketcher", 1)])
        assert dg["progress"][alice] == [["Bronze Sketcher", 2], ["Silver Sketcher", 3]]
        # Unlocks: alice's 25 points reach the Gold Frame, as there.
        assert q("SELECT user_id, unlockable_code FROM gamification.unlock") == [(alice, "gold-frame")]
        assert dg["unlocked"] == {alice: ["Gold Frame"], bob: [], carol: []}
        # Point changes with their times; awards paying nothing; everything marked import.
        for user in (alice, bob, carol):
            history = q("SELECT points, at FROM gamification.event WHERE user_id = %s AND kind = 'points_changed' "
                        "ORDER BY at, id", user)
            assert history == [(amount, datetime.fromisoformat(at)) for amount, at in dg["times"][user]], user
        assert q("SELECT DISTINCT origin FROM gamification.event") == [("import",)]
        assert q("SELECT kind, count(*), sum(points) FROM gamification.event GROUP BY 1 ORDER BY 1") == [
            ("badge_awarded", 4, 0), ("points_changed", 7, 33), ("unlockable_unlocked", 1, 0)]
        assert q("SELECT DISTINCT reason FROM gamification.event WHERE kind = 'points_changed'") == \
            [("django-gamification",)]
        imported = counts(conn)

        # A second run is refused, saying how to force it; nothing changes.
        again = project.manage("gamification_import", "django-gamification")
        assert again.returncode != 0
        assert "3 of these users already have imported history" in again.stderr, again.stderr
        assert "pass --force" in again.stderr and "Nothing was imported" in again.stderr, again.stderr
        assert "Traceback" not in again.stderr and not project.signal_log.exists()
        assert counts(conn) == imported
        wrong = project.manage("gamification_import", "django-gamification", "--user-field", "username")
        assert "accounts.User.username is not a foreign key to django_gamification.GamificationInterface" \
            in wrong.stderr, wrong.stderr

    # No signal was sent for the imported events; a live write's are.
    ok(project.manage("shell", "-c", "from gamification.django import api; api.award_points(%s, 1, 'live')" % alice))
    assert [json.loads(line) for line in project.signal_log.read_text().splitlines()] == \
        [{"kind": "points_changed", "user_id": alice}]

    # pytest-django in the project: the README's fixture, user ids reused.
    tested = project.run("-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider", "-q", "test_reuse.py")
    try:
        assert tested.returncode == 0, tested.stdout + tested.stderr
        assert "3 passed" in tested.stdout, tested.stdout
    finally:
        with psycopg.connect(server.admin_dsn(), autocommit=True) as su:
            su.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(f"test_{server.dbname}")))
