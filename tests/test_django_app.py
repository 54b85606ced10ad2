"""The Django app, gamification.django, in a real Django project (issue 20), on PostgreSQL 15
and 18, with an integer user key (django.contrib.auth's User) and a UUID one (a custom
AUTH_USER_MODEL).

One project per server and key type, driven by subprocess like a developer would:
makemigrations and migrate from an empty database (the app's migration creates the
extension), gamification_sync --dry-run / create_badge_triggers / --prune with the
project's badge.json (Pionner on the user table's update, Collector at 5 sketches, Star at
1,000 views), then scenario.py: awards from ORM writes, a bulk write, a rollback and a raw
psql write; signals after commit only (in-process, then the gamification_events worker for
the psql write); accessors and querysets; then `manage.py test`, whose tests use
gamification.django.test (TestCase, TransactionTestCase reusing user ids) and the admin.
A role that is not superuser gets migrate's message saying what a superuser must run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

pytest.importorskip("django")

SETTINGS = """
import os
KIND = os.environ.get("USER_KIND", "int")
DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", "NAME": {dbname!r},
                          "HOST": {host!r}, "PORT": {port!r},
                          "USER": os.environ.get("DB_USER", {user!r})}}}}
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                  "django.contrib.messages", "django.contrib.admin", "gamification.django", "sketches"]
if KIND == "uuid":
    INSTALLED_APPS.append("accounts")
    AUTH_USER_MODEL = "accounts.User"
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware",
              "django.middleware.csrf.CsrfViewMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware",
              "django.contrib.messages.middleware.MessageMiddleware"]
TEMPLATES = [{{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {{"context_processors": ["django.template.context_processors.request",
                                                "django.contrib.auth.context_processors.auth",
                                                "django.contrib.messages.context_processors.messages"]}}}}]
ROOT_URLCONF = "urls"
SECRET_KEY = "test"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
GAMIFICATION_BADGES_FILE = os.path.join(os.path.dirname(__file__), f"badge-{{KIND}}.json")
GAMIFICATION_SYNC_ON_MIGRATE = os.environ.get("SYNC_ON_MIGRATE") == "1"
"""

URLS = """
from django.contrib import admin
from django.urls import path
urlpatterns = [path("admin/", admin.site.urls)]
"""

ACCOUNTS_MODELS = """
import uuid
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
"""

SKETCHES_MODELS = """
from django.conf import settings
from django.db import models


class DummySketch(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    hit_views = models.IntegerField(default=0)
    title = models.CharField(max_length=200, null=True)

    class Meta:
        db_table = "dummy_sketch"
"""

# Every signal received, as a JSON line in $SIGNAL_LOG, with what was true when it came.
SKETCHES_APPS = """
import json
import os

from django.apps import AppConfig


class SketchesConfig(AppConfig):
    name = "sketches"
    received = []

    def ready(self):
        from django.db import connection
        from gamification.django import signals

        def receiver(signal_name):
            def receive(sender, event, user_id, delivery, using, **kwargs):
                record = {"signal": signal_name, "user_id": user_id, "delivery": delivery, "id": event.id,
                          "kind": event.kind, "in_transaction": connection.in_atomic_block,
                          **{k: v for k, v in kwargs.items() if isinstance(v, (str, int, type(None)))}}
                SketchesConfig.received.append(record)
                if os.environ.get("SIGNAL_LOG"):
                    with open(os.environ["SIGNAL_LOG"], "a") as log:
                        log.write(json.dumps(record) + "\\n")
            return receive

        for name in ("badge_awarded", "badge_revoked", "points_changed", "unlockable_unlocked", "level_changed"):
            getattr(signals, name).connect(receiver(name), weak=False, dispatch_uid=name)
"""

BADGES = [
    {"name": "Pionner", "code": "pionner", "points": 10,
     "condition": "NEW.date_joined < now() - interval '1 year'",
     "trigger_condition": "update", "trigger_table": "{users}", "user_field": "id"},
    {"name": "Collector", "code": "collector", "points": 5,
     "condition": "count(id) >= 5 from dummy_sketch where user_id = NEW.user_id",
     "trigger_condition": "insert", "trigger_table": "dummy_sketch", "user_field": "user_id"},
    {"name": "Star", "code": "star", "points": 20, "condition": "NEW.hit_views >= 1000",
     "trigger_condition": "update", "trigger_table": "dummy_sketch", "user_field": "user_id",
     "update_of": ["hit_views"]},
]

SCENARIO = """
import json
import os
import subprocess
import sys
from datetime import timedelta

import django
django.setup()

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count
from django.template import Context, Template
from django.utils import timezone

from gamification.django import api
from gamification.django.models import Badge, PointsHistory, UserBadge, UserPoints, UserProgress
from sketches.apps import SketchesConfig
from sketches.models import DummySketch

User = get_user_model()
received = SketchesConfig.received
out = {}

def signals_for(user, delivery="commit"):
    return sorted((r["signal"], r["level"] if r["signal"] == "level_changed" else r.get("code")) for r in received
                  if r["user_id"] == str(user.pk) and r["delivery"] == delivery)

def held(user):
    return sorted(UserBadge.objects.filter(user=user).values_list("code", flat=True))

# Levels and an unlockable, registered beside the file's badges.
with connection.cursor() as cur:
    cur.execute(\"\"\"SELECT gamification.badge_register('[
      {"code": "sketch_bronze", "name": "Sketcher (bronze)", "target": 1, "next": "sketch_silver",
       "counter": {"table": "dummy_sketch", "user_field": "user_id"}},
      {"code": "sketch_silver", "name": "Sketcher (silver)", "target": 2,
       "counter": {"table": "dummy_sketch", "user_field": "user_id"}}]')\"\"\")
    cur.execute(\"\"\"SELECT gamification.unlockable_register('{"code": "frame", "name": "Frame", "points_required": 30}')\"\"\")
    cur.execute(\"\"\"SELECT gamification.level_register('[{"point_type": "points", "number": 1, "name": "Contributor", "points_required": 5},
      {"point_type": "points", "number": 2, "name": "Regular", "points_required": 30}]')\"\"\")

# The worker's consumer exists before the writes (it reads what ends after it is registered).
from django.core.management import call_command
call_command("gamification_events", verbosity=0)
received.clear()

# Pionner: an old account, updated through the ORM (autocommit).
alice = User.objects.create_user("alice")
User.objects.filter(pk=alice.pk).update(date_joined=timezone.now() - timedelta(days=800))
bob = User.objects.create_user("bob")
alice.refresh_from_db(); alice.first_name = "Alice"; alice.save()
bob.first_name = "Bob"; bob.save()
out["pionner"] = sorted(User.objects.filter(gamification_badges__code="pionner").values_list("username", flat=True))

# Collector: alice one by one, in autocommit; bob in one bulk INSERT.
for i in range(5):
    DummySketch.objects.create(user=alice, title=f"a{i}")
DummySketch.objects.bulk_create([DummySketch(user=bob, title=f"b{i}") for i in range(5)])

# Inside a transaction: nothing is sent before the commit, everything right after.
erin = User.objects.create_user("erin")
with transaction.atomic():
    for i in range(5):
        DummySketch.objects.create(user=erin)
    out["erin_before_commit"] = signals_for(erin)
out["erin_after_commit"] = signals_for(erin)

# A rollback: no award, no signal.
carol = User.objects.create_user("carol")
try:
    with transaction.atomic():
        DummySketch.objects.bulk_create([DummySketch(user=carol) for _ in range(5)])
        raise RuntimeError("rolled back")
except RuntimeError:
    pass
out["carol"] = {"held": held(carol), "signals": signals_for(carol), "sketches": DummySketch.objects.filter(user=carol).count()}

# Star: an ORM update of hit_views.
sketch = DummySketch.objects.filter(user=alice).first()
sketch.hit_views = 1000
sketch.save(update_fields=["hit_views"])

# A raw psql write for dave: awarded by the trigger, no in-process signal.
dave = User.objects.create_user("dave")
DummySketch.objects.create(user=dave)
subprocess.run([os.environ["PSQL"], "-X", "-v", "ON_ERROR_STOP=1", "-d", os.environ["PSQL_DSN"], "-c",
                f"UPDATE dummy_sketch SET hit_views = 5000 WHERE user_id = '{dave.pk}'"], check=True,
               capture_output=True)
out["dave_in_process"] = signals_for(dave)

# Manual functions: a revoke through the API.
with transaction.atomic():
    api.award(bob, "star")
    api.revoke(bob, "star")
    out["bob_before_commit"] = [s for s in signals_for(bob) if s[1] == "star"]

out["signals"] = {name: signals_for(u) for name, u in
                  [("alice", alice), ("bob", bob), ("erin", erin), ("dave", dave)]}
out["all_after_commit"] = all(not r["in_transaction"] for r in received)
out["level_changed"] = sorted((r["point_type"], r["previous"], r["level"], r["name"]) for r in received
                              if r["signal"] == "level_changed" and r["user_id"] == str(alice.pk))
out["points_changed_alice"] = sorted(r["amount"] for r in received
                                     if r["signal"] == "points_changed" and r["user_id"] == str(alice.pk))

# The worker: every event since its consumer was registered, dave's psql write included.
received.clear()
call_command("gamification_events", verbosity=0)
out["worker_dave"] = signals_for(dave, "worker")
out["worker_total"] = len(received)
call_command("gamification_events", verbosity=0)  # acknowledged: nothing again
out["worker_again"] = len(received) - out["worker_total"]

# Accessors and querysets, no cast in sight.
out["held"] = {u.username: held(u) for u in (alice, bob, carol, dave, erin)}
out["api_badges"] = sorted(api.badges(alice).values_list("code", flat=True))
out["api_points"] = {u.username: api.points(u) for u in (alice, bob, carol, dave)}
# Point types and levels: another type's total and the user's level, through the api.
from gamification.django.models import UserPointsByType
alice_level = api.level(alice)
out["alice_level"] = [alice_level.level, alice_level.name, alice_level.next_level]
with connection.cursor() as cur:
    cur.execute(\"\"\"SELECT gamification.point_type_register('{"code": "xp", "name": "Experience"}')\"\"\")
api.award_points(alice, 7, "quest", point_type="xp")
out["alice_xp"] = api.points(alice, "xp")
out["alice_by_type"] = sorted(UserPointsByType.objects.filter(user=alice).values_list("point_type", "points"))
call_command("gamification_events", verbosity=0)  # the worker's consumer reads the xp award too
# A leaderboard registered now is filled from the log; standings come with their users.
from gamification.django.models import Leaderboard
with connection.cursor() as cur:
    cur.execute(\"\"\"SELECT gamification.leaderboard_register('[{"code": "all_time", "name": "All time", "period": "all"},
        {"code": "collectors", "name": "Collectors", "ranks_by": "badges"}]')\"\"\")
out["boards"] = list(Leaderboard.objects.values_list("code", "ranks_by", "point_type"))
out["collectors"] = [[s.user.username, s.score] for s in api.leaderboard("collectors", 1)]
out["top"] = [[s.rank, s.user.username, s.score] for s in api.leaderboard("all_time", 2)]
out["around_dave"] = [[s.rank, s.user.username] for s in api.rank(dave, "all_time", around=1)][:2]
out["has_badge"] = [api.has_badge(alice, "star"), api.has_badge(bob, "star"), api.has_badge(str(alice.pk), "star")]
out["holding_collector"] = sorted(api.holding("collector").values_list("username", flat=True))
out["leaderboard"] = list(api.with_points().order_by("-gamification_total_points", "username")
                          .values_list("username", "gamification_total_points")[:3])
out["badge_counts"] = dict(api.with_badge_count(User.objects.filter(username__in=["alice", "carol"]))
                           .values_list("username", "gamification_badge_count"))
out["reverse"] = sorted(alice.gamification_badges.values_list("code", flat=True))
out["filter_user"] = sorted(UserBadge.objects.filter(user=alice).values_list("code", flat=True))
out["filter_pk"] = sorted(UserBadge.objects.filter(user=alice.pk).values_list("code", flat=True))
out["filter_in"] = UserBadge.objects.filter(user__in=User.objects.filter(username="bob")).count()
out["filter_username"] = sorted(UserBadge.objects.filter(user__username="dave").values_list("code", flat=True))
out["users_with_star"] = sorted(User.objects.filter(gamification_badges__code="star").values_list("username", flat=True))
out["users_without_badges"] = sorted(User.objects.exclude(gamification_badges__isnull=False).values_list("username", flat=True))
out["users_not_star"] = sorted(User.objects.exclude(gamification_badges__code="star").values_list("username", flat=True))
out["annotated"] = dict(User.objects.filter(username__in=["alice", "bob"]).annotate(n=Count("gamification_badges"))
                        .values_list("username", "n"))
out["rich"] = sorted(User.objects.filter(gamification_points__points__gte=30).values_list("username", flat=True))
out["prefetch"] = {u.username: sorted(b.code for b in u.gamification_badges.all())
                   for u in User.objects.filter(username__in=["alice", "dave"]).prefetch_related("gamification_badges")}
out["select_related"] = sorted({b.user.username for b in UserBadge.objects.select_related("user").filter(code="collector")})
out["progress"] = api.progress(alice)
out["unlockables"] = sorted(api.unlockables(alice).values_list("code", flat=True))
out["history"] = list(PointsHistory.objects.filter(user=bob).values_list("amount", "reason"))
out["catalogue"] = sorted(row["code"] for row in api.catalogue(alice) if row["awarded_at"])
out["template"] = Template('{% load gamification %}{{ user|points }} {% for b in user|badges %}{{ b.code }} {% endfor %}'
                           '{% if user|has_badge:"star" %}star!{% endif %}').render(Context({"user": alice}))
out["badges"] = list(Badge.objects.values_list("code", flat=True))
try:
    UserBadge.objects.first().save()
except TypeError as exc:
    out["read_only"] = str(exc)
print("RESULT " + json.dumps(out, default=str))
"""

PROJECT_TESTS = """
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from gamification.django import api, signals
from gamification.django.test import TestCase, TransactionTestCase
from gamification.django.models import UserBadge
from sketches.models import DummySketch

User = get_user_model()


class Sync:
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        from django.core.management import call_command
        call_command("gamification_sync", verbosity=0, stdout=open("/dev/null", "w"))


class FreshData(Sync, TransactionTestCase):
    # Django truncates the tables after each test and restarts their ids: both tests' first
    # user has the same key, and starts from nothing.
    reset_sequences = True

    def make_collector(self):
        user = User.objects.create_user("u")
        DummySketch.objects.bulk_create([DummySketch(user=user) for _ in range(5)])
        self.assertEqual(list(api.badges(user).values_list("code", flat=True)), ["collector"])
        self.assertEqual(api.points(user), 5)

    def test_one(self):
        self.make_collector()

    def test_two_same_user_key(self):
        self.make_collector()


class RolledBack(Sync, TestCase):
    def test_awards_are_visible_inside_the_test_and_signals_run_on_commit(self):
        user = User.objects.create_user("t")
        got = []
        receiver = lambda sender, code, **kw: got.append(code)
        signals.badge_awarded.connect(receiver)
        try:
            with self.captureOnCommitCallbacks(execute=True):
                DummySketch.objects.bulk_create([DummySketch(user=user) for _ in range(5)])
                self.assertEqual(api.badges(user).count(), 1)  # before the (never reached) commit
                self.assertEqual(got, [])
        finally:
            signals.badge_awarded.disconnect(receiver)
        self.assertEqual(got, ["collector"])


class Admin(Sync, TransactionTestCase):
    def test_read_only_admin_and_its_actions(self):
        admin_user = User.objects.create_superuser("admin", "a@example.org", "pw")
        user = User.objects.create_user("v")
        DummySketch.objects.bulk_create([DummySketch(user=user) for _ in range(5)])
        client = Client()
        client.force_login(admin_user)
        for model in ("badge", "userbadge", "userpoints", "userprogress", "unlockable", "pointshistory"):
            page = client.get(f"/admin/gamification_pg/{model}/")
            self.assertEqual(page.status_code, 200, model)
        page = client.get("/admin/gamification_pg/userbadge/")
        self.assertContains(page, "collector")
        self.assertNotContains(page, "Add award")
        row = UserBadge.objects.get(user=user)
        self.assertEqual(client.get(f"/admin/gamification_pg/userbadge/{row.pk}/change/").status_code, 200)
        # Award star to the user through the intermediate page, then revoke collector.
        form = client.post("/admin/gamification_pg/badge/", {"action": "award", "_selected_action": ["star"]})
        self.assertContains(form, "badge_award")
        done = client.post("/admin/gamification_pg/badge/", {"action": "award", "_selected_action": ["star"],
                                                             "apply": "yes", "users": str(user.pk)}, follow=True)
        self.assertContains(done, "1 new award")
        self.assertTrue(api.has_badge(user, "star"))
        done = client.post("/admin/gamification_pg/userbadge/", {"action": "revoke", "_selected_action": [row.pk]},
                           follow=True)
        self.assertContains(done, "1 award(s) revoked")
        self.assertEqual(sorted(api.badges(user).values_list("code", flat=True)), ["star"])
        self.assertEqual(api.points(user), 20)
"""


class Project:
    def __init__(self, root: Path, server, kind: str):
        self.root, self.server, self.kind = root, server, kind
        for app in ("sketches", "accounts"):
            (root / app / "migrations").mkdir(parents=True)
            (root / app / "__init__.py").write_text("")
            (root / app / "migrations" / "__init__.py").write_text("")
        (root / "settings.py").write_text(SETTINGS.format(dbname=server.dbname, host=server.host,
                                                          port=str(server.port), user=server.user))
        (root / "urls.py").write_text(URLS)
        (root / "accounts" / "models.py").write_text(ACCOUNTS_MODELS)
        (root / "sketches" / "models.py").write_text(SKETCHES_MODELS)
        (root / "sketches" / "apps.py").write_text(SKETCHES_APPS)
        (root / "sketches" / "tests.py").write_text(PROJECT_TESTS)
        (root / "scenario.py").write_text(SCENARIO)
        users = "accounts_user" if kind == "uuid" else "auth_user"
        (root / f"badge-{kind}.json").write_text(json.dumps(BADGES).replace("{users}", users))
        self.signal_log = root / "signals.jsonl"

    def run(self, *argv: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *argv], cwd=self.root, capture_output=True, text=True, timeout=600,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "settings", "PYTHONPATH": str(self.root),
                 "USER_KIND": self.kind, "SIGNAL_LOG": str(self.signal_log),
                 "PSQL": str(self.server.installation.tool("psql")), "PSQL_DSN": self.server.dsn, **env})

    def manage(self, *argv: str, **env: str) -> subprocess.CompletedProcess:
        return self.run("-m", "django", *argv, **env)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("kind", ["int", "uuid"])
def test_django_project(server, dsn, tmp_path, kind):
    project = Project(tmp_path, server, kind)
    made = ok(project.manage("makemigrations", "sketches", *(["accounts"] if kind == "uuid" else [])))
    assert "Create model DummySketch" in made
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP EXTENSION gamification")  # the test database has it: migrate from empty
        migrated = ok(project.manage("migrate", "--noinput"))
        assert "Applying gamification_pg.0001_initial... OK" in migrated
        assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'gamification'").fetchone()
        assert "No changes detected" in ok(project.manage("makemigrations", "--check", "--dry-run"))

        # badge.json: a dry run, then the django-pg-badges command name, then --prune.
        dry = ok(project.manage("gamification_sync", "--dry-run"))
        assert "Plan for" in dry and "+ pionner" in dry and "Dry run: nothing was changed." in dry, dry
        assert conn.execute("SELECT count(*) FROM gamification.badges").fetchone() == (0,)
        conn.execute("""SELECT gamification.badge_register('{"code": "old", "name": "Old"}')""")
        created = ok(project.manage("create_badge_triggers"))
        assert "Applied: 3 add" in created and "! old" in created and "Kept 1 badge(s)" in created, created
        pruned = ok(project.manage("gamification_sync", "--prune"))
        assert "- old" in pruned and "= star" in pruned and "Applied: 1 remove" in pruned, pruned
        assert [r[0] for r in conn.execute("SELECT code FROM gamification.badges ORDER BY code")] == \
            ["collector", "pionner", "star"]
        # GAMIFICATION_SYNC_ON_MIGRATE: migrate ends by applying the file (off by default).
        conn.execute("SELECT gamification.badge_unregister('star')")
        ok(project.manage("migrate", "--noinput"))
        assert conn.execute("SELECT count(*) FROM gamification.badges WHERE code = 'star'").fetchone() == (0,)
        synced = ok(project.manage("migrate", "--noinput", SYNC_ON_MIGRATE="1"))
        assert "+ star" in synced, synced
        assert conn.execute("SELECT count(*) FROM gamification.badges WHERE code = 'star'").fetchone() == (1,)

        result = json.loads(ok(project.run("scenario.py")).split("RESULT ", 1)[1])
        # keys of users, as the extension stores them (for the UUID project, UUIDs)
        keys = {r[0]: r[1] for r in conn.execute(f"SELECT username, id::text FROM "
                                                  f"{'accounts_user' if kind == 'uuid' else 'auth_user'}")}
    if kind == "uuid":
        assert all(uuid.UUID(key) for key in keys.values())

    assert result["pionner"] == ["alice"]
    # Awards from ORM writes, a bulk write, a transaction, a psql write; none from a rollback.
    assert result["held"] == {"alice": ["collector", "pionner", "sketch_bronze", "sketch_silver", "star"],
                              "bob": ["collector", "sketch_bronze", "sketch_silver"],
                              "carol": [], "dave": ["sketch_bronze", "star"],
                              "erin": ["collector", "sketch_bronze", "sketch_silver"]}
    assert result["carol"] == {"held": [], "signals": [], "sketches": 0}
    # Signals: after commit, never before it, never for a rollback nor another client's write.
    assert result["erin_before_commit"] == []
    assert result["erin_after_commit"] == [["badge_awarded", "collector"], ["badge_awarded", "sketch_bronze"],
                                           ["badge_awarded", "sketch_silver"], ["level_changed", 1],
                                           ["points_changed", "collector"]]
    assert result["bob_before_commit"] == []
    assert result["all_after_commit"] is True
    signals = result["signals"]
    assert ["badge_awarded", "pionner"] in signals["alice"] and ["badge_awarded", "star"] in signals["alice"]
    assert ["unlockable_unlocked", "frame"] in signals["alice"]
    assert ["badge_awarded", "collector"] in signals["bob"]  # the bulk write
    assert ["badge_revoked", "star"] in signals["bob"] and ["points_changed", "star"] in signals["bob"]
    # the ORM's sketch, not the psql write's star
    assert result["dave_in_process"] == [["badge_awarded", "sketch_bronze"]]
    # Levels (level_register): alice's 10 + 5 + 20 points cross 5 (Contributor) and 30 (Regular).
    assert result["level_changed"] == [["points", 0, 1, "Contributor"], ["points", 1, 2, "Regular"]]
    assert result["points_changed_alice"] == [5, 10, 20]
    # The worker delivers every client's events, the psql write's included, once.
    assert ["badge_awarded", "star"] in result["worker_dave"] and ["points_changed", "star"] in result["worker_dave"]
    assert result["worker_total"] > 10 and result["worker_again"] == 0

    # Accessors and querysets for this key type.
    assert result["api_badges"] == result["held"]["alice"] == result["reverse"] == result["filter_user"] \
        == result["filter_pk"] == result["catalogue"] == result["prefetch"]["alice"]
    assert result["api_points"] == {"alice": 35, "bob": 5, "carol": 0, "dave": 20}
    assert result["alice_level"] == [2, "Regular", None]
    assert result["alice_xp"] == 7 and result["alice_by_type"] == [["points", 35], ["xp", 7]]
    assert result["boards"] == [["all_time", "points", "points"], ["collectors", "badges", None]]
    assert result["collectors"] == [["alice", len(result["held"]["alice"])]]  # a board of badges, filled from the log
    assert result["top"] == [[1, "alice", 35], [2, "dave", 20]]
    assert result["around_dave"] == [[1, "alice"], [2, "dave"]]
    assert result["has_badge"] == [True, False, True]
    assert result["holding_collector"] == ["alice", "bob", "erin"]
    assert result["leaderboard"] == [["alice", 35], ["dave", 20], ["bob", 5]]
    assert result["badge_counts"] == {"alice": 5, "carol": 0}
    assert result["filter_in"] == 3 and result["filter_username"] == ["sketch_bronze", "star"]
    assert result["users_with_star"] == ["alice", "dave"]
    assert result["users_without_badges"] == ["carol"]
    assert result["users_not_star"] == ["bob", "carol", "erin"]
    assert result["annotated"] == {"alice": 5, "bob": 3}
    assert result["rich"] == ["alice"]
    assert result["prefetch"]["dave"] == ["sketch_bronze", "star"]
    assert result["select_related"] == ["alice", "bob", "erin"]
    assert result["progress"]["sketch_silver"] == [5, 2]
    assert result["unlockables"] == ["frame"]
    assert result["history"] == [[5, "badge:collector"], [20, "badge:star"], [-20, "revoke:star"]]
    words = result["template"].split()
    assert words[0] == "35" and sorted(words[1:-1]) == result["held"]["alice"] and words[-1] == "star!", words
    assert result["badges"] == ["collector", "pionner", "sketch_bronze", "sketch_silver", "star"]
    assert "read-only" in result["read_only"]

    # The worker as its own process: a psql write, then `manage.py gamification_events`.
    project.signal_log.unlink(missing_ok=True)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT gamification.points_award(%s, 7, 'psql bonus')", (keys["carol"],))
    worked = ok(project.manage("gamification_events"))
    assert "sent the signals of 2 event(s)" in worked, worked
    lines = [json.loads(line) for line in project.signal_log.read_text().splitlines()]
    # carol's 7 points also reach level 1 (5 points): a level_changed event, after the points.
    assert [(r["signal"], r["user_id"], r["delivery"], r.get("amount", r.get("level"))) for r in lines] == \
        [("points_changed", keys["carol"], "worker", 7), ("level_changed", keys["carol"], "worker", 1)]

    # The project's own tests: test support (data reset, immediate awards) and the admin.
    tested = project.manage("test", "--noinput", "sketches")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "Ran 4 tests" in tested.stderr and "OK" in tested.stderr, tested.stderr


def test_migrate_says_what_a_superuser_must_run(server, tmp_path):
    """A role that may not create the extension: migrate fails, naming the statement."""
    suffix = uuid.uuid4().hex[:8]
    role, dbname = f"dj_app_{suffix}", f"dj_plain_{suffix}"
    with psycopg.connect(server.admin_dsn(), autocommit=True) as su:
        su.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        su.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(dbname), sql.Identifier(role)))
    try:
        class Plain:  # the settings of a database without the extension
            host, port, user = server.host, server.port, role
            installation, dsn = server.installation, f"host={server.host} port={server.port} user={role} dbname={dbname}"
        Plain.dbname = dbname
        project = Project(tmp_path, Plain, "int")
        ok(project.manage("makemigrations", "sketches"))
        failed = project.manage("migrate", "--noinput")
        assert failed.returncode != 0
        assert f'The role "{role}" may not create the extension gamification' in failed.stderr, failed.stderr
        assert "CREATE EXTENSION gamification;" in failed.stderr and "superuser" in failed.stderr
        assert f"GRANT gamification_admin TO \"{role}\"" in failed.stderr
        assert "Traceback" not in failed.stderr, failed.stderr
        # What the message says, then migrate again.
        with psycopg.connect(server.admin_dsn(dbname), autocommit=True) as su:
            su.execute("CREATE EXTENSION gamification")
            su.execute(sql.SQL("GRANT gamification_admin TO {}").format(sql.Identifier(role)))
        assert "Applying gamification_pg.0001_initial... OK" in ok(project.manage("migrate", "--noinput"))
    finally:
        with psycopg.connect(server.admin_dsn(), autocommit=True) as su:
            su.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
            su.execute(sql.SQL("REVOKE gamification_admin FROM {}").format(sql.Identifier(role)))
            su.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
