"""META.json, the PGXN distribution metadata (meta-spec 1.0.0): ``gamification check``
fails when it disagrees with the control file, the one place the version comes from."""

from __future__ import annotations

import json

from .project import EXTENSION, Project

META_FILE = "META.json"


def meta_problems(project: Project) -> list[str]:
    """What is wrong with META.json against gamification.control (nothing if there is no
    META.json: a project copy without packaging metadata is still checkable)."""
    path = project.root / META_FILE
    if not path.exists():
        return []
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        return [f"{META_FILE} is not valid JSON: {exc}"]
    if not isinstance(meta, dict):
        return [f"{META_FILE} must hold a JSON object"]

    version = project.version
    script = f"extension/{EXTENSION}--{version}.sql"
    fix = (f'set "version" and provides.{EXTENSION}.version to "{version}" and '
           f'provides.{EXTENSION}.file to "{script}"')
    problems = []
    if meta.get("version") != version:
        problems.append(f"{META_FILE} version {meta.get('version')!r} differs from default_version "
                        f"{version!r} in {EXTENSION}.control: {fix}")
    provided = meta.get("provides", {}).get(EXTENSION) if isinstance(meta.get("provides"), dict) else None
    if not isinstance(provided, dict):
        problems.append(f"{META_FILE} has no provides.{EXTENSION} entry: {fix}")
        return problems
    if provided.get("version") != version:
        problems.append(f"{META_FILE} provides.{EXTENSION}.version {provided.get('version')!r} differs "
                        f"from default_version {version!r} in {EXTENSION}.control: {fix}")
    if provided.get("file") != script:
        problems.append(f"{META_FILE} provides.{EXTENSION}.file {provided.get('file')!r} is not the "
                        f"install script of {version}: {fix}")
    elif not (project.root / script).is_file():
        problems.append(f"{META_FILE} provides.{EXTENSION}.file {script} does not exist: "
                        f"run `gamification build`")
    return problems
