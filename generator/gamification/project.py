"""Where the project's files are, and the one place the extension version comes from."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

EXTENSION = "gamification"
# Where a wheel puts the committed scripts and the control file (pyproject.toml, force-include).
PACKAGED = Path(__file__).resolve().with_name("_extension")
_VERSION_RE = re.compile(r"^\s*default_version\s*=\s*'([^']+)'\s*$", re.MULTILINE)


class ProjectError(Exception):
    """A problem with the project's files that the user must fix (printed, exit 2)."""


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def sql_dir(self) -> Path:
        return self.root / "sql"

    @property
    def extension_dir(self) -> Path:
        return self.root / "extension"

    @property
    def control_file(self) -> Path:
        return self.root / f"{EXTENSION}.control"

    @property
    def released_manifest(self) -> Path:
        return self.extension_dir / "RELEASED"

    @property
    def version(self) -> str:
        """The version in development: the control file's ``default_version``."""
        match = _VERSION_RE.search(self.control_file.read_text())
        if not match:
            raise ProjectError(f"{self.control_file}: no default_version = '...' line")
        return match.group(1)

    @property
    def has_sources(self) -> bool:
        """A checkout (sql/ present), not the scripts an installed wheel carries."""
        return self.sql_dir.is_dir()

    def require_sources(self, command: str) -> None:
        if not self.has_sources:
            raise ProjectError(
                f"`gamification {command}` renders sql/, which only a source checkout has; this is the "
                f"installed package ({self.root}), which carries the built scripts only: run it inside the "
                "repository or set GAMIFICATION_ROOT")

    def script_files(self) -> list[Path]:
        """Every committed install and upgrade script, sorted."""
        return sorted(self.extension_dir.glob(f"{EXTENSION}--*.sql"))


def find_project(start: Path | None = None) -> Project:
    """The project root: $GAMIFICATION_ROOT, else the nearest directory upwards
    from ``start`` (default: the working directory) holding gamification.control,
    else the checkout this package was loaded from, else the extension's scripts and
    control file installed with this package (a wheel: no sql/, so no build or check)."""
    env = os.environ.get("GAMIFICATION_ROOT")
    if env:
        return Project(Path(env).resolve())
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / f"{EXTENSION}.control").is_file() and (candidate / "sql").is_dir():
            return Project(candidate)
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / f"{EXTENSION}.control").is_file():
        return Project(checkout)
    if (PACKAGED / f"{EXTENSION}.control").is_file():
        return Project(PACKAGED)
    raise ProjectError("cannot find the project: run inside the repository or set GAMIFICATION_ROOT")
