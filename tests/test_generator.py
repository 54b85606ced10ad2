"""The generator: deterministic build, drift and released-script checks, install."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gamification import build as build_mod
from gamification.install import install
from gamification.project import Project, find_project
from gamification.released import sha256_of
from gamification.server import embedded_installation

REPO = find_project(Path(__file__).parent)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A copy of the repository's extension sources, safe to edit."""
    for name in ("sql", "extension"):
        shutil.copytree(REPO.root / name, tmp_path / name)
    shutil.copy(REPO.control_file, tmp_path)
    shutil.copy(REPO.root / "Makefile", tmp_path)
    return Project(tmp_path)


def cli(project: Project, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GAMIFICATION_ROOT": str(project.root)}
    return subprocess.run([sys.executable, "-m", "gamification", *args], env=env,
                          capture_output=True, text=True)


def release(project: Project, name: str) -> None:
    with project.released_manifest.open("a") as manifest:
        manifest.write(f"{sha256_of(project.extension_dir / name)}  {name}\n")


def test_committed_scripts_are_what_sql_renders() -> None:
    assert build_mod.check(REPO).problems == []


def test_build_is_deterministic(project: Project) -> None:
    first = build_mod.render(project)
    assert first == build_mod.render(project)
    assert f"gamification--{project.version}.sql" in first
    assert all(name.startswith("gamification--") and name.endswith(".sql") for name in first)
    script = first[f"gamification--{project.version}.sql"]
    assert script.startswith("-- gamification ") and script.endswith("\n")
    assert '\\echo Use "CREATE EXTENSION gamification"' in script


def test_version_comes_from_the_control_file(project: Project) -> None:
    control = project.control_file.read_text().replace(f"'{project.version}'", "'9.9.9'")
    project.control_file.write_text(control)
    assert cli(project, "build").returncode == 0
    assert (project.extension_dir / "gamification--9.9.9.sql").exists()


def test_check_passes_on_a_clean_tree(project: Project) -> None:
    result = cli(project, "check")
    assert result.returncode == 0, result.stderr
    assert "matches sql/" in result.stdout


def test_check_fails_with_a_diff_on_a_hand_edited_script(project: Project) -> None:
    script = project.extension_dir / f"gamification--{project.version}.sql"
    script.write_text(script.read_text() + "SELECT 'hand edit';\n")
    result = cli(project, "check")
    assert result.returncode == 1
    assert "differs from what sql/ renders" in result.stderr
    assert "-SELECT 'hand edit';" in result.stderr  # the unified diff


def test_check_fails_on_a_missing_script(project: Project) -> None:
    (project.extension_dir / f"gamification--{project.version}.sql").unlink()
    result = cli(project, "check")
    assert result.returncode == 1 and "is missing" in result.stderr


def test_check_fails_when_a_released_script_changes(project: Project) -> None:
    # Pretend 0.0.9 was released, then edit it.
    old = project.extension_dir / "gamification--0.0.9.sql"
    old.write_text("-- the 0.0.9 script\n")
    release(project, old.name)
    assert cli(project, "check").returncode == 0
    old.write_text("-- the 0.0.9 script, edited\n")
    result = cli(project, "check")
    assert result.returncode == 1
    assert "released script extension/gamification--0.0.9.sql has changed" in result.stderr


def test_check_fails_when_released_sql_is_changed_through_the_templates(project: Project) -> None:
    # Releasing the version in development, then changing its template, is caught twice:
    # as drift, and (after a rebuild) as a changed released script.
    release(project, f"gamification--{project.version}.sql")
    (project.sql_dir / "gamification.sql.j2").write_text(
        (project.sql_dir / "gamification.sql.j2").read_text() + "-- late change\n")
    assert cli(project, "build").returncode == 0
    result = cli(project, "check")
    assert result.returncode == 1 and "has changed" in result.stderr


def test_check_fails_on_a_stray_script(project: Project) -> None:
    (project.extension_dir / "gamification--9.9.9.sql").write_text("-- nobody made me\n")
    result = cli(project, "check")
    assert result.returncode == 1 and "neither generated" in result.stderr


def test_upgrade_templates_render_to_upgrade_scripts(project: Project) -> None:
    (project.sql_dir / "upgrades").mkdir(exist_ok=True)
    (project.sql_dir / "upgrades" / "0.0.9--0.1.0.sql.j2").write_text(
        "-- from {{ from_version }} to {{ to_version }}\n")
    scripts = build_mod.render(project)
    assert scripts["gamification--0.0.9--0.1.0.sql"] == "-- from 0.0.9 to 0.1.0\n"


def test_cli_install_with_destdir(project: Project, tmp_path: Path) -> None:
    pg_config = embedded_installation().tool("pg_config")
    installed = install(project, pg_config=str(pg_config), destdir=tmp_path / "stage")
    names = sorted(path.name for path in installed)
    assert names == sorted(["gamification.control", *(p.name for p in project.script_files())])
    sharedir = embedded_installation().sharedir
    assert all(path.parent == tmp_path / "stage" / sharedir.relative_to("/") / "extension"
               for path in installed)


def test_make_install_with_pgxs_and_destdir(project: Project, tmp_path: Path) -> None:
    installation = embedded_installation()  # the wheel ships PGXS
    result = subprocess.run(
        ["make", "-C", str(project.root), "install", f"PG_CONFIG={installation.tool('pg_config')}",
         f"DESTDIR={tmp_path / 'destdir'}"],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    target = tmp_path / "destdir" / installation.sharedir.relative_to("/") / "extension"
    assert sorted(p.name for p in target.iterdir()) == sorted(
        ["gamification.control", *(p.name for p in project.script_files())])


def test_make_install_without_pgxs_says_what_to_do(project: Project) -> None:
    result = subprocess.run(["make", "-C", str(project.root), "install", "PG_CONFIG=/nonexistent"],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "PGXS not found" in result.stdout and "gamification install" in result.stdout


def test_control_file_is_not_trusted() -> None:
    control = REPO.control_file.read_text()
    assert "schema = gamification" in control
    assert "relocatable = false" in control
    assert "requires = 'plpgsql'" in control
    assert "trusted" not in [line.split("=")[0].strip() for line in control.splitlines()]


# --------------------------------------------------------------------------- releasing

def test_release_freezes_the_install_and_every_upgrade_script_ending_at_it(project: Project) -> None:
    """`gamification release --next` lists the version's install script and the upgrade
    scripts ending at it in RELEASED and starts the next version; then an edit to a file that
    the released upgrade template includes changes the next version's script only: build
    never rewrites a frozen script, and check still passes."""
    shutil.copy(REPO.root / "META.json", project.root)
    shutil.copy(REPO.root / "CHANGELOG.md", project.root)
    version = project.version
    upgrades = sorted(p.name for p in project.extension_dir.glob(f"gamification--*--{version}.sql"))
    assert upgrades, "the version in development has no upgrade script to freeze"
    result = cli(project, "release", "--next", "9.9.9")
    assert result.returncode == 0, result.stderr
    frozen = {name: (project.extension_dir / name).read_bytes()
              for name in [f"gamification--{version}.sql", *upgrades]}
    released = project.released_manifest.read_text()
    for name in frozen:
        assert name in released, f"{name} was not frozen"
    assert project.version == "9.9.9"
    assert (project.sql_dir / "upgrades" / f"{version}--9.9.9.sql.j2").is_file()
    assert "## 9.9.9 (in development)" in (project.root / "CHANGELOG.md").read_text()

    # An edit to a file that the frozen upgrade template includes (runtime.sql is in it).
    included = project.sql_dir / "core" / "runtime.sql"
    assert "core/runtime.sql" in (project.sql_dir / "upgrades" / f"{upgrades[0].removeprefix('gamification--').removesuffix('.sql')}.sql.j2").read_text()
    included.write_text(included.read_text().replace("-- The runtime interface:", "-- The runtime interface (edited after the release):"))
    assert cli(project, "build").returncode == 0
    for name, text in frozen.items():
        assert (project.extension_dir / name).read_bytes() == text, f"build rewrote the frozen {name}"
    assert "edited after the release" in (project.extension_dir / "gamification--9.9.9.sql").read_text()
    result = cli(project, "check")
    assert result.returncode == 0, result.stderr

    # Editing a frozen script by hand is caught.
    name = upgrades[0]
    (project.extension_dir / name).write_text(frozen[name].decode() + "-- tampered\n")
    result = cli(project, "check")
    assert result.returncode != 0 and name in result.stderr


def test_release_refuses_a_tree_that_does_not_check(project: Project) -> None:
    (project.extension_dir / f"gamification--{project.version}.sql").write_text("-- hand edited\n")
    shutil.copy(REPO.root / "META.json", project.root)
    # build rewrites a drifted (unreleased) script, so drift cannot block; a stray script does.
    (project.extension_dir / "gamification--0.0.1.sql").write_text("-- stray\n")
    result = cli(project, "release")
    assert result.returncode == 2 and "neither generated" in result.stderr
    assert "gamification--0.0.1.sql" not in project.released_manifest.read_text()


# --------------------------------------------------------------------------- dependency order

PARTS = re.compile(r'"([a-z_/]+\.sql)"')
DEFINES = re.compile(r"CREATE (?:\{\{ or_replace \}\})?(?:OR REPLACE )?FUNCTION gamification\.([a-z_0-9]+)\(")
CALLS = re.compile(r"gamification\.([a-z_0-9]+)\s*\(")


def _code_only(text: str) -> str:
    """SQL without comments and string literals (hints and comments name functions too)."""
    return re.sub(r"'(?:[^']|'')*'", "''", re.sub(r"--[^\n]*", "", text))


def test_parts_call_only_their_own_or_earlier_parts() -> None:
    """The order of sql/gamification.sql.j2 is the dependency order: no part calls a function
    that a later part defines (PL/pgSQL would accept it, its bodies are bound late; a reader
    following the file order would not)."""
    parts = PARTS.findall((REPO.sql_dir / "gamification.sql.j2").read_text())
    defined_in: dict[str, int] = {}
    for index, part in enumerate(parts):
        for name in DEFINES.findall((REPO.sql_dir / part).read_text()):
            defined_in.setdefault(name, index)
    forward = sorted({(part, name, parts[defined_in[name]])
                      for index, part in enumerate(parts)
                      for name in CALLS.findall(_code_only((REPO.sql_dir / part).read_text()))
                      if defined_in.get(name, index) > index})
    assert not forward, "parts calling a later part (move the function, or the call): " + ", ".join(
        f"{part} calls {name}() of {later}" for part, name, later in forward)
