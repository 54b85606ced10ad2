"""Golden files of the generated code: for representative registrations, what the generator
renders (each condition's predicate, each trigger function, each CREATE TRIGGER) is compared
byte for byte with tests/golden/<case>.sql, so any change to generated code shows up as a
readable diff in review.

Refresh the expected files after an intended change, then read the diff before committing:

    GAMIFICATION_GOLDEN_UPDATE=1 .venv/bin/pytest tests/test_golden.py
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import psycopg
import pytest

GOLDEN = Path(__file__).with_name("golden")
UPDATE = os.environ.get("GAMIFICATION_GOLDEN_UPDATE") == "1"

TABLES = """
CREATE TABLE public.play (id serial PRIMARY KEY, player int, kind text, score int NOT NULL DEFAULT 0);
CREATE TABLE public.vip (player int PRIMARY KEY);
CREATE TABLE public.profile (player int PRIMARY KEY, level int NOT NULL DEFAULT 0, title text);
CREATE TABLE public.event (id int, user_id int, kind text) PARTITION BY LIST (kind);
CREATE TABLE public.event_login PARTITION OF public.event FOR VALUES IN ('login');
"""


def badge(code: str, **keys) -> str:
    import json
    return json.dumps({"code": code, "name": code, **keys})


CASES = {
    "counter_only": [badge("plays", target=3, counter={"table": "play", "user_field": "player"}),
                     badge("wins", target=2, counter={"table": "play", "user_field": "player", "where": "kind = 'win'"})],
    "condition_only": [badge("high", points=5, condition="NEW.score >= 90", trigger_condition="insert",
                             trigger_table="play", user_field="player")],
    "mixed": [badge("plays", target=3, counter={"table": "play", "user_field": "player"}),
              badge("highs", target=2, condition="NEW.score >= 50", trigger_condition="insert",
                    trigger_table="play", user_field="player"),
              badge("any", condition="score > 0", trigger_condition="insert", trigger_table="play", user_field="player"),
              badge("vip", condition="EXISTS (SELECT 1 FROM public.vip v WHERE v.player = NEW.player)",
                    trigger_condition="insert", trigger_table="play", user_field="player")],
    "update_of": [badge("level", condition="NEW.level >= 10", trigger_condition="update", trigger_table="profile",
                        user_field="player", update_of=["level"]),
                  badge("level_ups", target=3, condition="NEW.level > OLD.level", trigger_condition="update",
                        trigger_table="profile", user_field="player", update_of=["level"])],
    "delete": [badge("quitter", target=2, counter={"table": "play", "user_field": "player", "on": "delete"})],
    "old_new_pairing": [badge("titled", condition="NEW.title IS DISTINCT FROM OLD.title", trigger_condition="update",
                              trigger_table="profile", user_field="player")],
    "partitioned_parent": [badge("logins", target=5, counter={"table": "event", "user_field": "user_id",
                                                              "where": "kind = 'login'"})],
}

RENDERED = """
SELECT string_agg(sql, E'\\n\\n-- ----\\n\\n' ORDER BY ord, name) FROM (
    SELECT 1 AS ord, r.badge_code AS name, gamification._predicate_sql(r) AS sql FROM gamification.badge_rule r
    UNION ALL
    SELECT 2, t.tbl::text || e.event || e.row_level::text,
           gamification._trigger_function_sql(t.tbl, e.event, e.row_level) || E';\\n'
           || gamification._trigger_sql(t.tbl, e.event, e.row_level) || ';'
      FROM (SELECT DISTINCT table_name AS tbl FROM gamification.badge_rule) t,
           (VALUES ('insert', false), ('update', false), ('delete', false), ('update', true)) e(event, row_level)
     WHERE gamification._trigger_function_sql(t.tbl, e.event, e.row_level) IS NOT NULL
) generated
"""


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_code_is_the_golden_file(dsn: str, case: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(TABLES)
        conn.execute("SET search_path = public")
        conn.execute("SELECT gamification.badge_register(%s::jsonb)", (f"[{', '.join(CASES[case])}]",))
        rendered = conn.execute(RENDERED).fetchone()[0] + "\n"
    path = GOLDEN / f"{case}.sql"
    if UPDATE:
        path.write_text(rendered)
    expected = path.read_text() if path.exists() else ""
    assert rendered == expected, (
        f"the generated code of case {case!r} differs from {path.relative_to(GOLDEN.parent.parent)}; if the "
        "change is intended, refresh with GAMIFICATION_GOLDEN_UPDATE=1 and review the diff:\n"
        + "".join(difflib.unified_diff(expected.splitlines(keepends=True), rendered.splitlines(keepends=True),
                                       fromfile="expected", tofile="generated")))
