"""Schema changes on tracked tables (issue 16): what each migration does to a badge.

The outcomes, as documented in docs/reference.md ("Schema changes"):

* a column's type changes (Django's AlterField): the statement succeeds and the badge
  keeps awarding, its condition compiled again for the new type;
* a column or a table is renamed (RenameField, RenameModel): the badge follows, in its
  generated code and in the registry (user_field, update_of, condition);
* a column or table a badge needs is dropped, or a change leaves its condition unable
  to compile: the statement fails with 2BP01, naming the badge and the fix, and changes
  nothing;
* an ALTER TABLE elsewhere changes nothing for badges and takes no lock on tracked tables
  beyond ACCESS SHARE.
"""

from __future__ import annotations

import psycopg
import pytest

SKETCH = """CREATE TABLE public.dummy_sketch (id serial PRIMARY KEY, user_id int NOT NULL,
                                              hit_views int NOT NULL DEFAULT 0, title text, divisor int DEFAULT 1)"""
BADGES = """SELECT gamification.badge_register('[
  {"code": "first", "name": "First", "condition": "true",
   "trigger_condition": "insert", "trigger_table": "dummy_sketch", "user_field": "user_id"},
  {"code": "popular", "name": "Popular", "condition": "NEW.hit_views >= 100",
   "trigger_condition": "update", "trigger_table": "dummy_sketch", "user_field": "user_id", "update_of": ["hit_views"]},
  {"code": "titled", "name": "Titled", "condition": "NEW.title = ''hello''",
   "trigger_condition": "insert", "trigger_table": "dummy_sketch", "user_field": "user_id"}]')"""


@pytest.fixture
def db(dsn):
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute(SKETCH)
    conn.execute(BADGES)
    yield conn
    conn.close()


def holders(conn, code):
    return sorted(r[0] for r in conn.execute(
        "SELECT user_id FROM gamification.user_badges WHERE code = %s", (code,)))


def broken(conn):
    """badge_status rows that are not healthy: {code: (broken, last_error, up_to_date, installed)}."""
    return {r[0]: r[1:] for r in conn.execute(
        """SELECT code, broken, last_error, up_to_date, installed FROM gamification.badge_status
            WHERE broken IS NOT NULL OR last_error IS NOT NULL OR NOT up_to_date OR NOT installed""")}


def rule(conn, code):
    return conn.execute("SELECT table_name::text, user_field, update_of, condition FROM gamification.badge_rule "
                        "WHERE badge_code = %s", (code,)).fetchone()


def refused(conn, statement):
    with pytest.raises(psycopg.errors.DependentObjectsStillExist) as info:
        conn.execute(statement)
    return info.value.diag


def test_alter_column_type_of_an_update_of_column_succeeds_and_the_badge_awards(db):
    db.execute("INSERT INTO dummy_sketch (user_id) VALUES (1)")
    db.execute("ALTER TABLE dummy_sketch ALTER COLUMN hit_views TYPE bigint")
    db.execute("ALTER TABLE dummy_sketch ALTER COLUMN user_id TYPE bigint")
    db.execute("UPDATE dummy_sketch SET hit_views = 5000000000")
    assert holders(db, "popular") == ["1"]
    assert broken(db) == {}


def test_type_change_through_text_and_back_keeps_the_badge(db):
    db.execute("ALTER TABLE dummy_sketch ALTER COLUMN title TYPE varchar(200)")
    db.execute("INSERT INTO dummy_sketch (user_id, title) VALUES (2, 'hello')")
    assert holders(db, "titled") == ["2"]
    assert broken(db) == {}


def test_rename_of_the_update_of_and_condition_column_is_followed(db):
    db.execute("INSERT INTO dummy_sketch (user_id) VALUES (1)")
    db.execute("ALTER TABLE dummy_sketch RENAME COLUMN hit_views TO views")
    # The registry says what is in force; the generated code and the badge follow.
    assert rule(db, "popular") == ("dummy_sketch", "user_id", ["views"], "(NEW.views >= 100)")
    db.execute("UPDATE dummy_sketch SET views = 200")
    assert holders(db, "popular") == ["1"]
    assert broken(db) == {}


def test_rename_of_the_user_column_is_followed(db):
    db.execute("ALTER TABLE dummy_sketch RENAME COLUMN user_id TO owner_id")
    assert rule(db, "first")[1] == "owner_id"
    db.execute("INSERT INTO dummy_sketch (owner_id, title) VALUES (7, 'hello')")
    assert holders(db, "first") == ["7"] and holders(db, "titled") == ["7"]
    db.execute("ALTER TABLE dummy_sketch RENAME COLUMN owner_id TO user_id")  # and back
    db.execute("INSERT INTO dummy_sketch (user_id) VALUES (8)")
    assert holders(db, "first") == ["7", "8"]
    assert broken(db) == {}


def test_rename_of_the_table_is_followed(db):
    db.execute("ALTER TABLE dummy_sketch RENAME TO sketch")
    db.execute("INSERT INTO sketch (user_id) VALUES (3)")
    assert holders(db, "first") == ["3"]
    assert rule(db, "first")[0] == "sketch"
    assert broken(db) == {}
    # The generated functions carry the new name; the old ones are gone.
    names = [r[0] for r in db.execute("SELECT proname FROM pg_proc WHERE proname LIKE 'trg_%' ORDER BY 1")]
    assert names and all(n.startswith("trg_sketch_") for n in names), names


def test_renames_of_a_table_and_column_a_condition_reads_are_followed(db):
    db.execute("CREATE TABLE public.follows (id serial PRIMARY KEY, author int NOT NULL)")
    db.execute("""SELECT gamification.badge_register('{"code": "followed", "name": "Followed",
        "condition": "count(*) >= 1 FROM follows WHERE follows.author = NEW.user_id",
        "trigger_condition": "insert", "trigger_table": "dummy_sketch", "user_field": "user_id"}')""")
    db.execute("ALTER TABLE follows RENAME TO followers")
    db.execute("ALTER TABLE dummy_sketch RENAME COLUMN user_id TO uid")
    db.execute("INSERT INTO followers (author) VALUES (4)")
    db.execute("INSERT INTO dummy_sketch (uid) VALUES (4), (5)")
    assert holders(db, "followed") == ["4"]
    assert "public.followers" in rule(db, "followed")[3]
    assert broken(db) == {}


def test_dropping_a_column_a_condition_reads_is_refused_by_name_even_with_cascade(db):
    for statement in ("ALTER TABLE dummy_sketch DROP COLUMN title",
                      "ALTER TABLE dummy_sketch DROP COLUMN title CASCADE"):
        diag = refused(db, statement)
        assert 'badge "titled"' in diag.message_primary and "title" in diag.message_primary
        assert "badge_unregister('titled')" in diag.message_hint
    # Nothing changed: the column is there and the badge works.
    db.execute("INSERT INTO dummy_sketch (user_id, title) VALUES (1, 'hello')")
    assert holders(db, "titled") == ["1"]
    # The fix the hint gives, then the migration.
    db.execute("SELECT gamification.badge_unregister('titled')")
    db.execute("ALTER TABLE dummy_sketch DROP COLUMN title")
    assert holders(db, "titled") == ["1"]  # awards are kept
    assert broken(db) == {}


@pytest.mark.parametrize("column", ["user_id", "hit_views"])
def test_dropping_the_user_or_an_update_of_column_is_refused(db, column):
    diag = refused(db, f"ALTER TABLE dummy_sketch DROP COLUMN {column} CASCADE")
    assert "badge" in diag.message_primary and column in diag.message_primary


def test_dropping_a_tracked_or_read_table_is_refused(db):
    db.execute("CREATE TABLE public.follows (id serial PRIMARY KEY, author int NOT NULL)")
    db.execute("""SELECT gamification.badge_register('{"code": "followed", "name": "Followed",
        "condition": "count(*) >= 1 FROM follows WHERE follows.author = NEW.user_id",
        "trigger_condition": "insert", "trigger_table": "dummy_sketch", "user_field": "user_id"}')""")
    diag = refused(db, "DROP TABLE follows CASCADE")
    assert 'badge "followed"' in diag.message_primary
    diag = refused(db, "DROP TABLE dummy_sketch CASCADE")
    assert "badge" in diag.message_primary and "dummy_sketch" in diag.message_primary
    for code in ("first", "popular", "titled", "followed"):
        db.execute("SELECT gamification.badge_unregister(%s)", (code,))
    db.execute("DROP TABLE dummy_sketch")
    db.execute("DROP TABLE follows")


def test_a_type_change_the_condition_cannot_take_is_refused(db):
    diag = refused(db, "ALTER TABLE dummy_sketch ALTER COLUMN hit_views TYPE text")
    assert 'would break badge "popular"' in diag.message_primary
    assert db.execute("SELECT atttypid::regtype::text FROM pg_attribute WHERE attrelid = 'dummy_sketch'::regclass "
                      "AND attname = 'hit_views'").fetchone() == ("integer",)
    assert broken(db) == {}


def test_an_unrelated_alter_table_changes_nothing_and_blocks_no_writer(db, dsn):
    db.execute("CREATE TABLE public.other (id int)")
    triggers = db.execute("SELECT array_agg(oid ORDER BY oid) FROM pg_trigger WHERE tgrelid = 'dummy_sketch'::regclass").fetchone()
    with psycopg.connect(dsn) as migration, psycopg.connect(dsn, autocommit=True) as app:
        notices = []
        migration.add_notice_handler(lambda d: notices.append(d.message_primary))
        migration.execute("ALTER TABLE other ADD COLUMN note text")
        modes = {r[0] for r in migration.execute(
            "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND relation = 'dummy_sketch'::regclass")}
        assert modes <= {"AccessShareLock"}, modes
        # The application writes to the tracked table while the migration is open.
        app.execute("SET lock_timeout = '2s'")
        app.execute("INSERT INTO dummy_sketch (user_id) VALUES (9)")
        app.execute("UPDATE dummy_sketch SET hit_views = 500 WHERE user_id = 9")
        migration.commit()
        assert notices == []
    assert holders(db, "first") == ["9"] and holders(db, "popular") == ["9"]
    assert db.execute("SELECT array_agg(oid ORDER BY oid) FROM pg_trigger WHERE tgrelid = 'dummy_sketch'::regclass").fetchone() == triggers
    assert broken(db) == {}


def test_last_error_clears_once_the_badge_works_again(db):
    db.execute("""SELECT gamification.badge_register('{"code": "ratio", "name": "Ratio",
        "condition": "NEW.hit_views / NEW.divisor > 1",
        "trigger_condition": "insert", "trigger_table": "dummy_sketch", "user_field": "user_id"}')""")
    db.execute("INSERT INTO dummy_sketch (user_id, hit_views, divisor) VALUES (1, 10, 0)")
    assert "division by zero" in broken(db)["ratio"][1]
    db.execute("""SELECT gamification.badge_register('{"code": "ratio", "name": "Ratio",
        "condition": "NEW.hit_views / nullif(NEW.divisor, 0) > 1",
        "trigger_condition": "insert", "trigger_table": "dummy_sketch", "user_field": "user_id"}')""")
    assert broken(db) == {}
    # The history stays for whoever investigates.
    assert db.execute("SELECT count(*) FROM gamification.badge_error WHERE badge_code = 'ratio'").fetchone() == (1,)


def test_badge_machinery_ddl_does_not_trip_the_event_triggers(db):
    # fire_on_replica runs ALTER TABLE ... ENABLE ALWAYS TRIGGER inside registration.
    db.execute("""SELECT gamification.badge_register('{"code": "replica", "name": "Replica", "condition": "true",
        "fire_on_replica": true, "trigger_condition": "delete", "trigger_table": "dummy_sketch", "user_field": "user_id"}')""")
    db.execute("INSERT INTO dummy_sketch (user_id) VALUES (1)")
    db.execute("DELETE FROM dummy_sketch")
    assert holders(db, "replica") == ["1"]
    assert broken(db) == {}
