"""Packaging: META.json (PGXN meta-spec 1.0.0) and `make dist`."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from gamification.pgtle import read_control
from gamification.project import Project, find_project

REPO = find_project(Path(__file__).parent)
SCHEMA = json.loads((Path(__file__).parent / "pgxn-meta-1.0.0.schema.json").read_text())


def meta() -> dict:
    return json.loads((REPO.root / "META.json").read_text())


def validate(document: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(document)


# --- META.json ---------------------------------------------------------------------------

def test_meta_json_is_valid_pgxn_meta_spec_1() -> None:
    validate(meta())


@pytest.mark.parametrize("breakage", [
    lambda m: m.pop("maintainer"),
    lambda m: m.pop("provides"),
    lambda m: m.__setitem__("version", "0.1"),                  # not semver
    lambda m: m.__setitem__("license", "PostgreSQL License"),   # not a license string
    lambda m: m["provides"]["gamification"].pop("file"),
    lambda m: m["meta-spec"].__setitem__("version", "2.0.0"),
    lambda m: m.__setitem__("homepage", "https://example.org"),  # unknown key without x_
    lambda m: m.__setitem__("release_status", "beta"),
], ids=["no-maintainer", "no-provides", "version-not-semver", "license-free-text", "provides-no-file",
        "meta-spec-2", "unknown-key", "bad-release-status"])
def test_the_schema_rejects_broken_metadata(breakage) -> None:
    broken = copy.deepcopy(meta())
    breakage(broken)
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)


def test_meta_json_agrees_with_the_control_file() -> None:
    control = read_control(REPO)
    document = meta()
    provided = document["provides"]["gamification"]
    assert document["version"] == provided["version"] == REPO.version
    assert provided["file"] == f"extension/gamification--{REPO.version}.sql"
    assert (REPO.root / provided["file"]).is_file()
    assert (REPO.root / provided["docfile"]).is_file()
    assert document["abstract"] == provided["abstract"] == control["comment"]
    assert document["prereqs"]["runtime"]["requires"] == {"PostgreSQL": "15.0.0", "plpgsql": 0}
    assert document["meta-spec"] == {"version": "1.0.0", "url": "https://pgxn.org/meta/spec.txt"}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A copy of the repository's extension sources and META.json, safe to edit."""
    for name in ("sql", "extension"):
        shutil.copytree(REPO.root / name, tmp_path / name)
    for name in (REPO.control_file.name, "META.json", "README.md"):
        shutil.copy(REPO.root / name, tmp_path)
    return Project(tmp_path)


def check(project: Project) -> subprocess.CompletedProcess:
    env = {**os.environ, "GAMIFICATION_ROOT": str(project.root)}
    return subprocess.run([sys.executable, "-m", "gamification", "check"], env=env,
                          capture_output=True, text=True)


def test_check_passes_when_meta_json_agrees(project: Project) -> None:
    result = check(project)
    assert result.returncode == 0, result.stderr


def test_check_fails_when_meta_json_version_differs(project: Project) -> None:
    path = project.root / "META.json"
    document = json.loads(path.read_text())
    document["version"] = "9.9.9"
    path.write_text(json.dumps(document))
    result = check(project)
    assert result.returncode == 1
    assert f"META.json version '9.9.9' differs from default_version '{project.version}'" in result.stderr


def test_check_fails_when_the_control_file_moves_on_without_meta_json(project: Project) -> None:
    # What happens on a version bump: the control file says 0.1.1, META.json still 0.1.0.
    control = project.control_file.read_text().replace(f"'{project.version}'", "'0.1.1'")
    project.control_file.write_text(control)
    subprocess.run([sys.executable, "-m", "gamification", "build"], check=True, capture_output=True,
                   env={**os.environ, "GAMIFICATION_ROOT": str(project.root)})
    result = check(project)
    assert result.returncode == 1
    assert "differs from default_version '0.1.1'" in result.stderr
    assert 'provides.gamification.file to "extension/gamification--0.1.1.sql"' in result.stderr


def test_check_fails_on_invalid_meta_json(project: Project) -> None:
    (project.root / "META.json").write_text("{ not json")
    result = check(project)
    assert result.returncode == 1 and "META.json is not valid JSON" in result.stderr


# --- make dist ---------------------------------------------------------------------------

def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True,
                          text=True).stdout


def test_make_dist_zips_the_committed_tree(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (REPO.root / ".git").exists():
        pytest.skip("needs git and a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO.root), str(clone)], check=True)
    if not (clone / "META.json").exists():
        # Until the packaging change itself is committed, HEAD has neither META.json nor the
        # dist target: commit just those two files in the clone (nobody else's work).
        for name in ("META.json", "Makefile"):
            shutil.copy(REPO.root / name, clone / name)
        _git(clone, "add", "META.json", "Makefile")
        _git(clone, "-c", "user.name=test", "-c", "user.email=test@localhost",
             "commit", "--quiet", "-m", "packaging under test")
    (clone / ".venv").mkdir()  # untracked clutter that must stay out of the archive
    (clone / ".venv" / "junk").write_text("junk\n")

    result = subprocess.run(["make", "-C", str(clone), "dist"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

    version = Project(clone).version
    prefix = f"gamification-{version}/"
    archive = clone / "dist" / f"gamification-{version}.zip"
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
    assert all(name.startswith(prefix) for name in names)
    inside = {name.removeprefix(prefix) for name in names}
    expected = {"gamification.control", "META.json", "README.md", "Makefile"}
    expected |= {f"extension/{path.name}" for path in Project(clone).script_files()}
    assert Project(clone).script_files(), "the clone has no extension scripts"
    assert expected <= inside, sorted(expected - inside)
    assert not [name for name in inside if name.startswith((".venv/", "dist/"))]
    tracked = set(filter(None, _git(clone, "ls-files", "-z").split("\0")))
    assert inside >= tracked, "the archive is the whole committed tree"
