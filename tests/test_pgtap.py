"""Every tests/pgtap/*.sql file, run by pg_prove, once per PostgreSQL major."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

PGTAP_FILES = sorted((Path(__file__).parent / "pgtap").glob("*.sql"))


@pytest.mark.parametrize("tap_file", PGTAP_FILES, ids=[path.name for path in PGTAP_FILES])
def test_pgtap(tap_file: Path, server) -> None:
    result = subprocess.run(
        ["pg_prove", "--psql-bin", str(server.installation.tool("psql")), "--verbose",
         "--host", server.host, "--port", str(server.port), "--username", server.user,
         "--dbname", server.dbname, str(tap_file)],
        capture_output=True, text=True,
    )
    failures = [line for line in result.stdout.splitlines() if line.lstrip().startswith(("not ok", "#"))]
    assert result.returncode == 0, (
        f"pg_prove {tap_file.name} on {server.name} failed:\n"
        + "\n".join(failures) + "\n--- full output ---\n" + result.stdout + result.stderr
    )
