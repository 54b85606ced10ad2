"""The released-scripts manifest, extension/RELEASED.

One line per released script, in the format of ``sha256sum`` (so
``cd extension && sha256sum -c RELEASED`` checks it too)::

    <sha256 hex>  gamification--0.1.0.sql

Lines starting with ``#`` are comments. A script listed here never changes again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .project import ProjectError


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(path: Path) -> dict[str, str]:
    """File name -> sha256 of every released script (empty if nothing is released)."""
    if not path.exists():
        return {}
    entries: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or len(parts[0]) != 64:
            raise ProjectError(f"{path}:{number}: expected '<sha256>  <script name>', got {line!r}")
        digest, name = parts
        entries[name.lstrip("*")] = digest
    return entries
