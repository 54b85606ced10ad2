"""Bad input corpus: injection attempts, malformed JSON, bad identifiers and privilege
violations. Each case asserts the documented SQLSTATE, a message naming the badge and
the field, a hint, and that NOTHING changed (catalog and data snapshot before == after).

The cases share one database per server (module scope): every case must be refused,
and the snapshot comparison proves it left that database exactly as it found it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import psycopg
import pytest

from security_snapshot import MAJORS, diff, module_env, run, snapshot

SETUP = """
CREATE TABLE public.posts (id serial PRIMARY KEY, author int, body text,
                           published boolean NOT NULL DEFAULT false, hit_views int NOT NULL DEFAULT 0);
CREATE TABLE public.victim (id int);
INSERT INTO public.victim VALUES (1), (2);
CREATE TABLE public.x (id int);
CREATE TABLE public.locked_tbl (id serial PRIMARY KEY, author int);
CREATE VIEW public.posts_view AS SELECT * FROM public.posts;
CREATE SEQUENCE public.some_seq;
CREATE FUNCTION public.is_good(int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 > 0';
SELECT gamification.category_register('{"code": "cat1", "name": "Category one"}');
SELECT gamification.unlockable_register('{"code": "u1", "name": "U1", "points_required": 10}');
SELECT gamification.badge_register('[
  {"code": "existing", "name": "Existing", "points": 10, "category": "cat1"},
  {"code": "prog", "name": "Progress", "points": 5, "target": 3},
  {"code": "poster", "name": "Poster", "points": 2, "condition": "true",
   "trigger_condition": "insert", "trigger_table": "posts", "user_field": "author"},
  {"code": "writer", "name": "Writer", "points": 3, "target": 2,
   "counter": {"table": "posts", "user_field": "author", "where": "published"}}
]');
INSERT INTO public.posts (author, published) VALUES (1, true), (1, true), (2, false);
SELECT gamification.badge_award('9', 'existing');
SELECT gamification.badge_progress('9', 'prog');
SELECT gamification.award_points('9', 7, 'welcome');
"""

ROLES = {
    # A registrant: member of gamification_admin, TRIGGER on posts but not on locked_tbl.
    "admin": "GRANT gamification_admin TO {r}; GRANT TRIGGER ON public.posts TO {r}",
    "operator": "GRANT gamification_operator TO {r}",
    "reader": "GRANT gamification_reader TO {r}",
    # An application role: writes posts, no membership in any gamification role.
    "app": "GRANT SELECT, INSERT, UPDATE, DELETE ON public.posts TO {r}; "
           "GRANT USAGE ON SEQUENCE public.posts_id_seq TO {r}",
    "nobody": "",
}


@pytest.fixture(scope="module", params=MAJORS)
def env(request):
    with module_env(request, "sec_corpus", ROLES, setup=SETUP) as env:
        yield env


@pytest.fixture(scope="module")
def conns(env):
    """One connection per role, made once per module. "observer" (a superuser, autocommit)
    takes the snapshots; the others run each case in a transaction that is always rolled
    back, so a case wrongly accepted cannot leak into the next ones."""
    out = {"observer": env.connect(), "super": env.connect(autocommit=False)}
    for key in ROLES:
        out[key] = env.connect(key, autocommit=False)
    return out


# --------------------------------------------------------------------------- cases

ANY = object()  # marker: the message needs no particular badge label


@dataclass
class Case:
    id: str
    query: str
    params: tuple | None
    sqlstate: str
    label: str | tuple | object  # badge "code" / badge #n (a tuple: any of them), or ANY
    fragments: tuple = ()        # further message fragments (each a str or a tuple of alternatives)
    hint: bool = True            # a non-empty HINT is required
    hint_fragment: str | None = None
    role: str = "super"
    victim: bool = False         # an injection attempt: public.victim must still exist


REGISTER = "SELECT * FROM gamification.badge_register(%s::jsonb)"
PREVIEW = "SELECT gamification.badge_preview(%s::jsonb)"
SYNC = "SELECT * FROM gamification.badge_sync(%s::jsonb)"

COND = {"code": "t1", "name": "T1", "condition": "true", "trigger_condition": "insert",
        "trigger_table": "posts", "user_field": "author"}
COUNTER = {"code": "c1", "name": "C1", "target": 3,
           "counter": {"table": "posts", "user_field": "author", "where": "published"}}
MANUAL = {"code": "m1", "name": "M1", "points": 1}


def edited(base: dict, **kw) -> dict:
    """A copy of a definition with keys set or, given DROP, removed; counter_<key> edits
    the nested counter object."""
    d = json.loads(json.dumps(base))
    for k, v in kw.items():
        target, key = (d["counter"], k[len("counter_"):]) if k.startswith("counter_") else (d, k)
        if v is DROP:
            target.pop(key, None)
        else:
            target[key] = v
    return d


def cond(**kw):
    return edited(COND, **kw)


def counter(**kw):
    return edited(COUNTER, **kw)


def manual(**kw):
    return edited(MANUAL, **kw)


DROP = object()


def reg(id, definition, sqlstate, label, *fragments, query=REGISTER, role="super", victim=False,
        hint_fragment=None, hint=True):
    return Case(id, query, (json.dumps(definition),), sqlstate, label, tuple(fragments), hint,
                hint_fragment, role, victim)


T1 = 'badge "t1"'
C1 = 'badge "c1"'
M1 = 'badge "m1"'
F_COND = 'field "condition"'
F_WHERE = 'field "counter.where"'

INJECTION_CASES = [
    reg("cond-semicolon-drop", cond(condition="true; DROP TABLE victim"), "42601", T1, F_COND, victim=True),
    reg("cond-close-paren-drop-comment", cond(condition="true); DROP TABLE victim; --"), "42601", T1, F_COND,
        victim=True),
    reg("cond-close-paren-drop-no-comment", cond(condition="true) IS TRUE; DROP TABLE victim; SELECT (true"),
        "42601", T1, F_COND, victim=True),
    reg("cond-trailing-semicolon", cond(condition="true;"), "42601", T1, F_COND),
    reg("cond-line-comment", cond(condition="true -- and the rest"), "42601", T1, F_COND),
    reg("cond-line-comment-hides-tail", cond(condition="NEW.author = 1 --"), "42601", T1, F_COND),
    reg("cond-block-comment", cond(condition="true /* hidden */"), "42601", T1, F_COND),
    reg("cond-unterminated-block-comment", cond(condition="true /*"), "42601", T1, F_COND),
    reg("cond-unbalanced-close-open", cond(condition="true) OR (true"), "42601", T1, F_COND),
    reg("cond-unbalanced-open", cond(condition="(true"), "42601", T1, F_COND),
    reg("cond-unbalanced-close", cond(condition="true)"), "42601", T1, F_COND),
    reg("cond-unbalanced-union", cond(condition="true) UNION ALL (SELECT true"), "42601", T1, F_COND,
        victim=True),
    reg("cond-dollar-quote", cond(condition="$$true$$ = 'true'"), "42601", T1, F_COND),
    reg("cond-tagged-dollar-quote", cond(condition="$x$true$x$ = 'true'"), "42601", T1, F_COND),
    reg("cond-dollar-quote-hides-tail", cond(condition="NEW.author = 1 AND $q$"), "42601", T1, F_COND),
    reg("where-semicolon-delete", counter(counter_where="published; DELETE FROM victim"), "42601", C1, F_WHERE,
        victim=True),
    reg("where-unbalanced", counter(counter_where="published) OR (true"), "42601", C1, F_WHERE),
    reg("where-unbalanced-open", counter(counter_where="(published"), "42601", C1, F_WHERE),
    reg("where-line-comment", counter(counter_where="published --"), "42601", C1, F_WHERE),
    reg("where-block-comment", counter(counter_where="published /* x */"), "42601", C1, F_WHERE),
    reg("where-dollar-quote", counter(counter_where="$$x$$ = 'x'"), "42601", C1, F_WHERE),
    reg("update-of-cond-injection", cond(trigger_condition="update", update_of=["hit_views"],
                                         condition="true) THEN PERFORM 1; END IF; DROP TABLE victim; IF (true"),
        "42601", T1, F_COND, victim=True),
    reg("preview-injection", cond(condition="true); DROP TABLE victim; --"), "42601", T1, F_COND,
        query=PREVIEW, victim=True),
    reg("sync-injection", [cond(condition="true); DROP TABLE victim; --")], "42601", T1, F_COND,
        query=SYNC, victim=True),
    reg("admin-injection", cond(condition="true); DROP TABLE victim; --"), "42601", T1, F_COND,
        role="admin", victim=True),
    reg("admin-unbalanced", cond(condition="true) OR (true"), "42601", T1, F_COND, role="admin"),
]

COMPILE_CASES = [
    reg("cond-unknown-column", cond(condition="NEW.nope > 1"), "42703", T1, F_COND),
    reg("cond-unknown-table", cond(condition="count(*) >= 1 FROM nope_table WHERE author = NEW.author"),
        "42P01", T1, F_COND),
    reg("cond-unknown-function", cond(condition="nope_fn(NEW.author)"), "42883", T1, F_COND),
    reg("cond-case-type-mismatch", cond(condition="CASE WHEN true THEN 1 ELSE false END"), "42804", T1, F_COND),
    reg("cond-not-boolean-int", cond(condition="NEW.author"), "42804", T1, F_COND),
    reg("cond-not-boolean-text", cond(condition="NEW.body"), "42804", T1, F_COND),
    reg("cond-syntax-dangling-op", cond(condition="NEW.author >"), "42601", T1, F_COND),
    reg("cond-syntax-double-op", cond(condition="NEW.author = = 1"), "42601", T1, F_COND),
    reg("cond-syntax-keyword", cond(condition="SELECT"), "42601", T1, F_COND),
    reg("cond-old-on-insert", cond(condition="OLD.author = 1"), ("42P01", "42703"), T1, F_COND),
    reg("where-unknown-column", counter(counter_where="nope"), "42703", C1, F_WHERE),
    reg("where-not-boolean", counter(counter_where="author"), "42804", C1, F_WHERE),
    reg("where-syntax", counter(counter_where="published AND"), "42601", C1, F_WHERE),
    reg("update-of-cond-unknown-column", cond(trigger_condition="update", update_of=["hit_views"],
                                              condition="NEW.nope > 1"), "42703", T1, F_COND),
]

IDENTIFIER_CASES = [
    reg("table-unknown", cond(trigger_table="nope"), "42P01", T1, 'field "trigger_table"'),
    reg("table-view", cond(trigger_table="posts_view"), "42809", T1, 'field "trigger_table"'),
    reg("table-sequence", cond(trigger_table="some_seq"), "42809", T1, 'field "trigger_table"'),
    reg("table-semicolon-injection", cond(trigger_table="posts; DROP TABLE victim"), "42P01", T1,
        'field "trigger_table"', victim=True),
    reg("table-quoted-injection", cond(trigger_table='"posts; DROP TABLE x"'), "42P01", T1,
        'field "trigger_table"'),
    reg("table-where-injection", cond(trigger_table="posts where 1=1"), "42P01", T1, 'field "trigger_table"'),
    reg("table-comment-injection", cond(trigger_table="posts -- x"), "42P01", T1, 'field "trigger_table"'),
    reg("table-paren-injection", cond(trigger_table="posts) x (y"), "42P01", T1, 'field "trigger_table"'),
    reg("user-field-unknown", cond(user_field="nope"), "42703", T1, 'field "user_field"'),
    reg("user-field-injection", cond(user_field="author; DROP TABLE victim"), "42703", T1,
        'field "user_field"', victim=True),
    reg("user-field-quote-injection", cond(user_field='author" IS NOT NULL OR "id'), "42703", T1,
        'field "user_field"'),
    reg("user-field-case", cond(user_field="Author"), "42703", T1, 'field "user_field"'),
    reg("update-of-unknown", cond(trigger_condition="update", update_of=["nope"]), "42703", T1,
        'field "update_of"'),
    reg("update-of-injection", cond(trigger_condition="update", update_of=['hit_views"; DROP TABLE victim; --']),
        "42703", T1, 'field "update_of"', victim=True),
    reg("counter-table-unknown", counter(counter_table="nope"), "42P01", C1, 'field "counter.table"'),
    reg("counter-table-view", counter(counter_table="posts_view"), "42809", C1, 'field "counter.table"'),
    reg("counter-table-injection", counter(counter_table="posts; DROP TABLE victim"), "42P01", C1,
        'field "counter.table"', victim=True),
    reg("counter-user-field-unknown", counter(counter_user_field="nope"), "42703", C1,
        'field "counter.user_field"'),
    reg("code-space", manual(code="bad code"), "22023", ('badge "bad code"', "badge #1"), 'field "code"'),
    reg("code-leading-dash", manual(code="-lead"), "22023", ('badge "-lead"', "badge #1"), 'field "code"'),
    reg("code-too-long", manual(code="a" * 64), "22023", (f'badge "{"a" * 64}"', "badge #1"), 'field "code"'),
    reg("code-injection", manual(code="x'); DROP TABLE victim; --"), "22023",
        ('badge "x\'); DROP TABLE victim; --"', "badge #1"), 'field "code"', victim=True),
    reg("code-quote", manual(code='a"b'), "22023", ('badge "a"b"', "badge #1"), 'field "code"'),
    reg("code-newline", manual(code="a\nb"), "22023", ('badge "a\nb"', "badge #1"), 'field "code"'),
    reg("code-trigger-badge-bad", cond(code="t 1"), "22023", ('badge "t 1"', "badge #1"), 'field "code"'),
    reg("category-bad-code", manual(category="a b"), "22023", M1, 'field "category"'),
    reg("next-bad-code", manual(next="x;y"), "22023", M1, 'field "next"'),
]

JSON_CASES = [
    reg("points-string", manual(points="10"), "22023", M1, 'field "points"'),
    reg("points-negative", manual(points=-1), "22023", M1, 'field "points"'),
    reg("points-too-big", manual(points=1000000000001), "22023", M1, 'field "points"'),
    reg("points-float", manual(points=1.5), "22023", M1, 'field "points"'),
    reg("secret-string", manual(secret="yes"), "22023", M1, 'field "secret"'),
    reg("target-float", manual(target=1.5), "22023", M1, 'field "target"'),
    reg("target-zero", manual(target=0), "22023", M1, 'field "target"'),
    reg("target-too-big", manual(target=1000000000001), "22023", M1, 'field "target"'),
    reg("name-number", manual(name=5), "22023", M1, 'field "name"'),
    reg("name-too-long", manual(name="n" * 201), "22023", M1, 'field "name"'),
    reg("description-too-long", manual(description="d" * 4001), "22023", M1, 'field "description"'),
    reg("condition-too-long", cond(condition="true" + " AND true" * 450), "22023", T1, F_COND),
    reg("condition-number", cond(condition=1), "22023", T1, F_COND),
    reg("update-of-string", cond(trigger_condition="update", update_of="hit_views"), "22023", T1,
        'field "update_of"'),
    reg("update-of-empty", cond(trigger_condition="update", update_of=[]), "22023", T1, 'field "update_of"'),
    reg("update-of-number-item", cond(trigger_condition="update", update_of=[1]), "22023", T1,
        'field "update_of"'),
    reg("update-of-on-insert", cond(update_of=["hit_views"]), "22023", T1, 'field "update_of"'),
    reg("missing-code", manual(code=DROP), "22023", "badge #1", 'field "code"'),
    reg("empty-code", manual(code=""), "22023", "badge #1", 'field "code"'),
    reg("missing-name", manual(name=DROP), "22023", M1, 'field "name"'),
    reg("empty-name", manual(name=""), "22023", M1, 'field "name"'),
    reg("missing-condition", cond(condition=DROP), "22023", T1, F_COND),
    reg("empty-condition", cond(condition=""), "22023", T1, F_COND),
    reg("blank-condition", cond(condition="   "), "22023", T1, F_COND),
    reg("missing-trigger-table", cond(trigger_table=DROP), "22023", T1, 'field "trigger_table"'),
    reg("empty-trigger-table", cond(trigger_table=""), "22023", T1, 'field "trigger_table"'),
    reg("missing-user-field", cond(user_field=DROP), "22023", T1, 'field "user_field"'),
    reg("empty-user-field", cond(user_field=""), "22023", T1, 'field "user_field"'),
    reg("missing-trigger-condition", cond(trigger_condition=DROP), "22023", T1, 'field "trigger_condition"'),
    reg("empty-trigger-condition", cond(trigger_condition=""), "22023", T1, 'field "trigger_condition"'),
    reg("bad-trigger-condition", cond(trigger_condition="upsert"), "22023", T1, 'field "trigger_condition"'),
    reg("unknown-key-did-you-mean", cond(trigger_contition="insert"), "22023", T1, '"trigger_contition"',
        hint_fragment='Did you mean "trigger_condition"?'),
    reg("unknown-key-nmae", manual(nmae="x"), "22023", M1, '"nmae"', hint_fragment='Did you mean "name"?'),
    reg("unknown-counter-key", counter(counter_wher="published"), "22023", C1, '"wher"',
        hint_fragment='Did you mean "where"?'),
    reg("counter-with-condition", counter(condition="true"), "22023", C1, 'field "condition"', "counter"),
    reg("counter-without-target", counter(target=DROP), "22023", C1, 'field "target"'),
    reg("counter-not-object", counter(counter="posts"), "22023", C1, 'field "counter"'),
    reg("counter-bad-on", counter(counter_on="update"), "22023", C1, 'field "counter.on"'),
    reg("counter-missing-table", counter(counter_table=DROP), "22023", C1, ('field "table"', 'field "counter.table"')),
    reg("backfill-on-delete", cond(trigger_condition="delete", backfill=True), "0A000", T1, 'field "backfill"'),
    reg("backfill-string", cond(backfill="yes"), "22023", T1, 'field "backfill"'),
    reg("fire-on-replica-string", cond(fire_on_replica="yes"), "22023", T1, 'field "fire_on_replica"'),
    reg("duplicate-codes", [manual(code="dup"), manual(code="dup", name="Other")], "42710", 'badge "dup"', "code"),
    reg("non-object-item", [manual(), "x"], "22023", "badge #2"),
    reg("array-item-array", [[manual()]], "22023", "badge #1"),
    reg("array-item-null", [manual(), None], "22023", "badge #2"),
    reg("input-string", "x", "22023", ANY),
    reg("input-number", 42, "22023", ANY),
    reg("input-boolean", True, "22023", ANY),
    # The whole input is validated before anything is written: a valid first item is not kept.
    reg("valid-then-invalid", [manual(code="fine"), manual(code="bad", points=-5)], "22023", 'badge "bad"',
        'field "points"'),
    reg("valid-trigger-then-compile-error",
        [cond(code="fine_t"), cond(code="broken_t", condition="NEW.nope")], "42703", 'badge "broken_t"', F_COND),
    reg("update-existing-bad-points", manual(code="existing", name="Existing", points="lots"), "22023",
        'badge "existing"', 'field "points"'),
    reg("turn-existing-into-injection", cond(code="poster", condition="true); DROP TABLE victim; --"), "42601",
        'badge "poster"', F_COND, victim=True),
    reg("sync-invalid-item-removes-nothing", [manual(code="only", points=-1)], "22023", 'badge "only"',
        'field "points"', query=SYNC),
    reg("preview-unknown-table", cond(trigger_table="nope"), "42P01", T1, 'field "trigger_table"', query=PREVIEW),
    Case("register-null", "SELECT * FROM gamification.badge_register(NULL)", None, "22004", ANY),
    Case("category-register-bad-code", "SELECT * FROM gamification.category_register(%s::jsonb)",
         (json.dumps({"code": "a b"}),), "22023", ('category "a b"', "category #1"), ('field "code"',)),
    Case("unlockable-negative", "SELECT * FROM gamification.unlockable_register(%s::jsonb)",
         (json.dumps({"code": "u2", "name": "U2", "points_required": -1}),), "22023", 'unlockable "u2"',
         ('field "points_required"',)),
    Case("unlockable-missing-points", "SELECT * FROM gamification.unlockable_register(%s::jsonb)",
         (json.dumps({"code": "u2", "name": "U2"}),), "22023", 'unlockable "u2"', ('field "points_required"',)),
]

PRIVILEGE_CASES = [
    # Registering a trigger badge needs TRIGGER on (or ownership of) the tracked table.
    reg("admin-no-trigger-privilege", cond(trigger_table="locked_tbl"), "42501", T1, 'field "trigger_table"',
        role="admin"),
    reg("admin-no-trigger-privilege-counter", counter(counter_table="locked_tbl"), "42501", C1,
        'field "counter.table"', role="admin"),
    reg("admin-no-trigger-privilege-preview", cond(trigger_table="locked_tbl"), "42501", T1,
        'field "trigger_table"', role="admin", query=PREVIEW),
    reg("operator-register", manual(), "42501", ANY, role="operator", hint=False),
    reg("reader-register", manual(), "42501", ANY, role="reader", hint=False),
    reg("app-register", manual(), "42501", ANY, role="app", hint=False),
    reg("nobody-register", manual(), "42501", ANY, role="nobody", hint=False),
    reg("app-register-injection", cond(condition="true); DROP TABLE victim; --"), "42501", ANY, role="app",
        hint=False, victim=True),
]


def call(id, query, role, params=None):
    return Case(id, query, params, "42501", ANY, (), False, None, role)


PRIVILEGE_CASES += [
    call("reader-award", "SELECT gamification.badge_award('r1', 'existing')", "reader"),
    call("reader-award-points", "SELECT gamification.award_points('r1', 5, 'x')", "reader"),
    call("reader-reset", "SELECT gamification.reset('9')", "reader"),
    call("operator-unregister", "SELECT gamification.badge_unregister('existing')", "operator"),
    call("operator-category-delete", "SELECT gamification.category_delete('cat1')", "operator"),
    call("operator-triggers-sync", "SELECT * FROM gamification.triggers_sync()", "operator"),
    call("operator-sync", "SELECT * FROM gamification.badge_sync('[]'::jsonb)", "operator"),
    call("operator-insert-award", "INSERT INTO gamification.award (user_id, badge_code) VALUES ('o1', 'existing')",
         "operator"),
    call("app-insert-award", "INSERT INTO gamification.award (user_id, badge_code) VALUES ('a1', 'existing')",
         "app"),
    call("app-insert-event", "INSERT INTO gamification.event (user_id, kind, points, reason) "
                             "VALUES ('a1', 'points_changed', 1000000, 'forged')", "app"),
    call("app-update-total", "UPDATE gamification.points_total SET points = 1000000", "app"),
    call("app-grant", "SELECT gamification._grant('existing', ARRAY['a1'], 'manual')", "app"),
    call("app-count", "SELECT gamification._count('prog', ARRAY['a1'], ARRAY[100::bigint])", "app"),
    call("app-revoke-internal", "SELECT gamification._revoke('existing', ARRAY['9'], 'revoke')", "app"),
    call("app-badge-award", "SELECT gamification.badge_award('a1', 'existing')", "app"),
    call("app-award-points", "SELECT gamification.award_points('a1', 1000, 'forged')", "app"),
    call("app-set-role-admin", "SET ROLE gamification_admin", "app"),
    call("nobody-grant", "SELECT gamification._grant('existing', ARRAY['n1'], 'manual')", "nobody"),
    call("nobody-read-view", "SELECT * FROM gamification.user_badges", "nobody"),
    call("nobody-badges-for", "SELECT * FROM gamification.badges_for('9')", "nobody"),
    call("nobody-delete-badge", "DELETE FROM gamification.badge", "nobody"),
    call("nobody-raise", "SELECT gamification._raise('22023', 'x', 'y')", "nobody"),
]

APPEND_ONLY_CASES = [
    # Admins may not write the extension's tables at all (PostgreSQL's own 42501, no hint);
    # the append-only triggers (55000) hold for their owner.
    Case("admin-update-event", "UPDATE gamification.event SET points = 1000000", None, "42501",
         ANY, ("event",), hint=False, role="admin"),
    Case("admin-delete-event", "DELETE FROM gamification.event", None, "42501", ANY,
         ("event",), hint=False, role="admin"),
    Case("admin-delete-history", "DELETE FROM gamification.award_history", None, "42501", ANY,
         ("award_history",), hint=False, role="admin"),
    Case("super-update-event", "UPDATE gamification.event SET points = 0", None, "55000", ANY,
         ("event",)),
    Case("super-delete-history", "DELETE FROM gamification.award_history", None, "55000", ANY,
         ("event",)),
]

CASES = INJECTION_CASES + COMPILE_CASES + IDENTIFIER_CASES + JSON_CASES + PRIVILEGE_CASES + APPEND_ONLY_CASES
assert len({c.id for c in CASES}) == len(CASES), "duplicate case ids"


def _matches(message: str, expected) -> bool:
    if isinstance(expected, tuple):
        return any(e in message for e in expected)
    return expected in message


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_and_changes_nothing(env, conns, case: Case):
    observer = conns["observer"]
    before = snapshot(observer)
    actor = conns[case.role]
    failure = run(actor, case.query, case.params)
    if failure is None:
        actor.rollback()  # wrongly accepted: keep the shared database clean for the next cases
    after = snapshot(observer)

    assert failure is not None, f"{case.id}: accepted, expected SQLSTATE {case.sqlstate}"
    expected_states = case.sqlstate if isinstance(case.sqlstate, tuple) else (case.sqlstate,)
    assert failure.sqlstate in expected_states, f"{case.id}: got {failure}"
    if case.label is not ANY:
        assert _matches(failure.message, case.label), f"{case.id}: message does not name the badge: {failure}"
    for fragment in case.fragments:
        assert _matches(failure.message, fragment), f"{case.id}: message lacks {fragment!r}: {failure}"
    if case.hint:
        assert failure.hint and failure.hint.strip(), f"{case.id}: no hint: {failure}"
    if case.hint_fragment:
        assert case.hint_fragment in (failure.hint or ""), f"{case.id}: hint lacks {case.hint_fragment!r}: {failure}"
    if case.victim:
        assert observer.execute("SELECT to_regclass('public.victim') IS NOT NULL").fetchone()[0]
        assert observer.execute("SELECT count(*) FROM public.victim").fetchone()[0] == 2
    assert not diff(before, after), f"{case.id} changed the database: {diff(before, after)}"


def test_corpus_is_large_enough():
    assert len(CASES) >= 60


def test_setup_is_sane(env, conns):
    """The corpus database is what the cases assume (guards against a vacuous corpus)."""
    c = conns["observer"]
    assert c.execute("SELECT count(*) FROM gamification.badge_rule").fetchone()[0] == 2
    held = c.execute("SELECT user_id, code FROM gamification.user_badges ORDER BY 1, 2").fetchall()
    assert ("1", "poster") in held and ("1", "writer") in held and ("9", "existing") in held
    # A valid registration by the admin role works, so the refusals above are about the input.
    failure = run(conns["admin"], REGISTER, (json.dumps(cond(code="ok_t")),))
    conns["admin"].rollback()
    assert failure is None, f"a valid trigger badge registered by the admin role failed: {failure}"


def test_contract_roles_exist_and_can_be_granted(env):
    """CREATE EXTENSION creates gamification_reader/_operator/_admin (NOLOGIN) if missing."""
    assert not env.setup_errors
    with psycopg.connect(env.dsn(), autocommit=True) as c:
        rows = dict(c.execute("""SELECT rolname, rolcanlogin FROM pg_roles
                                  WHERE rolname IN ('gamification_reader', 'gamification_operator',
                                                    'gamification_admin')""").fetchall())
        assert rows == {"gamification_reader": False, "gamification_operator": False, "gamification_admin": False}
        assert c.execute("SELECT pg_has_role('gamification_admin', 'gamification_operator', 'MEMBER') "
                         "AND pg_has_role('gamification_operator', 'gamification_reader', 'MEMBER')").fetchone()[0]
