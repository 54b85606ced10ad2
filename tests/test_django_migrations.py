"""A real Django 5.2 project migrates a tracked table (issue 16, "Schema changes").

Its migrations retype a column a badge watches (AlterField), rename it (RenameField) and
rename the table (AlterModelTable); `manage.py migrate` succeeds each time and the badges
keep awarding, the registry (badge_rule) following the new names. A RemoveField of a column
a badge uses makes `migrate` fail, naming the badge; after badge_unregister() it succeeds.
tests/test_migrations.py proves the same statement by statement with psycopg.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

BADGES = """[
  {"code": "first", "name": "First", "condition": "true",
   "trigger_condition": "insert", "trigger_table": "dummy_sketch", "user_field": "user_id"},
  {"code": "popular", "name": "Popular", "condition": "NEW.hit_views >= 100",
   "trigger_condition": "update", "trigger_table": "dummy_sketch", "user_field": "user_id",
   "update_of": ["hit_views"]}]"""

SETTINGS = """
DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", "NAME": {dbname!r},
                          "HOST": {host!r}, "PORT": {port!r}, "USER": {user!r}}}}}
INSTALLED_APPS = ["sketches"]
SECRET_KEY = "test"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
"""

MODEL = """
from django.db import models


class DummySketch(models.Model):
    user_id = models.IntegerField()
    {views}
    title = models.CharField(max_length=200, null=True)

    class Meta:
        db_table = {table!r}
"""

MIGRATION = """
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = {dependencies!r}
    operations = [{operation}]
"""

# (name, operation, the model's views field afterwards (None: removed), its table afterwards)
STEPS = [
    ("0001_initial", """migrations.CreateModel(name="DummySketch", fields=[
        ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False)),
        ("user_id", models.IntegerField()),
        ("hit_views", models.IntegerField(default=0)),
        ("title", models.CharField(max_length=200, null=True))],
        options={"db_table": "dummy_sketch"})""",
     "hit_views = models.IntegerField(default=0)", "dummy_sketch"),
    ("0002_bigint", """migrations.AlterField(model_name="dummysketch", name="hit_views",
        field=models.BigIntegerField(default=0))""",
     "hit_views = models.BigIntegerField(default=0)", "dummy_sketch"),
    ("0003_rename_views", """migrations.RenameField(model_name="dummysketch", old_name="hit_views",
        new_name="views")""",
     "views = models.BigIntegerField(default=0)", "dummy_sketch"),
    ("0004_rename_table", """migrations.AlterModelTable(name="dummysketch", table="sketch")""",
     "views = models.BigIntegerField(default=0)", "sketch"),
    ("0005_remove_views", """migrations.RemoveField(model_name="dummysketch", name="views")""",
     None, "sketch"),
]


class Project:
    """A throwaway Django project in tmp_path on the test's database, one migration at a time."""

    def __init__(self, root: Path, server):
        self.root = root
        self.app = root / "sketches"
        (self.app / "migrations").mkdir(parents=True)
        (self.app / "__init__.py").write_text("")
        (self.app / "migrations" / "__init__.py").write_text("")
        (root / "settings.py").write_text(SETTINGS.format(
            dbname=server.dbname, host=server.host, port=str(server.port), user=server.user))
        self.applied: list[str] = []

    def add(self, step: int) -> None:
        """Writes migration STEPS[step] and the model as it stands after it."""
        name, operation, views, table = STEPS[step]
        dependencies = [("sketches", self.applied[-1])] if self.applied else []
        (self.app / "migrations" / f"{name}.py").write_text(
            MIGRATION.format(dependencies=dependencies, operation=operation))
        (self.app / "models.py").write_text(MODEL.format(views=views or "", table=table))
        self.applied.append(name)

    def django(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "django", *args], cwd=self.root, capture_output=True, text=True,
            timeout=300, env={**os.environ, "DJANGO_SETTINGS_MODULE": "settings", "PYTHONPATH": str(self.root)})

    def migrate(self) -> subprocess.CompletedProcess:
        return self.django("migrate", "--noinput", "-v", "1")


def holders(conn, code):
    return sorted(r[0] for r in conn.execute(
        "SELECT user_id FROM gamification.user_badges WHERE code = %s", (code,)))


def broken(conn):
    return {r[0]: r[1:] for r in conn.execute(
        """SELECT code, broken, last_error, up_to_date, installed FROM gamification.badge_status
            WHERE broken IS NOT NULL OR last_error IS NOT NULL OR NOT up_to_date OR NOT installed""")}


def rule(conn, code):
    return conn.execute("SELECT table_name::text, user_field, update_of, condition FROM gamification.badge_rule "
                        "WHERE badge_code = %s", (code,)).fetchone()


def migrated(project: Project) -> None:
    result = project.migrate()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Applying sketches.{project.applied[-1]}... OK" in result.stdout, result.stdout


def test_django_migrations_retype_and_rename_a_tracked_column(server, dsn, tmp_path):
    pytest.importorskip("django")
    project = Project(tmp_path, server)
    with psycopg.connect(dsn, autocommit=True) as conn:
        # 0001: the application's table, then its badges. (default=0 is Django's, not the
        # column's: rows written here give hit_views.)
        project.add(0)
        migrated(project)
        conn.execute("SELECT gamification.badge_register(%s::jsonb)", (BADGES,))
        conn.execute("INSERT INTO dummy_sketch (user_id, hit_views) VALUES (1, 0)")
        assert holders(conn, "first") == ["1"]

        # 0002 AlterField to BigIntegerField: ALTER COLUMN ... TYPE bigint; the badge awards.
        project.add(1)
        migrated(project)
        conn.execute("UPDATE dummy_sketch SET hit_views = 5000000000 WHERE user_id = 1")
        assert holders(conn, "popular") == ["1"]
        assert broken(conn) == {}

        # 0003 RenameField: the registry and the generated code follow.
        project.add(2)
        migrated(project)
        assert rule(conn, "popular") == ("dummy_sketch", "user_id", ["views"], "(NEW.views >= 100)")
        conn.execute("INSERT INTO dummy_sketch (user_id, views) VALUES (2, 0)")
        conn.execute("UPDATE dummy_sketch SET views = 200 WHERE user_id = 2")
        assert holders(conn, "first") == ["1", "2"] and holders(conn, "popular") == ["1", "2"]
        assert broken(conn) == {}

        # 0004 AlterModelTable: the table is renamed; Django's ORM writes through the new model.
        project.add(3)
        migrated(project)
        assert rule(conn, "popular") == ("sketch", "user_id", ["views"], "(NEW.views >= 100)")
        assert rule(conn, "first")[0] == "sketch"
        shell = project.django("shell", "-c", "from sketches.models import DummySketch as S; "
                               "s = S.objects.create(user_id=3); s.views = 150; s.save(update_fields=['views'])")
        assert shell.returncode == 0, shell.stdout + shell.stderr
        assert holders(conn, "first") == ["1", "2", "3"] and holders(conn, "popular") == ["1", "2", "3"]
        assert broken(conn) == {}

        # 0005 RemoveField of the column "popular" watches: migrate fails, naming the badge,
        # and changes nothing.
        project.add(4)
        failed = project.migrate()
        output = failed.stdout + failed.stderr
        assert failed.returncode != 0, output
        assert 'badge "popular"' in output and "badge_unregister('popular')" in output, output
        assert conn.execute("SELECT count(*) FROM django_migrations WHERE name = '0005_remove_views'"
                            ).fetchone() == (0,)
        conn.execute("UPDATE sketch SET views = 300 WHERE user_id = 3")  # the column is still there

        # The fix the message gives, then the migration; awards are kept.
        conn.execute("SELECT gamification.badge_unregister('popular')")
        migrated(project)
        assert conn.execute("SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.sketch'::regclass "
                            "AND attname = 'views' AND NOT attisdropped").fetchone() == (0,)
        assert holders(conn, "popular") == ["1", "2", "3"]
        conn.execute("INSERT INTO sketch (user_id) VALUES (4)")
        assert holders(conn, "first") == ["1", "2", "3", "4"]
        assert broken(conn) == {}
