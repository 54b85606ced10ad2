"""`gamification build --pg-tle`: the pg_tle install file's shape, and what it does when
run against a recording stand-in for pg_tle's API (pg_tle itself needs
shared_preload_libraries and a C build, so it cannot be installed on the test servers)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from gamification import pgtle
from gamification.project import Project, find_project
from gamification.released import read_manifest

REPO = find_project(Path(__file__).parent)

# Every pg_tle call in the generated file: name and the text up to the closing ");" that
# ends a line (the embedded scripts sit inside dollar quotes; see split_calls).
CALL_RE = re.compile(r"^SELECT pgtle\.(?P<fn>[a-z_]+)\(", re.MULTILINE)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A copy of the repository's extension sources, safe to edit."""
    for name in ("sql", "extension"):
        shutil.copytree(REPO.root / name, tmp_path / name)
    shutil.copy(REPO.control_file, tmp_path)
    return Project(tmp_path)


def cli(project: Project, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GAMIFICATION_ROOT": str(project.root)}
    return subprocess.run([sys.executable, "-m", "gamification", *args], env=env,
                          capture_output=True, text=True)


def expected_script(path: Path) -> str:
    """A script as it must be embedded: without its psql-only \\echo guard."""
    return "".join(line for line in path.read_text().splitlines(keepends=True)
                   if not line.startswith("\\echo"))


def tag_of(text: str) -> str:
    match = re.search(r"^(\$[A-Za-z_0-9]*\$)$", text, re.MULTILINE)
    assert match, "no dollar-quote tag on a line of its own"
    return match.group(1)


def calls(text: str) -> list[tuple[str, list[str]]]:
    """(function, arguments) of every pg_tle call, in order. Scripts are the dollar-quoted
    arguments; the others are simple literals, ARRAY[...] or NULL."""
    tag = tag_of(text)
    result = []
    for match in CALL_RE.finditer(text):
        rest = text[match.end():]
        args: list[str] = []
        while True:
            rest = rest.lstrip()
            if rest.startswith(tag):
                end = rest.index(tag, len(tag))
                args.append(rest[len(tag):end].removeprefix("\n"))
                rest = rest[end + len(tag):]
            elif rest.startswith("'"):
                end = re.match(r"'(?:[^']|'')*'", rest).end()
                args.append(rest[1:end - 1].replace("''", "'"))
                rest = rest[end:]
            else:
                end = re.match(r"ARRAY\[[^\]]*\]|NULL", rest).end()
                args.append(rest[:end])
                rest = rest[end:]
            rest = rest.lstrip()
            if rest.startswith(")"):
                break
            assert rest.startswith(","), rest[:80]
            rest = rest[1:]
        result.append((match.group("fn"), args))
    return result


def versions_in_extension_dir(project: Project) -> tuple[list[str], list[tuple[str, str]]]:
    """From `ls extension/`: full-script versions and (from, to) upgrade paths."""
    full, paths = [], []
    for path in project.script_files():
        parts = path.name.removeprefix("gamification--").removesuffix(".sql").split("--")
        if len(parts) == 1:
            full.append(parts[0])
        else:
            paths.append((parts[0], parts[1]))
    return full, paths


def released_versions(project: Project) -> list[str]:
    return sorted({name.removeprefix("gamification--").removesuffix(".sql")
                   for name in read_manifest(project.released_manifest) if name.count("--") == 1},
                  key=pgtle.version_key)


def release_next_version(project: Project) -> None:
    """Make the copy look like the coming release: the version in development, with an upgrade
    script from the latest released version (a stub here) and (as build renders it) a full
    script of its own."""
    previous = released_versions(project)[-1]
    (project.sql_dir / "upgrades").mkdir(exist_ok=True)
    (project.sql_dir / "upgrades" / f"{previous}--{project.version}.sql.j2").write_text(
        "-- gamification {{ from_version }} -> {{ to_version }}\n"
        "\\echo Use \"ALTER EXTENSION gamification UPDATE\" to load this file. \\quit\n"
        "COMMENT ON SCHEMA gamification IS 'gamification {{ to_version }}';\n")
    assert cli(project, "build").returncode == 0


# --- shape -------------------------------------------------------------------------------

def test_shape_of_the_committed_tree() -> None:
    text = pgtle.render(REPO)
    found = calls(text)
    full, paths = versions_in_extension_dir(REPO)
    full.sort(key=pgtle.version_key)
    paths.sort(key=lambda p: (pgtle.version_key(p[0]), pgtle.version_key(p[1])))
    control = pgtle.read_control(REPO)

    assert [fn for fn, _ in found] == (["install_extension"]
                                      + ["install_extension_version_sql"] * (len(full) - 1)
                                      + ["install_update_path"] * len(paths)
                                      + ["set_default_version"])
    name, version, comment, script, requires, schema = found[0][1]
    assert (name, version, comment) == ("gamification", full[0], control["comment"])
    assert (requires, schema) == ("ARRAY['plpgsql']", "gamification")
    assert script == expected_script(REPO.extension_dir / f"gamification--{full[0]}.sql")
    assert [args[1] for fn, args in found if fn == "install_extension_version_sql"] == full[1:]
    assert [(args[1], args[2]) for fn, args in found if fn == "install_update_path"] == paths
    for fn, args in found:
        if fn == "install_update_path":
            assert args[3] == expected_script(REPO.extension_dir / f"gamification--{args[1]}--{args[2]}.sql")
    assert found[-1] == ("set_default_version", ["gamification", REPO.version])


def test_no_forbidden_delimiters_no_echo_and_a_free_tag() -> None:
    text = pgtle.render(REPO)
    assert "$_pgtle_o_$" not in text and "$_pgtle_i_$" not in text
    assert "\\echo" not in text
    tag = tag_of(text)
    for path in REPO.script_files():
        assert tag not in path.read_text()
    assert text.count(tag) == 2 * len(REPO.script_files())


def test_every_version_and_path_of_the_coming_release(project: Project) -> None:
    release_next_version(project)
    result = cli(project, "build", "--pg-tle")
    assert result.returncode == 0, result.stderr
    coming = project.version
    versions = released_versions(project) + [coming]
    text = (project.root / "dist" / f"gamification--{coming}.pgtle.sql").read_text()
    assert [(fn, args[1:3] if fn == "install_update_path" else args[1:2]) for fn, args in calls(text)] == (
        [("install_extension", [versions[0]])]
        + [("install_extension_version_sql", [v]) for v in versions[1:]]
        + [("install_update_path", [a, b]) for a, b in zip(versions, versions[1:])]
        + [("set_default_version", [coming])])
    upgrade = calls(text)[-2][1][3]
    assert upgrade == (f"-- gamification {versions[-2]} -> {coming}\n"
                       f"COMMENT ON SCHEMA gamification IS 'gamification {coming}';\n")


def test_versions_sort_numerically(project: Project) -> None:
    for name in ("gamification--0.9.0--0.10.0.sql", "gamification--0.1.0--0.9.0.sql"):
        (project.extension_dir / name).write_text("SELECT 1;\n")
    found = [args[1:3] for fn, args in calls(pgtle.render(project)) if fn == "install_update_path"]
    # In numeric version order (0.9.0 before 0.10.0), whatever else the tree holds.
    assert [pair for pair in found if "0.9.0" in pair] == [["0.1.0", "0.9.0"], ["0.9.0", "0.10.0"]]
    assert found == sorted(found, key=lambda p: (pgtle.version_key(p[0]), pgtle.version_key(p[1])))


def test_build_is_deterministic_and_reads_only_extension(project: Project) -> None:
    first = pgtle.render(project)
    shutil.rmtree(project.sql_dir)  # from a checkout, without re-rendering
    assert pgtle.render(project) == first


def test_build_fails_on_a_reserved_pgtle_delimiter(project: Project, tmp_path: Path) -> None:
    script = project.extension_dir / "gamification--0.1.0.sql"
    script.write_text(script.read_text() + "DO $_pgtle_i_$ BEGIN NULL; END $_pgtle_i_$;\n")
    result = cli(project, "build", "--pg-tle", "--output", str(tmp_path / "out.sql"))
    assert result.returncode == 2
    assert "gamification--0.1.0.sql contains $_pgtle_i_$" in result.stderr
    assert "pg_tle reserves" in result.stderr
    assert not (tmp_path / "out.sql").exists()


def test_the_tag_avoids_text_of_the_scripts(project: Project) -> None:
    script = project.extension_dir / "gamification--0.1.0.sql"
    script.write_text(script.read_text() + "DO $_gamification_pgtle_$ BEGIN NULL; END $_gamification_pgtle_$;\n")
    text = pgtle.render(project)
    assert tag_of(text) == "$_gamification_pgtle_1_$"
    assert calls(text)[0][1][3] == expected_script(script)


def test_build_fails_when_the_default_version_has_no_script(project: Project) -> None:
    project.control_file.write_text(project.control_file.read_text().replace(f"'{project.version}'", "'9.9.0'"))
    result = cli(project, "build", "--pg-tle")
    assert result.returncode == 2 and "default_version 9.9.0 has neither" in result.stderr


def test_output_needs_pg_tle(project: Project, tmp_path: Path) -> None:
    result = cli(project, "build", "--output", str(tmp_path / "x.sql"))
    assert result.returncode == 2 and "--output only applies to --pg-tle" in result.stderr


# --- execution on the test servers ---------------------------------------------------------

# A RECORDING STAND-IN for pg_tle's API -- NOT pg_tle. Same schema, function names and
# argument lists as pg_tle >= 1.5.0 (pg_tle--1.0.0.sql, pg_tle--1.4.1--1.5.0.sql), but the
# functions only record their arguments, in call order, so the test can check what the
# generated file asks pg_tle to do.
PGTLE_RECORDER = """
CREATE SCHEMA pgtle;
CREATE TABLE pgtle.recorded_call (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fn           text NOT NULL,
    name         text,
    version      text,
    from_version text,
    description  text,
    ext          text,
    requires     text[],
    schema       text
);
CREATE FUNCTION pgtle.install_extension(name text, version text, description text, ext text,
                                        requires text[] DEFAULT NULL, schema text DEFAULT NULL)
RETURNS boolean LANGUAGE sql AS $$
    INSERT INTO pgtle.recorded_call (fn, name, version, description, ext, requires, schema)
    VALUES ('install_extension', $1, $2, $3, $4, $5, $6) RETURNING true
$$;
CREATE FUNCTION pgtle.install_extension_version_sql(name text, version text, ext text)
RETURNS boolean LANGUAGE sql AS $$
    INSERT INTO pgtle.recorded_call (fn, name, version, ext)
    VALUES ('install_extension_version_sql', $1, $2, $3) RETURNING true
$$;
CREATE FUNCTION pgtle.install_update_path(name text, fromvers text, tovers text, ext text)
RETURNS boolean LANGUAGE sql AS $$
    INSERT INTO pgtle.recorded_call (fn, name, from_version, version, ext)
    VALUES ('install_update_path', $1, $2, $3, $4) RETURNING true
$$;
CREATE FUNCTION pgtle.set_default_version(name text, version text)
RETURNS boolean LANGUAGE sql AS $$
    INSERT INTO pgtle.recorded_call (fn, name, version)
    VALUES ('set_default_version', $1, $2) RETURNING true
$$;
"""


def _fresh_database(server, label: str) -> str:
    dbname = f"pgtle_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server.admin_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(dbname)))
    return dbname


def _drop_database(server, dbname: str) -> None:
    with psycopg.connect(server.admin_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


def _extension_dir(server) -> Path:
    """The staged extension directory this test server reads control files from first."""
    with psycopg.connect(server.admin_dsn()) as conn:
        if server.major >= 18:
            base = conn.execute("SHOW extension_control_path").fetchone()[0].split(":")[0]
            return Path(base) / "extension"
        destdir = conn.execute("SHOW extension_destdir").fetchone()[0]
    return Path(destdir) / server.installation.sharedir.relative_to("/") / "extension"


def _replay_as_a_file_extension(server, recorded: list[tuple], replay_name: str) -> list[Path]:
    """Write the recorded scripts as a file-based extension ``replay_name`` whose control
    file has what pg_tle forces (superuser, trusted and relocatable false) and the
    recorded requires/schema, so CREATE/ALTER EXTENSION run them as pg_tle would:
    inside CREATE EXTENSION (@extschema@, pg_extension_config_dump), as the calling role."""
    directory = _extension_dir(server)
    written = []
    base = next(r for r in recorded if r[0] == "install_extension")
    _, _, version, _, description, _, requires, schema = base
    control = (f"comment = '{description.replace(chr(39), chr(39) * 2)}'\n"
               f"default_version = '{version}'\n"
               f"schema = {schema}\n"
               f"requires = '{', '.join(requires)}'\n"
               "superuser = false\ntrusted = false\nrelocatable = false\n")
    files = {f"{replay_name}.control": control}
    for fn, _, version, from_version, _, ext, _, _ in recorded:
        if fn in ("install_extension", "install_extension_version_sql"):
            files[f"{replay_name}--{version}.sql"] = ext
        elif fn == "install_update_path":
            files[f"{replay_name}--{from_version}--{version}.sql"] = ext
    for name, text in files.items():
        path = directory / name
        path.write_text(text)
        path.chmod(0o644)
        written.append(path)
    return written


def test_generated_file_runs_against_a_recording_pgtle(server, tmp_path: Path) -> None:
    output = pgtle.build(REPO, tmp_path / "gamification.pgtle.sql")
    control = pgtle.read_control(REPO)
    full, paths = versions_in_extension_dir(REPO)
    full.sort(key=pgtle.version_key)
    paths.sort(key=lambda p: (pgtle.version_key(p[0]), pgtle.version_key(p[1])))

    record_db = _fresh_database(server, "record")
    cleanup: list = [lambda: _drop_database(server, record_db)]
    try:
        with psycopg.connect(server.admin_dsn(record_db), autocommit=True) as conn:
            conn.execute(PGTLE_RECORDER)
        psql = server.installation.tool("psql")
        result = subprocess.run([str(psql), "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1",
                                 "-d", server.admin_dsn(record_db), "-f", str(output)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        with psycopg.connect(server.admin_dsn(record_db)) as conn:
            recorded = conn.execute(
                "SELECT fn, name, version, from_version, description, ext, requires, schema "
                "FROM pgtle.recorded_call ORDER BY seq").fetchall()

        # What the file asked pg_tle to do.
        assert [r[0] for r in recorded] == (["install_extension"]
                                            + ["install_extension_version_sql"] * (len(full) - 1)
                                            + ["install_update_path"] * len(paths)
                                            + ["set_default_version"])
        assert {r[1] for r in recorded} == {"gamification"}
        base = recorded[0]
        assert base[2] == full[0] and base[4] == control["comment"]
        assert base[6] == ["plpgsql"] and base[7] == "gamification"
        assert base[5].removeprefix("\n") == expected_script(REPO.extension_dir / f"gamification--{full[0]}.sql")
        assert [r[2] for r in recorded if r[0] == "install_extension_version_sql"] == full[1:]
        assert [(r[3], r[2]) for r in recorded if r[0] == "install_update_path"] == paths
        for r in recorded:
            if r[0] == "install_update_path":
                assert r[5].removeprefix("\n") == expected_script(
                    REPO.extension_dir / f"gamification--{r[3]}--{r[2]}.sql")
        assert recorded[-1][0] == "set_default_version" and recorded[-1][2] == REPO.version

        # Are the recorded scripts installable the way pg_tle runs them? pg_tle feeds its
        # stored scripts to PostgreSQL's own CREATE/ALTER EXTENSION machinery, with the
        # flags above forced and as the calling role. Replay them the same way: as a
        # file-based extension with those flags, installed by a role that is not a
        # superuser, at the base version and then updated along the recorded paths, in
        # one transaction, in a fresh database.
        replay_name = f"gamification_tle_replay_{uuid.uuid4().hex[:8]}"
        for path in _replay_as_a_file_extension(server, recorded, replay_name):
            cleanup.append(lambda path=path: path.unlink(missing_ok=True))
        installer = f"tle_installer_{uuid.uuid4().hex[:8]}"
        replay_db = _fresh_database(server, "replay")
        cleanup.insert(0, lambda: _drop_database(server, replay_db))
        with psycopg.connect(server.admin_dsn(), autocommit=True) as conn:
            # Like an RDS/Supabase admin: CREATEROLE, not superuser. The gamification_*
            # group roles already exist on this cluster (the pre-created case).
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE").format(sql.Identifier(installer)))
        cleanup.append(lambda: _drop_role(server, installer))
        with psycopg.connect(server.admin_dsn(replay_db), autocommit=True) as conn:
            conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
                sql.Identifier(replay_db), sql.Identifier(installer)))
        as_installer = f"{server.admin_dsn(replay_db).replace(f'user={server.user}', f'user={installer}')}"
        with psycopg.connect(as_installer) as conn:  # one transaction
            conn.execute(sql.SQL("CREATE EXTENSION {} VERSION {}").format(
                sql.Identifier(replay_name), sql.Literal(full[0])))
            current = full[0]
            for source, target in paths:
                if source == current:
                    conn.execute(sql.SQL("ALTER EXTENSION {} UPDATE TO {}").format(
                        sql.Identifier(replay_name), sql.Literal(target)))
                    current = target
            if current != REPO.version:  # no path: pg_tle would use the default's full script
                conn.execute(sql.SQL("DROP EXTENSION {}").format(sql.Identifier(replay_name)))
                conn.execute(sql.SQL("CREATE EXTENSION {} VERSION {}").format(
                    sql.Identifier(replay_name), sql.Literal(REPO.version)))
            assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = %s",
                                (replay_name,)).fetchone() == (REPO.version,)
            owner = conn.execute("SELECT e.extowner::regrole::text, n.nspname FROM pg_extension e "
                                 "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE extname = %s",
                                 (replay_name,)).fetchone()
            assert owner == (installer, "gamification")
            conn.execute("""SELECT gamification.badge_register('{"code": "tle", "name": "TLE", "points": 7}')""")
            conn.execute("SELECT gamification.badge_award(42, 'tle')")
            assert conn.execute("SELECT points FROM gamification.user_points "
                                "WHERE user_id = '42'").fetchone() == (7,)
            dumped = conn.execute("SELECT count(*) FROM pg_extension WHERE extname = %s "
                                  "AND cardinality(extconfig) > 0", (replay_name,)).fetchone()
            assert dumped == (1,), "pg_extension_config_dump ran inside CREATE EXTENSION"
    finally:
        for action in cleanup:
            action()


def _drop_role(server, role: str) -> None:
    with psycopg.connect(server.admin_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
