"""Test databases made by a role that is not superuser (README, "Test suites").

The extension is not trusted, so such a role cannot CREATE EXTENSION in the database its
test runner creates (Django's test_<name>). The recipe: a superuser creates a template
database with the extension once; the test role clones it (Django: DATABASES[...]["TEST"]
["TEMPLATE"]), registers its badges as a member of gamification_admin, and calls
gamification.data_reset() between tests. Proven here with psycopg and with a real Django
5.2 project whose TransactionTestCase tests reuse user ids.

Never touches template1 of the shared test server: a dedicated template, dropped at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

BADGES = """[
  {"code": "sketcher", "name": "Sketcher", "points": 10, "condition": "true",
   "trigger_condition": "insert", "trigger_table": "sketch", "user_field": "author"},
  {"code": "two_sketches", "name": "Two sketches", "points": 5, "target": 2,
   "counter": {"table": "sketch", "user_field": "author"}}]"""


@pytest.fixture
def recipe(server):
    """A CREATEDB login role in gamification_admin (not superuser), and a dedicated template
    database with the extension, both made by the superuser; everything dropped after."""
    suffix = uuid.uuid4().hex[:8]
    role, template = f"tdb_app_{suffix}", f"tdb_template_{suffix}"
    created: list[str] = []
    with psycopg.connect(server.admin_dsn(), autocommit=True) as su:
        su.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB").format(sql.Identifier(role)))
        su.execute(sql.SQL("GRANT gamification_admin TO {}").format(sql.Identifier(role)))
        su.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(template)))
        with psycopg.connect(server.admin_dsn(template), autocommit=True) as tpl:
            tpl.execute("CREATE EXTENSION gamification")
        # A template any CREATEDB role may clone (otherwise only its owner or a superuser may).
        su.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE true").format(sql.Identifier(template)))

    def dsn(dbname: str) -> str:
        return f"host={server.host} port={server.port} user={role} dbname={dbname}"

    try:
        yield {"role": role, "template": template, "dsn": dsn, "created": created, "server": server}
    finally:
        with psycopg.connect(server.admin_dsn(), autocommit=True) as su:
            for dbname in created + [f"test_tdb_{suffix}"]:
                su.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
            su.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(sql.Identifier(template)))
            su.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(template)))
            su.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _create_database(recipe, dbname: str, template: str | None) -> None:
    recipe["created"].append(dbname)
    with psycopg.connect(recipe["dsn"]("postgres"), autocommit=True) as conn:
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(statement)


def test_without_the_template_the_test_role_cannot_create_the_extension(recipe):
    dbname = f"plain_{recipe['role']}"
    _create_database(recipe, dbname, None)
    with psycopg.connect(recipe["dsn"](dbname), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied to create extension"):
            conn.execute("CREATE EXTENSION gamification")


def test_a_test_database_cloned_from_the_template_awards_and_resets(recipe):
    dbname = f"clone_{recipe['role']}"
    _create_database(recipe, dbname, recipe["template"])
    with psycopg.connect(recipe["dsn"](dbname), autocommit=True) as conn:
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (False,)
        # What the application's migrations do: its own table, then its badges.
        conn.execute("CREATE TABLE sketch (id serial PRIMARY KEY, author int NOT NULL)")
        conn.execute("SELECT gamification.badge_register(%s::jsonb)", (BADGES,))
        # One test: user 1 sketches twice.
        conn.execute("INSERT INTO sketch (author) VALUES (1), (1)")
        held = "SELECT array_agg(code ORDER BY code) FROM gamification.user_badges WHERE user_id = '1'"
        assert conn.execute(held).fetchone() == (["sketcher", "two_sketches"],)
        # The runner truncates the application's table between tests; the next test resets
        # the gamification data, and its user 1 starts from nothing.
        conn.execute("TRUNCATE sketch RESTART IDENTITY")
        removed = conn.execute("SELECT gamification.data_reset()").fetchone()[0]
        assert removed["award"] == 2 and removed["event"] == 2  # one event per award
        conn.execute("INSERT INTO sketch (author) VALUES (1)")
        assert conn.execute(held).fetchone() == (["sketcher"],)
        assert conn.execute("SELECT progress FROM gamification.user_progress WHERE user_id = '1'").fetchone() == (1,)
        # Definitions and triggers were kept; erasure works for this role too.
        assert conn.execute("SELECT count(*) FROM gamification.badges").fetchone() == (2,)
        assert conn.execute("SELECT gamification.user_erase(1)").fetchone()[0]["award"] == 1
        assert conn.execute(held).fetchone() == (None,)


DJANGO_SETTINGS = """
DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "tdb_{suffix}",
        "HOST": {host!r}, "PORT": {port!r}, "USER": {role!r},
        "TEST": {{"NAME": "test_tdb_{suffix}", "TEMPLATE": {template!r}}},
    }}
}}
INSTALLED_APPS = ["sketches"]
SECRET_KEY = "test"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
"""

DJANGO_MODELS = """
from django.db import models


class Sketch(models.Model):
    author = models.IntegerField()
"""

DJANGO_TESTS = """
import os

from django.db import connection
from django.test import TransactionTestCase

from .models import Sketch

BADGES = {badges!r}


def held(user):
    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(array_agg(code ORDER BY code), '{{}}') FROM gamification.user_badges WHERE user_id = %s",
                    [str(user)])
        return cur.fetchone()[0]


class SketchBadges(TransactionTestCase):
    # Django truncates the application's tables after each of these tests (and restarts
    # their ids); the gamification data is the test's to reset.
    reset_sequences = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with connection.cursor() as cur:
            cur.execute("SELECT gamification.badge_register(%s::jsonb)", [BADGES])

    def setUp(self):
        if not os.environ.get("SKIP_DATA_RESET"):
            with connection.cursor() as cur:
                cur.execute("SELECT gamification.data_reset()")

    def test_first_sketch(self):
        Sketch.objects.create(author=1)
        self.assertEqual(held(1), ["sketcher"])

    def test_second_test_first_sketch_again(self):
        Sketch.objects.create(author=1)
        self.assertEqual(held(1), ["sketcher"])
"""


def _django_project(recipe, tmp_path: Path) -> Path:
    server = recipe["server"]
    suffix = recipe["role"].rsplit("_", 1)[1]
    (tmp_path / "sketches").mkdir()
    (tmp_path / "sketches" / "__init__.py").write_text("")
    (tmp_path / "sketches" / "models.py").write_text(DJANGO_MODELS)
    # Django names the model's table <app>_<model>.
    badges = BADGES.replace('"sketch"', '"sketches_sketch"')
    (tmp_path / "sketches" / "tests.py").write_text(DJANGO_TESTS.format(badges=badges))
    (tmp_path / "settings.py").write_text(DJANGO_SETTINGS.format(
        suffix=suffix, host=server.host, port=str(server.port), role=recipe["role"], template=recipe["template"]))
    return tmp_path


def _django_test(project: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "django", "test", "--noinput", "-v", "2", "sketches"],
        cwd=project, capture_output=True, text=True, timeout=300,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "settings", "PYTHONPATH": str(project), **env})


def test_django_test_runner_with_the_template_and_data_reset(recipe, tmp_path):
    pytest.importorskip("django")
    project = _django_project(recipe, tmp_path)
    result = _django_test(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Ran 2 tests" in result.stderr and "OK" in result.stderr


def test_django_tests_reusing_user_ids_fail_without_data_reset(recipe, tmp_path):
    """The problem the recipe solves: the second test's user 1 inherits the first's progress."""
    pytest.importorskip("django")
    project = _django_project(recipe, tmp_path)
    result = _django_test(project, SKIP_DATA_RESET="1")
    assert result.returncode != 0, result.stdout + result.stderr
    assert "two_sketches" in result.stderr, result.stderr
