"""Errors read as the README shows them (issue 16): a user of psql sees the message, the
hint and one CONTEXT line naming the function called, not the extension's call stack."""

from __future__ import annotations

import subprocess

import pytest

CALLS = [
    # A missing field deep in trigger-badge validation.
    """SELECT gamification.badge_register('{"code": "popular", "name": "P", "trigger_table": "t",
        "user_field": "user_id", "condition": "true"}')""",
    """SELECT * FROM gamification.badge_sync('[{"code": "x", "name": "X", "points": -1}]', dry_run => true)""",
    """SELECT gamification.badge_preview('{"code": "p", "name": "P", "trigger_table": "nope",
        "trigger_condition": "insert", "user_field": "u", "condition": "true"}')""",
    """SELECT gamification.badge_unregister(NULL)""",
]


@pytest.mark.parametrize("call", CALLS, ids=["register", "sync", "preview", "unregister"])
def test_a_public_error_carries_one_context_line_and_no_internal_frames(server, call):
    result = subprocess.run([str(server.installation.tool("psql")), "-X", "-d", server.dsn, "-c", call],
                            capture_output=True, text=True)
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert lines[0].startswith("ERROR:"), result.stderr
    context = [line for line in lines if line.startswith("CONTEXT:")]
    assert len(context) <= 1, result.stderr
    assert "gamification._" not in result.stderr, result.stderr  # no internal helper named
    assert "SQL statement" not in result.stderr, result.stderr


HOT_PATH = [
    "SELECT gamification.badge_award('1', 'welcom')",
    "SELECT gamification.points_award(NULL::text, 5, 'x')",
    """SELECT gamification.category_register('{"code": ""}')""",
]


@pytest.mark.parametrize("call", HOT_PATH, ids=["award", "points", "category"])
def test_other_public_errors_carry_no_calling_statement(server, call):
    """Functions that run inside applications' transactions take no exception block (a
    subtransaction per call): their errors keep a short CONTEXT, never the text of the
    statements that called the helpers."""
    result = subprocess.run([str(server.installation.tool("psql")), "-X", "-d", server.dsn, "-c", call],
                            capture_output=True, text=True)
    assert result.returncode != 0 and result.stderr.startswith("ERROR:"), result.stderr
    assert "SQL statement" not in result.stderr, result.stderr
    assert "HINT:" in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) <= 6, result.stderr
