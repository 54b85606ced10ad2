"""The user-facing commands: demo and serve, as a user runs them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import psycopg

from gamification.project import find_project

VERSION = find_project().version


def test_demo_runs_the_scenario_and_leaves_nothing_running() -> None:
    result = subprocess.run([sys.executable, "-m", "gamification", "demo"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CREATE EXTENSION gamification" in result.stdout
    assert f"gamification | {VERSION}" in result.stdout
    assert "server was stopped" in result.stdout
    # The scenario's steps, in order: idempotent award, progress paying, re-locking.
    assert " t          | f" in result.stdout
    assert " 42      |     60" in result.stdout and " 42      |     10" in result.stdout
    # Exactly one error, the deliberate one, with its SQLSTATE and a message naming badge and field.
    output = result.stdout + result.stderr
    assert output.count("ERROR:") == 1
    assert 'badge "oops": field "target" must be a positive integer' in output
    assert "SQLSTATE 22023" in output
    assert "Warning" not in result.stderr
    # The badge.json part: registered through the CLI, awarded live by plain writes.
    assert "Applied: 4 add" in output
    assert " 1       | collector |     20" in output                     # one INSERT ... SELECT
    assert " 2       | prolific |       15 |     10" in output            # counter after a bulk load
    assert " 3       | star      | Star      |     50" in output          # update_of
    assert " 1       | pioneer   | Pioneer   |      0" in output          # any update of auth_user
    assert "dee_badges_after_rollback \n---------------------------\n                         0" in output
    assert output.count("| t         | t          | ") == 4               # badge_status: all healthy
    # Three kinds of roles: a writer with no gamification role awards, a reader reads, an
    # admin (migrations) dry-runs a sync of badges a superuser registered.
    assert " 4       | collector" in output
    assert " collector | keep" in output
    assert " app_writer | f     | f      | f" in output
    assert " web_app    | t     | f      | f" in output
    assert " migrations | t     | t      | t" in output


def test_serve_prints_a_working_connection_string_and_stops_on_ctrl_c() -> None:
    serve = subprocess.Popen([sys.executable, "-m", "gamification", "serve"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in serve.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        dsn = re.search(r'psql "([^"]+)"', "".join(lines)).group(1)
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'gamification'"
                                ).fetchone() == (VERSION,)
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=60) == 0
    finally:
        if serve.poll() is None:
            serve.kill()
    port = re.search(r"port=(\d+)", dsn).group(1)
    try:
        psycopg.connect(dsn, connect_timeout=2).close()
        raise AssertionError(f"the server on port {port} is still running")
    except psycopg.OperationalError:
        pass


def test_help_is_plain_text() -> None:
    """--help is read in a terminal: no reStructuredText markup from docstrings."""
    result = subprocess.run([sys.executable, "-m", "gamification", "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "``" not in result.stdout and "release" in result.stdout, result.stdout


def test_serve_takes_a_port_and_prints_a_url() -> None:
    """`serve --port N` listens on N (the same DSN every start) and prints a URL for a
    framework's settings as well as the psql connection string."""
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    serve = subprocess.Popen([sys.executable, "-m", "gamification", "serve", "--port", str(port)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in serve.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        url = re.search(r"URL:\s+(\S+)", "".join(lines)).group(1)
        assert url == f"postgresql://postgres@127.0.0.1:{port}/postgres", url
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'gamification'"
                                ).fetchone() == (VERSION,)
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=60) == 0
    finally:
        if serve.poll() is None:
            serve.kill()
