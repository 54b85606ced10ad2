"""plpgsql_check over every PL/pgSQL function of the extension, and over the trigger
functions it generates at run time: no errors, and no warnings except the ones in
ALLOWED below, each with the reason it is a false positive.

Debian packages plpgsql_check (postgresql-15-plpgsql-check) for PostgreSQL 15 only;
there is no build for the PostgreSQL 18 wheel, so the [pg18] variant is skipped.

Options: every check plpgsql_check has (``all_warnings => true``: other, extra,
performance, security and compatibility warnings), and ``fatal_errors => false`` so
that one run reports every finding of a function instead of stopping at the first.
Trigger functions are checked once per trigger that uses them, with the trigger's
table as ``relid`` and its transition tables (pg_trigger.tgoldtable/tgnewtable) as
``oldtable``/``newtable``, so the static SQL of the generated functions is checked
against the real tables' columns.
"""

from __future__ import annotations

import re

import psycopg
import pytest

# Tracked tables and a representative set of trigger badges, so that the generated
# statement-level (insert, update with OLD, delete) and row-level (update_of) trigger
# functions exist, with condition, counter, counter-with-where and target variants.
SETUP = [
    "CREATE TABLE public.sketch (id serial PRIMARY KEY, user_id int, v int NOT NULL DEFAULT 0,"
    " hit_views int NOT NULL DEFAULT 0, published boolean NOT NULL DEFAULT false)",
    "CREATE TABLE public.post (id serial PRIMARY KEY, author_id bigint, status text, v int)",
    "CREATE TABLE public.note (user_id text, v int)",  # no primary key
    """SELECT gamification.badge_register('[
      {"code": "collector", "name": "Collector", "points": 5,
       "condition": "count(id) >= 5 from sketch where user_id = NEW.user_id",
       "trigger_condition": "insert", "trigger_table": "sketch", "user_field": "user_id"},
      {"code": "climber", "name": "Climber", "points": 3, "condition": "NEW.v > OLD.v",
       "trigger_condition": "update", "trigger_table": "sketch", "user_field": "user_id"},
      {"code": "cleaner", "name": "Cleaner", "condition": "OLD.v > 0",
       "trigger_condition": "delete", "trigger_table": "sketch", "user_field": "user_id"},
      {"code": "star", "name": "Star", "points": 20, "condition": "NEW.hit_views >= 1000",
       "trigger_condition": "update", "trigger_table": "sketch", "user_field": "user_id",
       "update_of": ["hit_views"]},
      {"code": "author", "name": "Author", "target": 3,
       "counter": {"table": "post", "user_field": "author_id", "on": "insert", "where": "status = ''published''"}},
      {"code": "pruner", "name": "Pruner", "target": 2,
       "counter": {"table": "post", "user_field": "author_id", "on": "delete"}},
      {"code": "reviser", "name": "Reviser", "target": 2, "condition": "NEW.v > 10",
       "trigger_condition": "update", "trigger_table": "post", "user_field": "author_id"},
      {"code": "noted", "name": "Noted", "target": 4, "condition": "NEW.v IS NOT NULL",
       "trigger_condition": "insert", "trigger_table": "note", "user_field": "user_id"},
      {"code": "renoted", "name": "Renoted", "condition": "NEW.v = 7",
       "trigger_condition": "update", "trigger_table": "note", "user_field": "user_id",
       "update_of": ["v"]}
    ]')""",
    # A second update_of badge on the same table: the generated function then holds
    # several rules (fast path plus per-badge isolation), as does sketch's.
    """SELECT gamification.badge_register('{"code": "surge", "name": "Surge", "target": 2,
       "condition": "NEW.hit_views > OLD.hit_views + 100", "trigger_condition": "update",
       "trigger_table": "sketch", "user_field": "user_id", "update_of": ["hit_views", "v"]}')""",
]

# Every PL/pgSQL function of schema gamification, with, for trigger functions, each
# trigger that uses it (table and transition table names). Every trigger function is
# expected to be in use: plpgsql_check needs a trigger's table to check one.
TARGETS = """
SELECT p.oid::regprocedure::text AS fn, p.oid, t.tgrelid, t.tgoldtable, t.tgnewtable,
       p.prorettype = 'trigger'::regtype AS is_trigger
  FROM pg_proc p
  JOIN pg_language l ON l.oid = p.prolang AND l.lanname = 'plpgsql'
  LEFT JOIN pg_trigger t ON t.tgfoid = p.oid AND NOT t.tgisinternal
 WHERE p.pronamespace = 'gamification'::regnamespace
 ORDER BY 1, t.tgrelid
"""

CHECK = """
SELECT c.lineno, c.level, c.sqlstate, c.message, c.detail, c.statement, c.query
  FROM plpgsql_check_function_tb(%(oid)s::regprocedure, relid => %(relid)s::regclass,
                                 fatal_errors => false, all_warnings => true,
                                 oldtable => %(old)s, newtable => %(new)s) c
"""

# (function regex, level, message regex) of findings that are not defects; each entry
# is justified in the comment above it. Anything else fails the test.
ALLOWED: set[tuple[str, str, str]] = {
    # _raise() only raises; it stays VOLATILE on purpose: IMMUTABLE would let the planner
    # fold a call with constant arguments at plan time and raise in branches never taken.
    (r"gamification\._raise\(text,text,text\)", "performance",
     r"routine is marked as VOLATILE, should be IMMUTABLE"),
    # _prune_functions() runs DROP FUNCTION through EXECUTE, which plpgsql_check cannot
    # see ("cannot to determine volatility of used dynamic SQL"): it writes, so VOLATILE.
    (r"gamification\._prune_functions\(\)", "performance",
     r"routine is marked as VOLATILE, should be STABLE"),
    # _sync_table() EXECUTEs the CREATE FUNCTION / CREATE TRIGGER statements generated by
    # _trigger_function_sql() and _trigger_sql(), which quote every name (%I, %L,
    # _qualified). The badge condition inside is SQL by design (a superuser-installed,
    # non-trusted extension; fragments with ";" or comments are refused at registration).
    (r"gamification\._sync_table\(regclass\)", "security",
     r"text type variable is not sanitized"),
}


def _allowed(fn: str, level: str, message: str) -> bool:
    return any(re.fullmatch(f_re, fn) and lv == level and re.search(m_re, message)
               for (f_re, lv, m_re) in ALLOWED)


def test_plpgsql_check(server, dsn):
    if server.major != 15:
        pytest.skip("plpgsql_check is packaged by Debian for PostgreSQL 15 only "
                    "(postgresql-15-plpgsql-check); there is no build for the PostgreSQL 18 wheel")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION plpgsql_check")
        for statement in SETUP:
            conn.execute(statement)
        targets = conn.execute(TARGETS).fetchall()
        generated = [t for t in targets if t[0].startswith("gamification.trg_")]
        # The setup must have produced every kind of generated function.
        assert {re.sub(r"_[0-9a-f]{8}\(\)$", "", t[0]) for t in generated} >= {
            "gamification.trg_sketch_insert", "gamification.trg_sketch_update", "gamification.trg_sketch_delete",
            "gamification.trg_sketch_update_of", "gamification.trg_post_insert", "gamification.trg_post_delete",
            "gamification.trg_post_update", "gamification.trg_note_insert", "gamification.trg_note_update_of"}
        assert len(targets) > 30, targets
        # The check is not vacuous: a trigger function like the generated ones, reading
        # a column its transition table lacks, is reported as an error.
        conn.execute("""CREATE FUNCTION public.canary() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM gamification._grant('collector', ARRAY(SELECT new.no_such_column::text
                                                               FROM new_rows AS new), 'trigger');
                  RETURN NULL; END $$""")
        conn.execute("CREATE TRIGGER canary AFTER INSERT ON public.sketch REFERENCING NEW TABLE AS new_rows"
                     " FOR EACH STATEMENT EXECUTE FUNCTION public.canary()")
        canary = conn.execute(CHECK, {"oid": "public.canary()", "relid": "public.sketch",
                                      "old": None, "new": "new_rows"}).fetchall()
        assert any(level == "error" and "no_such_column" in message
                   for _, level, _, message, *_ in canary), canary
        findings = []
        assert not [t[0] for t in targets if t[5] and t[2] is None], "trigger functions no trigger uses"
        for fn, oid, relid, old, new, _ in targets:
            rows = conn.execute(CHECK, {"oid": oid, "relid": relid or 0, "old": old, "new": new}).fetchall()
            for lineno, level, sqlstate, message, detail, statement, query in rows:
                if _allowed(fn, level, message):
                    continue
                where = f" on {conn.execute('SELECT %s::regclass::text', (relid,)).fetchone()[0]}" if relid else ""
                findings.append(f"{fn}{where} line {lineno} [{level}] {sqlstate}: {message}"
                                + (f" ({detail})" if detail else "")
                                + (f" | statement: {statement}" if statement else "")
                                + (f" | query: {query}" if query else ""))
    assert not findings, "plpgsql_check findings:\n" + "\n".join(findings)
