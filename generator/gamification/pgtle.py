"""``gamification build --pg-tle``: one SQL file that installs the extension through
pg_tle (AWS Trusted Language Extensions), for managed servers where nobody can copy
files into the server's extension directory (RDS, Aurora, Supabase).

The file is made from the committed scripts in extension/ (not re-rendered from sql/),
so it is reproducible from any checkout. It calls, in this order:

  pgtle.install_extension(name, <oldest full script's version>, <control comment>,
                          <that script>, <control requires>, <control schema>)
  pgtle.install_extension_version_sql(name, <version>, <script>)   every other full script
  pgtle.install_update_path(name, <from>, <to>, <script>)          every upgrade, chain order
  pgtle.set_default_version(name, <control default_version>)

The ``schema`` argument of install_extension exists since pg_tle 1.5.0, so the file
needs pg_tle >= 1.5.0. pg_tle forces the control flags superuser, trusted and
relocatable to false: the scripts run as the role calling CREATE EXTENSION (see
docs/managed-postgresql.md). Output is deterministic: no timestamps, sorted versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .project import EXTENSION, Project, ProjectError

MIN_PG_TLE = "1.5.0"

# pg_tle wraps every stored script in dollar quotes with these two tags; a script that
# contains either is refused ("invalid character in extension definition").
FORBIDDEN_DELIMITERS = ("$_pgtle_o_$", "$_pgtle_i_$")

# The dollar-quote tag around each embedded script: the first of these candidates that
# occurs in none of the scripts.
_TAG_CANDIDATES = ["$_gamification_pgtle_$"] + [f"$_gamification_pgtle_{n}_$" for n in range(1, 100)]

_CONTROL_LINE_RE = re.compile(r"^\s*(?P<key>[a-z_]+)\s*=\s*(?P<value>.*?)\s*$")


@dataclass(frozen=True)
class Script:
    path: Path
    version: str                 # the version it installs (upgrades: the target)
    from_version: str | None     # None for a full install script

    @property
    def is_upgrade(self) -> bool:
        return self.from_version is not None


def version_key(version: str) -> tuple:
    """Sort key for extension versions: numeric parts numerically (0.10.0 > 0.9.0)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"[.\-_+]", version))


def read_control(project: Project) -> dict[str, str]:
    """The control file's settings, with quoted values unquoted."""
    settings: dict[str, str] = {}
    for line in project.control_file.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _CONTROL_LINE_RE.match(line)
        if not match:
            raise ProjectError(f"{project.control_file}: cannot read line {line!r}")
        value = match.group("value")
        if value.startswith("'"):
            if not (len(value) >= 2 and value.endswith("'")):
                raise ProjectError(f"{project.control_file}: unterminated string in {line!r}")
            value = value[1:-1].replace("''", "'")
        settings[match.group("key")] = value
    return settings


def scripts(project: Project) -> list[Script]:
    """Every committed script in extension/: full scripts by version, then upgrades
    in chain order (by source, then target version)."""
    found = []
    for path in project.script_files():
        parts = path.name.removeprefix(f"{EXTENSION}--").removesuffix(".sql").split("--")
        if len(parts) not in (1, 2) or not all(parts):
            raise ProjectError(f"extension/{path.name}: not a {EXTENSION}--<version>.sql or "
                               f"{EXTENSION}--<from>--<to>.sql script name")
        found.append(Script(path, parts[-1], parts[0] if len(parts) == 2 else None))
    full = sorted((s for s in found if not s.is_upgrade), key=lambda s: version_key(s.version))
    upgrades = sorted((s for s in found if s.is_upgrade),
                      key=lambda s: (version_key(s.from_version or ""), version_key(s.version)))
    return full + upgrades


def strip_psql_echo(text: str) -> str:
    """The script without its ``\\echo ... \\quit`` guard lines (meaningless, and an
    error, when the script runs as a pg_tle function body rather than from psql)."""
    return "".join(line for line in text.splitlines(keepends=True)
                   if not line.lstrip().startswith("\\echo"))


def choose_tag(texts: list[str]) -> str:
    for tag in _TAG_CANDIDATES:
        if not any(tag in text for text in texts):
            return tag
    raise ProjectError("no dollar-quote tag is free: every candidate "
                       f"({_TAG_CANDIDATES[0]} ...) occurs in some script in extension/")


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _reachable(start: list[str], upgrades: list[Script]) -> set[str]:
    seen = set(start)
    frontier = list(start)
    while frontier:
        current = frontier.pop()
        for script in upgrades:
            if script.from_version == current and script.version not in seen:
                seen.add(script.version)
                frontier.append(script.version)
    return seen


def render(project: Project) -> str:
    """The pg_tle install file's text."""
    control = read_control(project)
    default = project.version
    all_scripts = scripts(project)
    full = [s for s in all_scripts if not s.is_upgrade]
    upgrades = [s for s in all_scripts if s.is_upgrade]
    if not full:
        raise ProjectError(f"extension/ holds no full install script {EXTENSION}--<version>.sql")
    if default not in _reachable([s.version for s in full], upgrades):
        raise ProjectError(f"default_version {default} has neither an install script nor an "
                           f"upgrade path from one in extension/: run `gamification build`")

    texts: dict[Path, str] = {}
    for script in all_scripts:
        text = strip_psql_echo(script.path.read_text())
        for delimiter in FORBIDDEN_DELIMITERS:
            if delimiter in text:
                raise ProjectError(
                    f"extension/{script.path.name} contains {delimiter}, which pg_tle reserves "
                    f"as its own dollar-quote delimiter: pg_tle would refuse it, so it cannot be "
                    f"packaged. Rename that dollar quote in sql/ and ship it in a new version.")
        texts[script.path] = text
    tag = choose_tag(list(texts.values()))

    def quoted(script: Script) -> str:
        return f"{tag}\n{texts[script.path]}{tag}"

    base, others = full[0], full[1:]
    requires = [r.strip() for r in control.get("requires", "").split(",") if r.strip()]
    requires_sql = ("ARRAY[" + ", ".join(_literal(r) for r in requires) + "]") if requires else "NULL"
    schema_sql = _literal(control["schema"]) if control.get("schema") else "NULL"
    name = _literal(EXTENSION)

    out = [
        f"-- {EXTENSION} {default} for pg_tle (Trusted Language Extensions), pg_tle >= {MIN_PG_TLE}.",
        f"-- Generated by `gamification build --pg-tle` from the committed scripts in extension/.",
        f"-- Do not edit. Install scripts: {', '.join(s.version for s in full)}; update paths: "
        f"{', '.join(f'{s.from_version}--{s.version}' for s in upgrades) or 'none'}; "
        f"default version: {default}.",
        "-- Run it once per database as a member of pgtle_admin, in one transaction:",
        f"--     psql -1 -v ON_ERROR_STOP=1 -f {EXTENSION}--{default}.pgtle.sql",
        f"-- then CREATE EXTENSION {EXTENSION}; see docs/managed-postgresql.md.",
        "",
        f"SELECT pgtle.install_extension(\n    {name},\n    {_literal(base.version)},\n"
        f"    {_literal(control.get('comment', ''))},\n{quoted(base)},\n"
        f"    {requires_sql},\n    {schema_sql}\n);",
    ]
    for script in others:
        out.append(f"\nSELECT pgtle.install_extension_version_sql(\n    {name},\n"
                   f"    {_literal(script.version)},\n{quoted(script)}\n);")
    for script in upgrades:
        out.append(f"\nSELECT pgtle.install_update_path(\n    {name},\n"
                   f"    {_literal(script.from_version or '')},\n    {_literal(script.version)},\n"
                   f"{quoted(script)}\n);")
    out.append(f"\nSELECT pgtle.set_default_version({name}, {_literal(default)});\n")
    result = "\n".join(out)

    for delimiter in FORBIDDEN_DELIMITERS:  # the header and comment too, not only the scripts
        if delimiter in result:
            raise ProjectError(f"the pg_tle file would contain {delimiter} (from gamification.control?)")
    return result


def default_output(project: Project) -> Path:
    return project.root / "dist" / f"{EXTENSION}--{project.version}.pgtle.sql"


def build(project: Project, output: Path | None = None) -> Path:
    """Write the pg_tle install file; return its path."""
    text = render(project)
    path = output or default_output(project)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
