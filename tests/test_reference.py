"""docs/reference.md is generated from the installed extension (COMMENTs, signatures, grants)
and docs/errors.toml; these tests fail when it is stale, when a public function or view is
missing from it, and when docs/errors.toml disagrees with the SQLSTATEs sql/ raises."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from gamification import reference
from gamification.project import find_project

PROJECT = find_project(Path(__file__).parent)
DOCS = PROJECT.root / "docs"
COMMITTED = DOCS / reference.OUTPUT
FIX = f"run `{reference.COMMAND}` and commit docs/reference.md"


def test_reference_is_what_the_extension_renders(dsn: str) -> None:
    # On PostgreSQL 15 and 18 alike: the rendering must not depend on the major.
    with psycopg.connect(dsn, autocommit=True) as conn:
        rendered = reference.render_from(conn, PROJECT)
    committed = COMMITTED.read_text()
    assert committed == rendered, (
        f"docs/reference.md is stale: {FIX}.\n{reference.diff(committed, rendered)}")


def test_every_public_function_and_view_is_in_the_reference(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        catalog = reference.read_catalog(conn)
    assert {"badge_register", "badge_sync", "badge_unregister", "badge_preview", "triggers_sync",
            "badge_status", "user_badges"} <= catalog.public_names
    missing = sorted(catalog.public_names - reference.documented_names(COMMITTED.read_text()))
    assert not missing, f"docs/reference.md does not document {', '.join(missing)}: {FIX}"
    extra = sorted(reference.documented_names(COMMITTED.read_text()) - catalog.public_names)
    assert not extra, f"docs/reference.md documents {', '.join(extra)}, which the extension lacks: {FIX}"


def test_a_new_public_function_is_reported_missing_until_the_reference_is_regenerated(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE FUNCTION gamification.badge_handover(code text) RETURNS void "
                     "LANGUAGE sql AS 'SELECT NULL'")
        conn.execute("COMMENT ON FUNCTION gamification.badge_handover(text) IS "
                     "'Hand a badge over to <someone>.'")
        conn.execute("ALTER EXTENSION gamification ADD FUNCTION gamification.badge_handover(text)")
        # Not the extension's: a trigger badge's generated functions are not listed.
        conn.execute("CREATE FUNCTION gamification.cond_x_0() RETURNS boolean LANGUAGE sql AS 'SELECT true'")
        catalog = reference.read_catalog(conn)
        rendered = reference.render_from(conn, PROJECT)
    assert catalog.public_names - reference.documented_names(COMMITTED.read_text()) == {"badge_handover"}
    assert "### `badge_handover`\n\n```sql\nbadge_handover(code text) RETURNS void\n```\n" in rendered
    assert "Hand a badge over to &lt;someone>." in rendered
    assert "cond_x_0" not in rendered
    assert rendered != COMMITTED.read_text()


def test_rendering_is_a_pure_function_of_the_catalog(dsn: str) -> None:
    """The order the server returns rows in does not matter."""
    with psycopg.connect(dsn) as conn:
        functions = conn.execute(reference.FUNCTIONS_QUERY).fetchall()
        relations = conn.execute(reference.RELATIONS_QUERY).fetchall()
    errors = reference.load_errors(DOCS / reference.ERRORS)
    first = reference.render(reference.catalog_from_rows(functions, relations), errors, DOCS)
    random.Random(16).shuffle(functions)
    random.Random(16).shuffle(relations)
    assert reference.render(reference.catalog_from_rows(functions, relations), errors, DOCS) == first


def test_raised_sqlstates_are_documented_and_documented_ones_raised() -> None:
    errors = reference.load_errors(DOCS / reference.ERRORS)
    raised = reference.raised_sqlstates(PROJECT.sql_dir)
    assert {"22023", "42704", "42501", "GMDRY"} <= raised.keys()  # the scan finds them
    documented = {e.sqlstate for e in errors.documented}
    undocumented = {s: raised[s] for s in sorted(raised.keys() - documented - set(errors.internal))}
    assert not undocumented, (
        f"sql/ raises SQLSTATEs that docs/errors.toml does not document: {undocumented}. "
        f"Add an entry (source \"gamification\"), then {FIX}")
    ours = {e.sqlstate for e in errors.documented if e.source == "gamification"}
    stale = sorted((ours | set(errors.internal)) - raised.keys())
    assert not stale, (f"docs/errors.toml lists {stale} as raised by the extension, but sql/ "
                       f"no longer raises them: remove them (or mark PostgreSQL's own source "
                       f"\"postgresql\"), then {FIX}")


def test_error_conditions_are_the_names_postgresql_gives_them(dsn: str) -> None:
    wrong = reference.Errors((reference.ErrorDoc("22023", "undefined_table", "w", "e", "h", "gamification"),
                              reference.ErrorDoc("42P01", "undefined_table", "w", "e", "h", "gamification"),
                              reference.ErrorDoc("42501", "no_such_condition", "w", "e", "h", "gamification")), ())
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert reference.check_conditions(conn, reference.load_errors(DOCS / reference.ERRORS)) == []
        problems = reference.check_conditions(conn, wrong)
    assert len(problems) == 2
    assert "condition undefined_table is not SQLSTATE 22023" in problems[0]
    assert "condition no_such_condition is not SQLSTATE 42501" in problems[1]


def test_errors_file_must_be_well_formed(tmp_path: Path) -> None:
    bad = tmp_path / "errors.toml"
    bad.write_text('[[error]]\nsqlstate = "2202"\ncondition = "x"\nwhen = ""\nexample = ""\n'
                   'hint = ""\nsource = "gamification"\n')
    with pytest.raises(reference.ProjectError, match="bad sqlstate"):
        reference.load_errors(bad)
    bad.write_text('[[error]]\nsqlstate = "22023"\n')
    with pytest.raises(reference.ProjectError, match="must have exactly the keys"):
        reference.load_errors(bad)


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GAMIFICATION_ROOT": str(root)}
    return subprocess.run([sys.executable, "-m", "gamification", "reference", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_check_fails_with_a_diff_on_a_stale_reference_and_rewrites_it(dsn: str, tmp_path: Path) -> None:
    for name in ("sql", "extension", "docs"):
        shutil.copytree(PROJECT.root / name, tmp_path / name)
    shutil.copy(PROJECT.control_file, tmp_path)
    target = tmp_path / "docs" / reference.OUTPUT

    assert (result := _cli(tmp_path, "--check", "--dsn", dsn)).returncode == 0, result.stderr
    assert "is up to date" in result.stdout

    target.write_text(target.read_text().replace("### `badge_sync`", "### `badge_synk`"))
    result = _cli(tmp_path, "--check", "--dsn", dsn)
    assert result.returncode == 1
    assert "-### `badge_synk`\n+### `badge_sync`" in result.stderr
    assert f"run `{reference.COMMAND}`" in result.stderr

    assert (result := _cli(tmp_path, "--dsn", dsn)).returncode == 0, result.stderr
    assert "wrote docs/reference.md" in result.stdout
    assert target.read_text() == COMMITTED.read_text()


def test_cli_refuses_to_render_from_a_stale_build(tmp_path: Path) -> None:
    for name in ("sql", "extension", "docs"):
        shutil.copytree(PROJECT.root / name, tmp_path / name)
    shutil.copy(PROJECT.control_file, tmp_path)
    views = tmp_path / "sql" / "core" / "views.sql"
    views.write_text(views.read_text() + "\n-- changed\n")
    result = _cli(tmp_path)
    assert result.returncode == 2
    assert "run `gamification build` first" in result.stderr
