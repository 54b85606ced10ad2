"""The ``gamification`` command line."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path

import psycopg

from . import build as build_mod
from . import pgtle
from .events import tail
from .install import install
from .register import register
from .project import ProjectError, find_project
from .server import embedded_installation, server_with_extension

DEMO = Path(__file__).with_name("demo")


def cmd_build(args: argparse.Namespace) -> int:
    project = find_project()
    project.require_sources("build")
    if args.output is not None and not args.pg_tle:
        print("gamification build: --output only applies to --pg-tle", file=sys.stderr)
        return 2
    if args.pg_tle:
        path = pgtle.build(project, args.output)
        print(f"wrote {path} (pg_tle >= {pgtle.MIN_PG_TLE}, default version {project.version})")
        return 0
    changed = build_mod.build(project)
    for name in changed:
        print(f"wrote extension/{name}")
    if not changed:
        print(f"extension/ is up to date (version {project.version})")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    project = find_project()
    project.require_sources("check")
    result = build_mod.check(project)
    for problem in result.problems:
        print(f"gamification check: {problem}", file=sys.stderr)
    if result.ok:
        print(f"gamification check: extension/ matches sql/ and released scripts are intact "
              f"(version {project.version})")
        return 0
    return 1


def cmd_install(args: argparse.Namespace) -> int:
    for path in install(find_project(), pg_config=args.pg_config, destdir=args.destdir):
        print(f"installed {path}")
    return 0


def _psql(server, *argv: str, dbname: str = "postgres", **kwargs) -> subprocess.CompletedProcess:
    psql = server.installation.tool("psql")
    return subprocess.run([str(psql), "-X", "-v", "ON_ERROR_STOP=1", "-d", server.dsn(dbname), *argv],
                          **kwargs)


def cmd_serve(args: argparse.Namespace) -> int:
    installation = embedded_installation()
    with server_with_extension(find_project(), installation, port=args.port) as server:
        _psql(server, "-q", "-c", "CREATE EXTENSION gamification", check=True)
        print(f"{installation.describe()} is running with the gamification extension installed.")
        print(f"Connect with:  psql \"{server.dsn()}\"")
        # The URL form is what frameworks' settings take (Django's dj-database-url, Node's pg).
        print(f"URL:           postgresql://postgres@127.0.0.1:{server.port}/postgres")
        print("Press Ctrl-C to stop it; its data is thrown away.", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
        print("\nstopping the server")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    installation = embedded_installation()
    print(f"Starting a throwaway {installation.describe()} ...", flush=True)
    with server_with_extension(find_project(), installation) as server:
        _psql(server, "--echo-queries", "-f", str(DEMO / "1_core.sql"), check=True)
        _psql(server, "-q", "-c", "CREATE DATABASE app", check=True)
        _psql(server, "--echo-queries", "-f", str(DEMO / "2_app.sql"), dbname="app", check=True)
        register(DEMO / "badge.json", server.dsn("app"), dry_run=False)
        _psql(server, "--echo-queries", "-f", str(DEMO / "3_triggers.sql"), dbname="app", check=True)
    print("Demo finished; the server was stopped and its data removed.")
    return 0


def cmd_register(args: argparse.Namespace) -> int:
    register(args.file, args.dsn, args.dry_run, args.prune)
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    tail(args.dsn, args.consumer, args.follow, args.batch)
    return 0


def cmd_reference(args: argparse.Namespace) -> int:
    from . import reference
    project = find_project()
    project.require_sources("reference")
    target = project.root / "docs" / reference.OUTPUT
    if args.dsn:
        with psycopg.connect(args.dsn, autocommit=True) as conn:
            text = reference.render_from(conn, project)
    else:
        stale = [name for name, script in build_mod.render(project).items()
                 if not (project.extension_dir / name).exists()
                 or (project.extension_dir / name).read_text() != script]
        if stale:
            raise ProjectError(f"extension/{stale[0]} is not what sql/ renders: run `gamification build` first")
        with server_with_extension(project, embedded_installation()) as server:
            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION gamification")
                text = reference.render_from(conn, project)
    committed = target.read_text() if target.exists() else ""
    if args.check:
        if committed == text:
            print(f"gamification reference: docs/{reference.OUTPUT} is up to date")
            return 0
        sys.stderr.write(reference.diff(committed, text))
        print(f"gamification reference: docs/{reference.OUTPUT} is stale: run `{reference.COMMAND}`",
              file=sys.stderr)
        return 1
    if committed == text:
        print(f"docs/{reference.OUTPUT} is up to date")
    else:
        target.write_text(text)
        print(f"wrote docs/{reference.OUTPUT}")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from . import release
    project = find_project()
    project.require_sources("release")
    for name in release.freeze(project):
        print(f"froze extension/{name} (listed in extension/RELEASED)")
    if args.next:
        for name in release.start_next(project, args.next):
            print(f"wrote {name}")
        print(f"now at {args.next}: fill in CHANGELOG.md, then commit")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="gamification",
        description="Build, check, release and install the gamification PostgreSQL extension; "
                    "generate its reference; register badge files; run its demo or a throwaway server.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("build", help="render sql/ into extension/")
    p.add_argument("--pg-tle", action="store_true",
                   help="instead, write one SQL file installing every version and upgrade path in "
                        "extension/ through pg_tle (managed PostgreSQL; see docs/managed-postgresql.md)")
    p.add_argument("--output", type=Path, metavar="PATH",
                   help="where --pg-tle writes (default dist/gamification--<default_version>.pgtle.sql)")
    p.set_defaults(func=cmd_build)
    commands.add_parser(
        "check", help="fail if extension/ is not what build renders, or a released script changed"
    ).set_defaults(func=cmd_check)

    p = commands.add_parser(
        "release", help="freeze the current version's install and upgrade scripts (extension/RELEASED)")
    p.add_argument("--next", metavar="X.Y.Z",
                   help="then make X.Y.Z the version in development (control file, META.json, "
                        "upgrade template, CHANGELOG)")
    p.set_defaults(func=cmd_release)

    p = commands.add_parser("install", help="install the extension files into a server")
    p.add_argument("--pg-config", default="pg_config", metavar="PATH",
                   help="pg_config of the target server (default: the one on PATH)")
    p.add_argument("--destdir", type=Path, metavar="DIR",
                   help="stage below DIR instead of writing the server's directory (like DESTDIR)")
    p.set_defaults(func=cmd_install)

    p = commands.add_parser(
        "register", help="add and change a database's badges to match a badge.json file "
                         "(badges missing from it are removed only with --prune or when confirmed)")
    p.add_argument("file", type=Path, help="a JSON array of badge definitions (badge.json)")
    p.add_argument("--dsn", required=True, help="libpq connection string of the database")
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    p.add_argument("--prune", action="store_true",
                   help="also unregister the badges the file does not list (their awards are kept); "
                        "without it they are kept, or removed after a confirmation on a terminal")
    p.set_defaults(func=cmd_register)

    p = commands.add_parser(
        "events", help="print a consumer's next events as JSON lines, acknowledging them (resumes where it stopped)")
    p.add_argument("--dsn", required=True, help="libpq connection string of the database")
    p.add_argument("--consumer", required=True, help="a consumer made with gamification.consumer_register()")
    p.add_argument("--follow", action="store_true", help="wait for more events until Ctrl-C")
    p.add_argument("--batch", type=int, default=100, metavar="N", help="events per batch (default 100)")
    p.set_defaults(func=cmd_events)

    p = commands.add_parser(
        "reference", help="render docs/reference.md from the extension's COMMENTs, grants and docs/errors.toml")
    p.add_argument("--check", action="store_true",
                   help="change nothing; fail with a diff if docs/reference.md is not what it renders")
    p.add_argument("--dsn", metavar="DSN",
                   help="read a database where the extension is installed (default: install the "
                        "built extension/ into a throwaway PostgreSQL 18)")
    p.set_defaults(func=cmd_reference)

    p = commands.add_parser("serve", help="run a throwaway PostgreSQL 18 with the extension until Ctrl-C")
    p.add_argument("--port", type=int, metavar="N", help="listen on this port (default: a free one)")
    p.set_defaults(func=cmd_serve)
    commands.add_parser(
        "demo", help="run the scripted demo on a throwaway PostgreSQL 18"
    ).set_defaults(func=cmd_demo)

    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ProjectError as exc:
        print(f"gamification {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
