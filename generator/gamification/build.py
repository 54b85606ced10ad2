"""Render sql/ into extension/, and check that extension/ is exactly that.

Outputs:
  sql/gamification.sql.j2            -> extension/gamification--<version>.sql
  sql/upgrades/<from>--<to>.sql.j2   -> extension/gamification--<from>--<to>.sql

Rendering is deterministic: the same templates give byte-identical scripts
(no timestamps, no environment, LF line endings, one trailing newline).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from .meta import meta_problems
from .project import EXTENSION, Project
from .released import read_manifest, sha256_of

MAIN_TEMPLATE = f"{EXTENSION}.sql.j2"


def _environment(project: Project) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(project.sql_dir)),
        undefined=jinja2.StrictUndefined,  # a misspelt variable is an error, not an empty string
        keep_trailing_newline=True,
        autoescape=False,
    )


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").rstrip("\n") + "\n"


def render(project: Project) -> dict[str, str]:
    """Every script sql/ renders for the version in development, by file name: its install
    script and every upgrade template. An upgrade to an earlier, released version is not
    rendered any more: it is frozen (extension/RELEASED), and the files its template
    includes have moved on since."""
    frozen = read_manifest(project.released_manifest)
    env = _environment(project)
    version = project.version
    scripts = {f"{EXTENSION}--{version}.sql": env.get_template(MAIN_TEMPLATE).render(version=version)}
    upgrades = project.sql_dir / "upgrades"
    for template in sorted(upgrades.glob("*--*.sql.j2")) if upgrades.is_dir() else []:
        source, target = template.name.removesuffix(".sql.j2").split("--", 1)
        text = env.get_template(f"upgrades/{template.name}").render(
            version=target, from_version=source, to_version=target
        )
        scripts[f"{EXTENSION}--{source}--{target}.sql"] = text
    current = f"--{version}.sql"
    return {name: _normalise(text) for name, text in scripts.items()
            if name not in frozen or name.endswith(current)}


def build(project: Project) -> list[str]:
    """Write the generated scripts; return the names of those that changed. A released
    script is never written (``check`` says when sql/ no longer renders it)."""
    project.extension_dir.mkdir(exist_ok=True)
    frozen = read_manifest(project.released_manifest)
    changed = []
    for name, text in render(project).items():
        if name in frozen:
            continue
        path = project.extension_dir / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(name)
    return changed


@dataclass
class CheckResult:
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _diff(name: str, committed: str, expected: str) -> str:
    lines = difflib.unified_diff(
        committed.splitlines(keepends=True),
        expected.splitlines(keepends=True),
        fromfile=f"extension/{name} (committed)",
        tofile=f"extension/{name} (rendered from sql/)",
    )
    return "".join(lines)


def check(project: Project) -> CheckResult:
    """Drift between sql/ and extension/, changed released scripts, stray scripts."""
    result = CheckResult()
    expected = render(project)
    released = read_manifest(project.released_manifest)

    for name, text in expected.items():
        path = project.extension_dir / name
        if name in released:
            if path.exists() and path.read_text() != text:
                result.problems.append(
                    f"released script extension/{name} has changed in sql/ (the version in development, "
                    f"{project.version}, is released): start the next version with `gamification release "
                    f"--next X.Y.Z` and ship the change as its upgrade\n{_diff(name, path.read_text(), text)}")
            continue
        if not path.exists():
            result.problems.append(f"extension/{name} is missing: run `gamification build`")
        elif path.read_text() != text:
            result.problems.append(
                f"extension/{name} differs from what sql/ renders (run `gamification build`, "
                f"never edit extension/ by hand):\n{_diff(name, path.read_text(), text)}"
            )

    for name, digest in released.items():
        path = project.extension_dir / name
        if not path.exists():
            result.problems.append(f"released script extension/{name} is missing")
        elif sha256_of(path) != digest:
            result.problems.append(
                f"released script extension/{name} has changed (sha256 {sha256_of(path)}, "
                f"released as {digest}). Released scripts never change: restore it and ship "
                f"the change as an upgrade script sql/upgrades/<from>--<to>.sql.j2"
            )

    for path in project.script_files():
        if path.name not in expected and path.name not in released:
            result.problems.append(
                f"extension/{path.name} is neither generated from sql/ nor listed in extension/RELEASED"
            )

    result.problems.extend(meta_problems(project))  # META.json (PGXN) agrees with the control file
    return result
