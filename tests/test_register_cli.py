"""`gamification register FILE --dsn DSN [--dry-run] [--prune]`, run as a user runs it:
the plan (each code with add/change/remove/keep, and registered badges the file does not
list) is printed; --dry-run changes nothing; otherwise the plan is applied in one
transaction; badges missing from the file are removed only with --prune or after a
confirmation on a terminal; a badge changed behind the file's back shows as a change; a
bad file exits non-zero with the reason and changes nothing.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys

import psycopg
import pytest

ACTIONS = ("add", "change", "remove", "keep")


def run_register(path, dsn, *extra):
    return subprocess.run([sys.executable, "-m", "gamification", "register", str(path), "--dsn", dsn, *extra],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def run_register_on_a_terminal(path, dsn, answer: str):
    """The command with a terminal as its stdin, answering ``answer`` to any question."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "gamification", "register", str(path), "--dsn", dsn],
                                stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.write(master, answer.encode() + b"\n")
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(master)
        os.close(slave)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def plan_of(output: str, codes) -> dict[str, str]:
    """The action printed for each code: the one action word on a line naming the code,
    or "unlisted" for a line saying the badge is not in the file (and kept)."""
    plan = {}
    for code in codes:
        for line in output.splitlines():
            if re.search(rf"(?<![\w.:-]){re.escape(code)}(?![\w.:-])", line):
                if "not in file" in line and "kept" in line:
                    plan[code] = "unlisted"
                    continue
                found = [a for a in ACTIONS if re.search(rf"\b{a}\b", line, re.IGNORECASE)]
                if len(found) == 1:
                    plan[code] = found[0]
    return plan


def state(conn):
    badges = conn.execute(
        "SELECT code, name FROM gamification.badges ORDER BY code").fetchall()
    status = conn.execute(
        "SELECT code, kind, lower(event), installed FROM gamification.badge_status ORDER BY code").fetchall()
    triggers = conn.execute(
        "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2").fetchall()
    return badges, status, triggers


INITIAL = [
    {"code": "manual", "name": "Manual", "points": 1},
    {"code": "keepme", "name": "Keep me", "condition": "true", "trigger_condition": "insert",
     "trigger_table": "dummy_sketch", "user_field": "user_id"},
    {"code": "changeme", "name": "Change me", "condition": "NEW.hit_views > 10", "trigger_condition": "update",
     "trigger_table": "dummy_sketch", "user_field": "user_id"},
]
FILE = [
    {"name": "Keep me", "code": "keepme", "condition": "true", "trigger_condition": "insert",
     "trigger_table": "dummy_sketch", "user_field": "user_id"},
    {"name": "Change me", "code": "changeme", "condition": "NEW.hit_views >= 1000", "trigger_condition": "update",
     "trigger_table": "dummy_sketch", "user_field": "user_id"},
    {"name": "Collector", "code": "collector", "condition": "count(id) >= 5 from dummy_sketch where user_id = NEW.user_id",
     "trigger_condition": "insert", "trigger_table": "dummy_sketch", "user_field": "user_id"},
]
# Without --prune (and no terminal to ask on), the badge missing from the file is kept.
EXPECTED_PLAN = {"keepme": "keep", "changeme": "change", "collector": "add", "manual": "unlisted"}
PRUNE_PLAN = {**EXPECTED_PLAN, "manual": "remove"}


@pytest.fixture
def db(dsn):
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute("CREATE TABLE dummy_sketch (id serial PRIMARY KEY, user_id int, hit_views int DEFAULT 0)")
    conn.execute("SELECT gamification.badge_register(%s::jsonb)", (json.dumps(INITIAL),))
    conn.execute("SELECT gamification.badge_award(1, 'manual')")
    yield conn
    conn.close()


def test_dry_run_prints_the_plan_and_changes_nothing(db, dsn, tmp_path):
    path = tmp_path / "badge.json"
    path.write_text(json.dumps(FILE, indent=2))
    before = state(db)
    result = run_register(path, dsn, "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert plan_of(result.stdout, EXPECTED_PLAN) == EXPECTED_PLAN, result.stdout
    assert state(db) == before


def test_register_prints_and_applies_the_plan(db, dsn, tmp_path):
    path = tmp_path / "badge.json"
    path.write_text(json.dumps(FILE, indent=2))
    result = run_register(path, dsn)
    assert result.returncode == 0, result.stdout + result.stderr
    assert plan_of(result.stdout, EXPECTED_PLAN) == EXPECTED_PLAN, result.stdout
    badges, status, _ = state(db)
    assert [row[0] for row in status] == ["changeme", "collector", "keepme"]
    assert all(installed for *_, installed in status)
    # The manual badge the file does not list is kept (no --prune, no terminal to ask on).
    assert "manual" in [row[0] for row in badges]
    # The applied definitions award.
    db.execute("INSERT INTO dummy_sketch (user_id) SELECT 7 FROM generate_series(1, 5)")
    db.execute("UPDATE dummy_sketch SET hit_views = 500 WHERE user_id = 7")
    assert [r[0] for r in db.execute(
        "SELECT code FROM gamification.user_badges WHERE user_id = '7' ORDER BY code")] == ["collector", "keepme"]
    # Running it again: everything is kept, and nothing is written.
    stamps = db.execute("SELECT code, updated_at FROM gamification.badge ORDER BY code").fetchall()
    again = run_register(path, dsn)
    assert again.returncode == 0, again.stdout + again.stderr
    codes = {"keepme": "keep", "changeme": "keep", "collector": "keep", "manual": "unlisted"}
    assert plan_of(again.stdout, codes) == codes, again.stdout
    assert db.execute("SELECT code, updated_at FROM gamification.badge ORDER BY code").fetchall() == stamps


def test_badges_missing_from_the_file_are_kept_without_prune_and_it_says_so(db, dsn, tmp_path):
    path = tmp_path / "badge.json"
    path.write_text(json.dumps(FILE, indent=2))
    for extra in (("--dry-run",), ()):
        result = run_register(path, dsn, *extra)
        assert result.returncode == 0, result.stdout + result.stderr
        line = next(l for l in result.stdout.splitlines() if re.search(r"\bmanual\b", l))
        assert "not in file" in line and "kept" in line and "--prune" in line, result.stdout
    badges, _, _ = state(db)
    assert "manual" in [row[0] for row in badges]
    # After applying, the summary says what was left and how to remove it.
    assert "--prune" in result.stdout.split("Applied")[-1], result.stdout


def test_prune_removes_badges_missing_from_the_file_keeping_their_awards(db, dsn, tmp_path):
    path = tmp_path / "badge.json"
    path.write_text(json.dumps(FILE, indent=2))
    before = state(db)
    dry = run_register(path, dsn, "--dry-run", "--prune")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert plan_of(dry.stdout, PRUNE_PLAN) == PRUNE_PLAN, dry.stdout
    assert state(db) == before
    result = run_register(path, dsn, "--prune")
    assert result.returncode == 0, result.stdout + result.stderr
    assert plan_of(result.stdout, PRUNE_PLAN) == PRUNE_PLAN, result.stdout
    badges, _, _ = state(db)
    assert "manual" not in [row[0] for row in badges]
    # The removed manual badge keeps its award.
    assert db.execute("SELECT count(*) FROM gamification.user_badges WHERE code = 'manual' AND user_id = '1'"
                      ).fetchone()[0] == 1


def test_on_a_terminal_removal_is_asked_first(db, dsn, tmp_path):
    path = tmp_path / "badge.json"
    path.write_text(json.dumps(FILE, indent=2))
    refused = run_register_on_a_terminal(path, dsn, "n")
    assert refused.returncode == 0, refused.stdout + refused.stderr
    assert "?" in refused.stdout and plan_of(refused.stdout, EXPECTED_PLAN) == EXPECTED_PLAN, refused.stdout
    badges, status, _ = state(db)
    assert "manual" in [row[0] for row in badges]
    assert [row[0] for row in status] == ["changeme", "collector", "keepme"], "the rest was applied"
    confirmed = run_register_on_a_terminal(path, dsn, "y")
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    badges, _, _ = state(db)
    assert "manual" not in [row[0] for row in badges], confirmed.stdout


def test_a_badge_changed_behind_the_files_back_is_a_change_and_registering_repairs_it(db, dsn, tmp_path):
    path = tmp_path / "badge.json"
    path.write_text(json.dumps(FILE, indent=2))
    assert run_register(path, dsn).returncode == 0
    in_force = db.execute("SELECT b.points, r.condition FROM gamification.badge b "
                          "JOIN gamification.badge_rule r ON r.badge_code = b.code WHERE b.code = 'keepme'").fetchone()
    # An admin screen (as a superuser) edits a badge's points, then a rule's condition.
    for edit in ("UPDATE gamification.badge SET points = 99 WHERE code = 'keepme'",
                 "UPDATE gamification.badge_rule SET condition = 'false' WHERE badge_code = 'keepme'",
                 "UPDATE gamification.badge_rule SET update_of = '{hit_views}' WHERE badge_code = 'changeme'"):
        db.execute(edit)
        code = "changeme" if "changeme" in edit else "keepme"
        dry = run_register(path, dsn, "--dry-run")
        assert dry.returncode == 0, dry.stdout + dry.stderr
        assert plan_of(dry.stdout, [code])[code] == "change", (edit, dry.stdout)
        applied = run_register(path, dsn)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert plan_of(applied.stdout, [code])[code] == "change", (edit, applied.stdout)
        again = run_register(path, dsn, "--dry-run")
        assert plan_of(again.stdout, ["keepme", "changeme", "collector"]) == \
            {"keepme": "keep", "changeme": "keep", "collector": "keep"}, (edit, again.stdout)
    assert db.execute("SELECT b.points, r.condition FROM gamification.badge b "
                      "JOIN gamification.badge_rule r ON r.badge_code = b.code WHERE b.code = 'keepme'"
                      ).fetchone() == in_force


def test_invalid_json_exits_non_zero_and_changes_nothing(db, dsn, tmp_path):
    path = tmp_path / "badge.json"
    path.write_text('[{"code": "broken", "name": "Broken",}')
    before = state(db)
    result = run_register(path, dsn)
    assert result.returncode != 0
    assert (result.stdout + result.stderr).strip(), "says why"
    assert "Traceback" not in result.stderr
    assert state(db) == before


def test_definition_rejected_by_the_server_exits_non_zero_with_its_message(db, dsn, tmp_path):
    path = tmp_path / "badge.json"
    path.write_text(json.dumps(FILE + [
        {"name": "Bad", "code": "bad", "condition": "true", "trigger_condition": "insert",
         "trigger_table": "no_such_table", "user_field": "user_id"}]))
    before = state(db)
    for extra in ((), ("--dry-run",)):
        result = run_register(path, dsn, *extra)
        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        assert 'badge "bad"' in output and "trigger_table" in output and "no_such_table" in output, output
        assert "Traceback" not in result.stderr
        assert state(db) == before


def test_condition_that_does_not_compile_is_reported(db, dsn, tmp_path):
    path = tmp_path / "badge.json"
    path.write_text(json.dumps([dict(FILE[0]), {"name": "Typo", "code": "typo", "condition": "NEW.hit_vews > 1",
                                                "trigger_condition": "update", "trigger_table": "dummy_sketch",
                                                "user_field": "user_id"}]))
    before = state(db)
    result = run_register(path, dsn)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert 'badge "typo"' in output and "condition" in output and "hit_vews" in output, output
    assert state(db) == before
