"""``gamification install``: what ``make install`` does, without make or PGXS."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .project import Project, ProjectError


def extension_directory(pg_config: str) -> Path:
    """The server's extension directory: ``$(pg_config --sharedir)/extension``."""
    try:
        sharedir = subprocess.run([pg_config, "--sharedir"], check=True, capture_output=True,
                                  text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ProjectError(f"cannot run {pg_config} --sharedir: {exc}") from exc
    return Path(sharedir) / "extension"


def install(project: Project, pg_config: str = "pg_config", destdir: Path | None = None) -> list[Path]:
    """Copy the control file and every script into the extension directory
    (below ``destdir`` when given, like PGXS's ``DESTDIR``)."""
    target = extension_directory(pg_config)
    if destdir is not None:
        target = destdir / target.relative_to("/")
    target.mkdir(parents=True, exist_ok=True)
    installed = []
    for source in [project.control_file, *project.script_files()]:
        destination = target / source.name
        shutil.copyfile(source, destination)
        destination.chmod(0o644)
        installed.append(destination)
    return installed
