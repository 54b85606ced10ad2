"""The privilege boundary against a table owner and an admin who attack it (issue 14).

A badge condition runs inside other roles' writes, with rights that neither the writer
nor the owner of the tracked table have. Each test below is one attack of issue 14; it
must fail on the design where the generated functions run as their registrant, and pass
on the design where they run as ``gamification_runner``.

Roles (login roles made for the module, see ``ROLES``):

* ``owner``: owns schema ``app`` and the tracked tables in it; holds no gamification
  role. It may create types, casts, operators, functions and policies in its schema.
* ``adm``: member of ``gamification_admin``, not a superuser; owns schema ``adm_schema``.
* ``app``: the application; only writes (INSERT/UPDATE) to tracked tables.
* ``reader``: ``gamification_reader``. ``pooled``: a reader that is also a member of
  ``gamification_pooler`` (a connection pool's login).
* the DBA: the superuser connection (``env.connect()``).

Vectors:

1. a cast (``CREATE CAST``) on the user column's type runs inside the machinery;
   a user column of a type a non-superuser owns is refused at registration (42501);
2. a row-security policy on a table a condition reads runs inside the machinery;
3. an operator (``CREATE OPERATOR app.>=``) created before registration (refused, 42501)
   or after it (never called);
4. an admin writes the registry or the award tables directly (42501); a superuser's direct
   edit of the registry cannot make ``triggers_sync()`` run an admin's function;
5. an admin plants an overload in schema ``gamification`` (no CREATE there);
6. ``badge_status`` evaluates nothing (an IMMUTABLE function calling a VOLATILE one would
   run when the planner folds it); such a condition is refused at registration (42501);
7. a temporary table stands in for a renamed table; a registrant's own temporary table;
8. lower: (a) row security: only a ``gamification_pooler`` member chooses the user it sees;
   (b) ``badges_for()`` hides another user's secret badges; (c) readers cannot read the
   conditions; (d) ``badge_preview()`` refuses writing conditions (0A000) and changes
   nothing; (e) revoking ``gamification_admin`` from a registrant does not stop its badges,
   and revoking what a condition reads from the runner breaks the badge, not the write.

Plus: ``gamification_runner`` exists, is NOLOGIN, not a superuser, BYPASSRLS, and owns
every generated ``gamification.trg_%`` function.

The attacker's code leaves two traces when it runs: a row in ``app.seen`` and a step of a
sequence ``app.ran_<tag>``. A sequence step survives a rollback, so code that ran and was
then rolled back (with its ``ALTER ROLE``) is caught too.

One database per server for the whole module; each test makes its own tables and uses its
own user keys, and every role is made NOSUPERUSER again around each test.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import psycopg
import pytest

from security_snapshot import MAJORS, Env, Failure, diff, module_env, run, snapshot

SETUP = """
SELECT gamification.badge_register('[
  {"code": "bigbadge", "name": "Big badge", "points": 100},
  {"code": "spare", "name": "Spare, never awarded"},
  {"code": "plain8", "name": "Plain"},
  {"code": "secret8", "name": "Secret", "secret": true}
]');
-- A superuser's writing function, for the preview test (8d).
CREATE TABLE public.preview_sink (n int);
CREATE FUNCTION public.write_it(n int) RETURNS boolean LANGUAGE plpgsql VOLATILE
AS $$ BEGIN INSERT INTO public.preview_sink VALUES (n); RETURN true; END $$;
"""

ROLES = {
    "owner": "",
    "adm": "GRANT gamification_admin TO {r}",
    "app": "",
    "reader": "GRANT gamification_reader TO {r}",
    # gamification_pooler does not exist before the redesign: the failed grant is only
    # recorded in env.setup_errors, and the pooler test says so.
    "pooled": "GRANT gamification_reader TO {r}; GRANT gamification_pooler TO {r}",
}


@pytest.fixture(scope="module", params=MAJORS)
def env(request):
    with module_env(request, "sec_bnd", ROLES, SETUP) as env:
        yield env


@dataclass
class World:
    env: Env
    su: psycopg.Connection      # the DBA
    owner: psycopg.Connection   # owner of schema app
    adm: psycopg.Connection     # member of gamification_admin

    def role(self, key: str) -> str:
        return self.env.role(key)

    def connect(self, key: str | None = None) -> psycopg.Connection:
        """A new session (autocommit): generated functions are compiled afresh in it."""
        return self.env.connect(key)

    def table(self, name: str, columns: str, adm: bool = False) -> str:
        """owner creates app.<name>; app may INSERT/UPDATE it; adm (if asked) may put
        triggers on it and read it, as the owner would let an admin do."""
        self.owner.execute(f"CREATE TABLE app.{name} ({columns})")
        self.owner.execute(f'GRANT INSERT, UPDATE ON app.{name} TO "{self.role("app")}"')
        self.owner.execute(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA app TO "{self.role("app")}"')
        if adm:
            self.owner.execute(f'GRANT TRIGGER, SELECT ON app.{name} TO "{self.role("adm")}"')
        return f"app.{name}"

    def trace(self, tag: str) -> None:
        """The sequence the attacker's code <tag> steps when it runs (see attacker_code)."""
        self.owner.execute(f"CREATE SEQUENCE app.ran_{tag}")
        self.owner.execute(f"GRANT USAGE ON SEQUENCE app.ran_{tag} TO PUBLIC")


@pytest.fixture(scope="module")
def world(env):
    su = env.connect()
    owner, adm = env.connect("owner"), env.connect("adm")
    su.execute(f'CREATE SCHEMA app AUTHORIZATION "{env.role("owner")}"')
    su.execute(f'CREATE SCHEMA adm_schema AUTHORIZATION "{env.role("adm")}"')
    su.execute(f'GRANT INSERT ON public.preview_sink TO "{env.role("adm")}"')
    # An application schema everyone may use; a log table everyone may write.
    owner.execute("GRANT USAGE ON SCHEMA app TO PUBLIC")
    owner.execute("CREATE TABLE app.seen (tag text NOT NULL, who name NOT NULL, at timestamptz NOT NULL DEFAULT now())")
    owner.execute("GRANT INSERT ON app.seen TO PUBLIC")
    adm.execute("GRANT USAGE ON SCHEMA adm_schema TO PUBLIC")
    w = World(env, su, owner, adm)
    # One registered rule, for the direct writes to the registry (vector 4).
    w.table("base", "id serial PRIMARY KEY, user_id int, amount numeric")
    assert register(su, code="base_rule", condition="NEW.amount > 100", trigger_condition="insert",
                    trigger_table="app.base", user_field="user_id") is None
    return w


@pytest.fixture(autouse=True)
def nobody_stays_superuser(world):
    """An attack that worked must not leak into the next test."""
    def reset():
        for key in ("owner", "adm", "app", "reader", "pooled"):
            world.su.execute(f'ALTER ROLE "{world.role(key)}" NOSUPERUSER')
    reset()
    yield
    reset()


# --------------------------------------------------------------------------- helpers

def register(conn: psycopg.Connection, **definition) -> Failure | None:
    definition.setdefault("name", definition["code"])
    return run(conn, "SELECT * FROM gamification.badge_register(%s::jsonb)", (json.dumps(definition),))


def attacker_code(tag: str, forge_for: str | None = None, escalate: str | None = None) -> str:
    """PL/pgSQL statements of an attacker's function: leave a trace (a step of app.ran_<tag>,
    which survives a rollback, and a row in app.seen), try to forge an award and points for
    user forge_for (errors swallowed), and make role escalate a superuser when it runs as one."""
    code = [f"PERFORM pg_catalog.nextval('app.ran_{tag}');",
            f"INSERT INTO app.seen (tag, who) VALUES ('{tag}', current_user);"]
    if forge_for:
        code += [f"BEGIN PERFORM gamification._grant_many(ARRAY['bigbadge'], ARRAY['{forge_for}'], 'forged');"
                 " EXCEPTION WHEN OTHERS THEN NULL; END;",
                 f"BEGIN PERFORM gamification.award_points('{forge_for}', 1000000, 'forged');"
                 " EXCEPTION WHEN OTHERS THEN NULL; END;"]
    if escalate:
        code.append("IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN "
                    f"EXECUTE 'ALTER ROLE \"{escalate}\" SUPERUSER'; END IF;")
    return "\n    ".join(code)


def ran(su: psycopg.Connection, tag: str) -> str | None:
    """How the attacker's code <tag> was seen to run, or None if it never ran."""
    who = [r[0] for r in su.execute("SELECT who FROM app.seen WHERE tag = %s ORDER BY at", (tag,))]
    if who:
        return f"it ran as {who} (rows in app.seen)"
    if su.execute(f"SELECT is_called FROM app.ran_{tag}").fetchone()[0]:
        return "it ran, and was rolled back (its trace sequence advanced)"
    return None


def is_superuser(su: psycopg.Connection, role: str) -> bool:
    return su.execute("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = %s", (role,)).fetchone()[0]


def holds(su: psycopg.Connection, user: str, code: str) -> bool:
    return su.execute("SELECT count(*) FROM gamification.award WHERE user_id = %s AND badge_code = %s",
                      (user, code)).fetchone()[0] > 0


def points(su: psycopg.Connection, user: str) -> int:
    return su.execute("SELECT coalesce(sum(amount), 0) FROM gamification.points_ledger WHERE user_id = %s",
                      (user,)).fetchone()[0]


def role_exists(su: psycopg.Connection, role: str) -> bool:
    return su.execute("SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = %s", (role,)).fetchone()[0] == 1


def attempt(conn: psycopg.Connection, query: str) -> Failure | None:
    """Run a statement in a transaction that is always rolled back; return its error."""
    failure = None
    with conn.transaction(force_rollback=True):
        failure = run(conn, query)
    return failure


def fetch(conn: psycopg.Connection, query: str, what: str) -> list[tuple]:
    """Rows of a query that must succeed: a failed assertion naming it (not an exception) if not."""
    try:
        return conn.execute(query).fetchall()
    except psycopg.Error as e:
        pytest.fail(f"{what} failed: {e.sqlstate}: {e.diag.message_primary}")


def assert_forged_nothing(su: psycopg.Connection, user: str, where: str) -> None:
    assert not holds(su, user, "bigbadge"), f"{where}: forged award of bigbadge to user {user}"
    assert points(su, user) == 0, f"{where}: forged points for user {user}: {points(su, user)}"


# --------------------------------------------------------------------------- the runner

def test_runner_role_owns_every_generated_function(world):
    su = world.su
    world.table("runner_su", "id serial PRIMARY KEY, user_id int")
    world.table("runner_adm", "id serial PRIMARY KEY, user_id int", adm=True)
    failure = register(su, code="runner_su", condition="true", trigger_condition="insert",
                       trigger_table="app.runner_su", user_field="user_id")
    assert failure is None, f"setup: the superuser could not register: {failure}"
    failure = register(world.adm, code="runner_adm", condition="true", trigger_condition="insert",
                       trigger_table="app.runner_adm", user_field="user_id")
    assert failure is None, f"setup: adm could not register on a table it may trigger on: {failure}"
    row = su.execute("""SELECT rolcanlogin, rolsuper, rolbypassrls FROM pg_catalog.pg_roles
                         WHERE rolname = 'gamification_runner'""").fetchone()
    assert row is not None, "role gamification_runner does not exist"
    can_login, superuser, bypassrls = row
    assert not can_login, "gamification_runner can log in"
    assert not superuser, "gamification_runner is a superuser"
    assert bypassrls, "gamification_runner does not bypass row security (a table owner's policy would run as it)"
    functions = su.execute("""
        SELECT p.oid::regprocedure::text, pg_catalog.pg_get_userbyid(p.proowner) FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'gamification'::regnamespace AND p.proname LIKE 'trg\\_%' ORDER BY 1""").fetchall()
    assert len(functions) >= 3, f"expected generated functions for app.base, app.runner_su, app.runner_adm: {functions}"
    others = [(f, o) for f, o in functions if o != "gamification_runner"]
    assert not others, f"generated functions not owned by gamification_runner: {others}"


# --------------------------------------------------------------------------- 1. casts

def test_cast_on_user_column_type_never_runs_in_badge_machinery(world):
    su, owner_role = world.su, world.role("owner")
    world.table("pay_cast", "id serial PRIMARY KEY, user_id int, amount numeric")
    failure = register(su, code="pay_cast", condition="NEW.amount > 100", trigger_condition="insert",
                       trigger_table="app.pay_cast", user_field="user_id")
    assert failure is None, f"setup: the superuser could not register: {failure}"
    world.trace("cast")
    # After registration, the owner turns the user column into its own type, whose cast
    # to text (the user key) is its own function.
    owner = world.owner
    owner.execute("CREATE TYPE app.mood AS ENUM ('1', '2')")
    owner.execute(f"""
        CREATE FUNCTION app.mood_text(app.mood) RETURNS text LANGUAGE plpgsql AS $fn$
        BEGIN
            {attacker_code("cast", escalate=owner_role)}
            RETURN pg_catalog.format('%s', $1);  -- the output function, not this cast again
        END $fn$""")
    owner.execute("CREATE CAST (app.mood AS text) WITH FUNCTION app.mood_text(app.mood)")
    failure = run(owner, "ALTER TABLE app.pay_cast ALTER COLUMN user_id TYPE app.mood USING user_id::text::app.mood")
    assert failure is None, f"setup: the owner could not change the type of its own column: {failure}"
    write = run(world.connect("owner"), "INSERT INTO app.pay_cast (user_id, amount) VALUES ('1', 500)")

    assert not is_superuser(su, owner_role), "owner became superuser: its cast ran as a superuser inside a badge"
    how = ran(su, "cast")
    assert how is None, f"the owner's cast function ran inside the badge machinery: {how}"
    assert write is None, f"the write to the tracked table failed: {write}"


def test_user_column_of_a_type_a_non_superuser_owns_is_refused(world):
    su = world.su
    world.owner.execute("CREATE TYPE app.mood_reg AS ENUM ('1', '2')")
    world.table("pay_enum", "id serial PRIMARY KEY, user_id app.mood_reg, amount numeric")
    before = snapshot(su)
    failure = register(su, code="pay_enum", condition="NEW.amount > 100", trigger_condition="insert",
                       trigger_table="app.pay_enum", user_field="user_id")
    after = snapshot(su)
    assert failure is not None, "a user column of type app.mood_reg (owned by owner) was accepted at registration"
    assert failure.sqlstate == "42501", f"refused with the wrong SQLSTATE: {failure}"
    assert not diff(before, after), f"the refused registration changed: {diff(before, after)}"


def test_update_of_column_of_a_type_a_non_superuser_owns_is_refused(world):
    """The machinery compares update_of columns itself (OLD.c IS DISTINCT FROM NEW.c): their
    type's operators and casts must not be a table owner's."""
    world.owner.execute("CREATE TYPE app.mood_upd AS ENUM ('a', 'b')")
    table = world.table("upd_enum", "id serial PRIMARY KEY, user_id int, mood app.mood_upd")
    before = snapshot(world.su)
    failure = register(world.su, code="upd_enum", condition="true", trigger_condition="update",
                       trigger_table=table, user_field="user_id", update_of=["mood"])
    assert failure is not None, "an update_of column of type app.mood_upd (owned by owner) was accepted"
    assert failure.sqlstate == "42501", f"refused with the wrong SQLSTATE: {failure}"
    assert not diff(before, snapshot(world.su)), "the refused registration changed the database"


# --------------------------------------------------------------------------- 2. row security

@pytest.mark.parametrize("registrant, forged", [("superuser", "6621"), ("adm", "6622")])
def test_row_security_policy_never_runs_in_badge_machinery(world, registrant, forged):
    """A policy runs with the rights of whoever reads the table. The superuser variant
    already holds before the redesign (superusers bypass row security); the adm variant is
    the attack: the policy ran with adm's rights, which may award."""
    su, owner = world.su, world.owner
    tag = f"rls_{registrant}"
    world.table(f"scores_{registrant}", "player int, score int", adm=registrant == "adm")
    world.table(f"plays_{registrant}", "id serial PRIMARY KEY, player int", adm=registrant == "adm")
    # The policy is evaluated per row read: give the condition rows to read.
    owner.execute(f"INSERT INTO app.scores_{registrant} VALUES (1, 10), (2, 20), (7, 70)")
    failure = register(su if registrant == "superuser" else world.adm,
                       code=f"plays_{registrant}", trigger_condition="insert", user_field="player",
                       condition=f"count(*) >= 1 FROM app.scores_{registrant} s WHERE s.player = NEW.player",
                       trigger_table=f"app.plays_{registrant}")
    assert failure is None, f"setup: {registrant} could not register: {failure}"
    world.trace(tag)
    owner.execute(f"""
        CREATE FUNCTION app.policy_{registrant}() RETURNS boolean LANGUAGE plpgsql AS $fn$
        BEGIN
            {attacker_code(tag, forge_for=forged)}
            RETURN true;
        END $fn$""")
    owner.execute(f"ALTER TABLE app.scores_{registrant} ENABLE ROW LEVEL SECURITY")
    owner.execute(f"CREATE POLICY evil ON app.scores_{registrant} USING (app.policy_{registrant}())")
    write = run(world.connect("app"), f"INSERT INTO app.plays_{registrant} (player) VALUES (7)")

    assert_forged_nothing(su, forged, f"a policy on app.scores_{registrant} (badges registered by {registrant})")
    how = ran(su, tag)
    assert how is None, f"the owner's row-security policy ran inside the badge machinery: {how}"
    assert write is None, f"the write to the tracked table failed: {write}"


# --------------------------------------------------------------------------- 3. operators

def create_evil_operator(world, tag: str, forged: str) -> None:
    world.trace(tag)
    world.owner.execute(f"""
        CREATE FUNCTION app.ge_evil(numeric, integer) RETURNS boolean LANGUAGE plpgsql AS $fn$
        BEGIN
            {attacker_code(tag, forge_for=forged)}
            RETURN true;
        END $fn$""")
    world.owner.execute("CREATE OPERATOR app.>= (LEFTARG = numeric, RIGHTARG = integer, FUNCTION = app.ge_evil)")


@pytest.mark.parametrize("order, forged", [("before", "6631"), ("after", "6632")])
def test_operator_in_a_condition_is_the_one_resolved_at_registration(world, order, forged):
    su, table = world.su, f"pay_op_{order}"
    world.table(table, "id serial PRIMARY KEY, user_id int, amount numeric")
    # The superuser registers with the application schema in its search_path.
    registrant = world.connect()
    registrant.execute("SET search_path = app, public")
    definition = dict(code=table, condition="NEW.amount >= 1000", trigger_condition="insert",
                      trigger_table=f"app.{table}", user_field="user_id")
    try:
        if order == "before":
            create_evil_operator(world, "op_before", forged)
            before = snapshot(su)
            failure = register(registrant, **definition)
            after = snapshot(su)
            assert failure is not None, "a condition using owner's operator app.>=(numeric, integer) was registered"
            assert failure.sqlstate == "42501", f"refused with the wrong SQLSTATE: {failure}"
            assert not diff(before, after), f"the refused registration changed: {diff(before, after)}"
            return
        leftover = su.execute("SELECT pg_catalog.to_regoperator('app.>=(numeric,integer)')").fetchone()[0]
        assert leftover is None, "setup: operator app.>= is left over from another test"
        failure = register(registrant, **definition)
        assert failure is None, f"setup: the superuser could not register: {failure}"
        create_evil_operator(world, "op_after", forged)
        write = run(world.connect("app"), f"INSERT INTO app.{table} (user_id, amount) VALUES (31, 5)")

        assert_forged_nothing(su, forged, "an operator created after registration")
        how = ran(su, "op_after")
        assert how is None, f"the owner's operator app.>= ran inside the badge machinery: {how}"
        assert not holds(su, "31", table), "amount 5 met NEW.amount >= 1000: the owner's operator was called"
        assert write is None, f"the write to the tracked table failed: {write}"
    finally:
        # The operator must not be there when the other order registers.
        run(world.owner, "DROP FUNCTION IF EXISTS app.ge_evil(numeric, integer) CASCADE")


# --------------------------------------------------------------------------- 4. the registry

ADMIN_WRITES = [
    ("badge_rule", "UPDATE", "UPDATE gamification.badge_rule SET condition = 'true' WHERE badge_code = 'base_rule'"),
    ("badge_rule", "INSERT",
     "INSERT INTO gamification.badge_rule (badge_code, kind, table_name, event, user_field, condition, search_path) "
     "VALUES ('spare', 'condition', 'app.base'::regclass, 'insert', 'user_id', 'true', 'public')"),
    ("badge_rule", "DELETE", "DELETE FROM gamification.badge_rule WHERE badge_code = 'base_rule'"),
    ("badge", "INSERT", "INSERT INTO gamification.badge (code, name, definition) VALUES ('adm_forged', 'Forged', '{}')"),
    ("badge", "UPDATE", "UPDATE gamification.badge SET points = 1000000 WHERE code = 'bigbadge'"),
    ("badge", "DELETE", "DELETE FROM gamification.badge WHERE code = 'spare'"),
    ("award", "INSERT", "INSERT INTO gamification.award (user_id, badge_code) VALUES ('667', 'bigbadge')"),
    ("award", "UPDATE", "UPDATE gamification.award SET awarded_at = now()"),
    ("award", "DELETE", "DELETE FROM gamification.award"),
    ("event", "INSERT",
     "INSERT INTO gamification.event (user_id, kind, points, reason) VALUES ('667', 'points_changed', 1000000, 'forged')"),
    ("event", "UPDATE", "UPDATE gamification.event SET points = 1000000"),
    ("event", "DELETE", "DELETE FROM gamification.event"),
    ("progress", "INSERT", "INSERT INTO gamification.progress (user_id, badge_code, progress) VALUES ('667', 'bigbadge', 5)"),
    ("progress", "UPDATE", "UPDATE gamification.progress SET progress = 1000000"),
    ("progress", "DELETE", "DELETE FROM gamification.progress"),
]


@pytest.mark.parametrize("table, verb, query", ADMIN_WRITES, ids=[f"{v.lower()}-{t}" for t, v, _ in ADMIN_WRITES])
def test_admin_cannot_write_registry_or_awards_directly(world, table, verb, query):
    adm = world.connect("adm")
    failure = attempt(adm, query)
    assert failure is not None, f"admin could {verb} gamification.{table} directly"
    assert failure.sqlstate == "42501", f"admin's {verb} on gamification.{table} refused with the wrong SQLSTATE: {failure}"


def test_superuser_edit_of_registry_cannot_make_triggers_sync_run_admin_code(world):
    su, adm_role = world.su, world.role("adm")
    world.table("pay_smuggle", "id serial PRIMARY KEY, user_id int, amount numeric")
    failure = register(su, code="smuggle", condition="NEW.amount > 100", trigger_condition="insert",
                       trigger_table="app.pay_smuggle", user_field="user_id")
    assert failure is None, f"setup: the superuser could not register: {failure}"
    world.trace("boom")
    world.adm.execute(f"""
        CREATE FUNCTION adm_schema.boom() RETURNS boolean LANGUAGE plpgsql AS $fn$
        BEGIN
            {attacker_code("boom", escalate=adm_role)}
            RETURN true;
        END $fn$""")
    try:
        # Any of the three steps may be what refuses.
        edited = run(su, "UPDATE gamification.badge_rule SET condition = 'adm_schema.boom()' WHERE badge_code = 'smuggle'")
        synced = run(su, "SELECT gamification.triggers_sync()") if edited is None else None
        regenerated = [r[0] for r in su.execute("""
            SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
             WHERE p.pronamespace = 'gamification'::regnamespace AND p.prokind <> 'a'
               AND pg_catalog.pg_get_functiondef(p.oid) LIKE '%adm\\_schema.boom%'""")]
        write = run(world.connect("app"), "INSERT INTO app.pay_smuggle (user_id, amount) VALUES (41, 500)")

        assert not is_superuser(su, adm_role), "adm became superuser: triggers_sync() generated a call of adm's function"
        how = ran(su, "boom")
        assert how is None, f"adm's function ran inside the badge machinery: {how}"
        assert edited is not None or synced is not None or not regenerated, \
            f"triggers_sync() regenerated the edited rule into {regenerated}, calling adm_schema.boom()"
        assert write is None, f"the write to the tracked table failed: {write}"
    finally:
        run(su, "SELECT gamification.badge_unregister('smuggle', false)")


# --------------------------------------------------------------------------- 5. schema gamification

def test_nobody_but_the_extension_owner_creates_in_schema_gamification(world):
    su, adm_role = world.su, world.role("adm")
    # An overload of an internal function, closer to the integer arguments of its callers.
    failure = attempt(world.connect("adm"), """
        CREATE FUNCTION gamification._int_field(p_label text, p_object jsonb, p_field text, p_min integer,
                                                p_default integer, p_expected text, p_hint text)
        RETURNS bigint LANGUAGE sql AS 'SELECT 0::bigint'""")
    assert failure is not None, "adm planted an overload gamification._int_field(..., integer, integer, ...)"
    assert failure.sqlstate == "42501", f"the overload was refused with the wrong SQLSTATE: {failure}"
    assert not su.execute("SELECT has_schema_privilege(%s, 'gamification', 'CREATE')", (adm_role,)).fetchone()[0], \
        "adm has CREATE on schema gamification"
    roles = [adm_role, "gamification_admin", "gamification_operator", "gamification_reader", "gamification_runner",
             "gamification_pooler", "public"]
    creators = [r for r in roles if (r == "public" or role_exists(su, r)) and su.execute(
        "SELECT has_schema_privilege(%s, 'gamification', 'CREATE')", (r,)).fetchone()[0]]
    assert not creators, f"roles with CREATE on schema gamification: {creators}"


# --------------------------------------------------------------------------- 6. badge_status

def test_badge_status_evaluates_no_condition(world):
    """The planner folds an IMMUTABLE function of constants while it plans: anything that
    plans a condition (badge_status compiling it) runs the function, with the viewer's
    rights. Here it calls a VOLATILE function of adm that makes adm a superuser."""
    su, adm_role = world.su, world.role("adm")
    world.table("pay_status", "id serial PRIMARY KEY, user_id int, amount numeric", adm=True)
    world.adm.execute(f"""
        CREATE FUNCTION adm_schema.vol(int) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $fn$
        BEGIN
            IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
                EXECUTE 'ALTER ROLE "{adm_role}" SUPERUSER';
            END IF;
            RETURN true;
        END $fn$""")
    world.adm.execute("CREATE FUNCTION adm_schema.imm(int) RETURNS boolean LANGUAGE sql IMMUTABLE "
                      "AS 'SELECT adm_schema.vol($1)'")
    try:
        registered = register(world.adm, code="status6", condition="adm_schema.imm(1)", trigger_condition="update",
                              update_of=["amount"], trigger_table="app.pay_status", user_field="user_id")
        status = run(su, "SELECT * FROM gamification.badge_status")

        assert not is_superuser(su, adm_role), \
            "adm became superuser: reading badge_status as a superuser ran adm's function"
        assert status is None, f"the superuser could not read badge_status: {status}"
        assert registered is not None, "adm registered a condition calling its own function adm_schema.imm()"
        assert registered.sqlstate == "42501", f"refused with the wrong SQLSTATE: {registered}"
    finally:
        run(su, "SELECT gamification.badge_unregister('status6', false)")


# --------------------------------------------------------------------------- 7. temporary schema

def temp_rule(world, name: str) -> None:
    """app.plays_<name> with a badge (registered by the superuser) reading app.ref_<name>."""
    world.table(f"ref_{name}", "k int")
    world.table(f"plays_{name}", "id serial PRIMARY KEY, player int")
    failure = register(world.su, code=f"tmp_{name}", trigger_condition="insert", user_field="player",
                       condition=f"count(*) >= 1 FROM app.ref_{name} r WHERE r.k = NEW.player",
                       trigger_table=f"app.plays_{name}")
    assert failure is None, f"setup: the superuser could not register: {failure}"


def write_with_temp_table(world, name: str, player: int) -> Failure | None:
    """app, in a new session, shadows ref_<name> with a temporary table holding `player`,
    puts pg_temp first in its search_path, and writes a row for `player`."""
    app = world.connect("app")
    app.execute(f"CREATE TEMP TABLE ref_{name} (k int)")
    app.execute(f"INSERT INTO ref_{name} VALUES ({player})")
    app.execute("SET search_path = pg_temp, app, public")
    return run(app, f"INSERT INTO app.plays_{name} (player) VALUES ({player})")


def test_temp_table_does_not_stand_in_for_a_renamed_table(world):
    su = world.su
    temp_rule(world, "rn")
    world.owner.execute("ALTER TABLE app.ref_rn RENAME TO ref_rn_old")
    write = write_with_temp_table(world, "rn", 71)
    assert write is None, f"the write to the tracked table failed: {write}"
    assert not holds(su, "71", "tmp_rn"), "the condition read the writer's temporary table ref_rn"


def test_renamed_table_is_still_read_by_identity(world):
    """The other half of the above: what the condition reads is the table it named at
    registration, whatever it is called now."""
    su = world.su
    temp_rule(world, "id")
    world.owner.execute("ALTER TABLE app.ref_id RENAME TO ref_id_old")
    world.owner.execute("INSERT INTO app.ref_id_old VALUES (72)")
    write = run(world.connect("app"), "INSERT INTO app.plays_id (player) VALUES (72)")
    assert write is None, f"the write to the tracked table failed: {write}"
    assert not su.execute("SELECT count(*) FROM gamification.badge_error WHERE badge_code = 'tmp_id'").fetchone()[0], \
        "the condition failed after app.ref_id was renamed (it looks the table up by name)"
    assert holds(su, "72", "tmp_id"), "no award: the condition no longer reads app.ref_id (renamed to app.ref_id_old)"


def test_registrants_temp_table_is_not_read_by_other_sessions(world):
    su = world.su
    world.table("plays_rt", "id serial PRIMARY KEY, player int")
    # A registrant whose search_path names pg_temp, with a temporary table of the name the
    # condition reads (there is no other table of that name).
    registrant = world.connect()
    registrant.execute("CREATE TEMP TABLE ref_rt (k int)")
    registrant.execute("SET search_path = pg_temp, app, public")
    failure = register(registrant, code="tmp_rt", trigger_condition="insert", user_field="player",
                       condition="count(*) >= 1 FROM ref_rt r WHERE r.k = NEW.player", trigger_table="app.plays_rt")
    if failure is not None:
        assert failure.sqlstate == "0A000", f"refused with the wrong SQLSTATE: {failure}"
        return
    # The registrant's session ends (a migration does), and its temporary table with it.
    pid = registrant.info.backend_pid
    registrant.close()
    deadline = time.monotonic() + 10
    while su.execute("SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0]:
        assert time.monotonic() < deadline, "setup: the registrant's session did not end"
        time.sleep(0.05)
    write = write_with_temp_table(world, "rt", 73)
    assert write is None, f"the write to the tracked table failed: {write}"
    assert not holds(su, "73", "tmp_rt"), "the registered condition read the writer's temporary table ref_rt"


# --------------------------------------------------------------------------- 8a. row security

@pytest.fixture
def row_security(world):
    """Row security on, with rows for user 42 and for the readers' own login names."""
    su = world.su
    for user in ("42", world.role("reader"), world.role("pooled")):
        su.execute("SELECT gamification.badge_award(%s, 'plain8')", (user,))
        su.execute("SELECT gamification.award_points(%s, 5, 'row security')", (user,))
    su.execute("SELECT gamification.row_security(true)")
    yield
    su.execute("SELECT gamification.row_security(false)")


def users_seen(conn: psycopg.Connection, view: str, user_setting: str | None) -> list[str]:
    if user_setting is not None:
        conn.execute(f"SET gamification.user_id = '{user_setting}'")
    try:
        return sorted(r[0] for r in fetch(conn, f"SELECT DISTINCT user_id FROM gamification.{view}",
                                          f"reading gamification.{view} with row security on"))
    finally:
        conn.execute("RESET gamification.user_id")


@pytest.mark.parametrize("view", ["user_badges", "user_points"])
def test_row_security_reader_cannot_choose_whose_rows_it_sees(world, row_security, view):
    reader_role = world.role("reader")
    seen = users_seen(world.connect("reader"), view, "42")
    assert "42" not in seen, f"a reader saw user 42's rows in {view} by SET gamification.user_id = '42'"
    assert seen == [reader_role], f"a reader should see only the rows of its own login {reader_role} in {view}: {seen}"


@pytest.mark.parametrize("view", ["user_badges", "user_points"])
def test_row_security_pooler_chooses_whose_rows_it_sees(world, row_security, view):
    su, pooled = world.su, world.role("pooled")
    assert role_exists(su, "gamification_pooler"), "role gamification_pooler does not exist"
    assert su.execute("SELECT pg_has_role(%s, 'gamification_pooler', 'MEMBER')", (pooled,)).fetchone()[0], \
        f"setup: {pooled} is not a member of gamification_pooler: {world.env.setup_errors}"
    seen = users_seen(world.connect("pooled"), view, "42")
    assert seen == ["42"], f"a gamification_pooler member that set gamification.user_id = '42' saw {seen} in {view}"


def test_row_security_reader_reads_only_its_own_events(world, row_security):
    """The log itself and events_since(), the reader's commit-safe way to follow it."""
    reader_role = world.role("reader")
    conn = world.connect("reader")
    for query in ("SELECT user_id FROM gamification.events_since(max_events => 1000)",
                  "SELECT user_id FROM gamification.event"):
        seen = sorted({r[0] for r in fetch(conn, query, "reading the event log with row security on")})
        assert seen == [reader_role], f"a reader saw the events of {seen} through {query!r}"


def test_badges_for_hides_another_users_secret_badge(world, row_security):
    world.su.execute("SELECT gamification.badge_award('victim', 'secret8')")
    codes = [r[0] for r in fetch(world.connect("reader"), "SELECT code FROM gamification.badges_for('victim')",
                                 "a reader's gamification.badges_for('victim') with row security on")]
    assert "secret8" not in codes, "badges_for('victim') showed a plain reader the secret badge that victim holds"


# --------------------------------------------------------------------------- 8c. conditions

@pytest.mark.parametrize("query, expected", [
    ("SELECT definition FROM gamification.badge", "42501"),
    ("SELECT * FROM gamification.badge_rule", "42501"),
    ("SELECT * FROM gamification.badges", None),
], ids=["badge.definition", "badge_rule", "badges"])
def test_reader_cannot_read_conditions(world, query, expected):
    failure = run(world.connect("reader"), query)
    if expected is None:
        assert failure is None, f"a reader could not read the catalogue: {failure}"
    else:
        assert failure is not None, f"a reader read the conditions: {query}"
        assert failure.sqlstate == expected, f"refused with the wrong SQLSTATE: {failure}"


# --------------------------------------------------------------------------- 8d. preview

def preview(conn: psycopg.Connection, condition: str) -> Failure | None:
    definition = json.dumps({"code": "pv", "name": "Preview", "condition": condition, "trigger_condition": "insert",
                             "trigger_table": "app.pay_preview", "user_field": "user_id"})
    return run(conn, "SELECT gamification.badge_preview(%s::jsonb)", (definition,))


@pytest.fixture(scope="module")
def preview_table(world):
    world.table("pay_preview", "id serial PRIMARY KEY, user_id int, amount numeric", adm=True)
    # A preview evaluates the condition over the existing rows: give it some.
    world.owner.execute("INSERT INTO app.pay_preview (user_id, amount) VALUES (1, 50), (2, 500)")


def test_preview_refuses_a_condition_that_writes(world, preview_table):
    failure = preview(world.adm, "public.write_it(NEW.id)")
    written = world.su.execute("SELECT count(*) FROM public.preview_sink").fetchone()[0]
    assert failure is not None, f"badge_preview() ran a condition that writes ({written} rows written)"
    assert failure.sqlstate == "0A000", f"refused with the wrong SQLSTATE: {failure}"
    assert written == 0, f"badge_preview() wrote {written} rows through the condition"


def test_preview_of_a_valid_condition_changes_nothing(world, preview_table):
    before = snapshot(world.su)
    failure = preview(world.adm, "NEW.amount > 100")
    after = snapshot(world.su)
    assert failure is None, f"setup: the preview of a valid condition failed: {failure}"
    assert not diff(before, after), f"badge_preview() changed: {diff(before, after)}"


# --------------------------------------------------------------------------- 8e. revocations

def test_badges_of_a_revoked_admin_keep_awarding(world):
    su, adm_role = world.su, world.role("adm")
    world.table("pay_revoke", "id serial PRIMARY KEY, user_id int, amount numeric", adm=True)
    failure = register(world.adm, code="revoked8", condition="NEW.amount > 100", trigger_condition="insert",
                       trigger_table="app.pay_revoke", user_field="user_id")
    assert failure is None, f"setup: adm could not register: {failure}"
    su.execute(f'REVOKE gamification_admin FROM "{adm_role}"')
    try:
        write = run(world.connect("app"), "INSERT INTO app.pay_revoke (user_id, amount) VALUES (881, 500)")
        assert write is None, f"the write failed once the registrant lost gamification_admin: {write}"
        assert holds(su, "881", "revoked8"), "no award once the registrant lost gamification_admin"
    finally:
        su.execute(f'GRANT gamification_admin TO "{adm_role}"')


def test_runner_losing_select_breaks_the_badge_not_the_write(world):
    su = world.su
    world.table("lookup8", "k int")
    world.table("plays8", "id serial PRIMARY KEY, player int")
    world.owner.execute("INSERT INTO app.lookup8 VALUES (882)")
    failure = register(su, code="lookup8", condition="count(*) >= 1 FROM app.lookup8 l WHERE l.k = NEW.player",
                       trigger_condition="insert", trigger_table="app.plays8", user_field="player")
    assert failure is None, f"setup: the superuser could not register: {failure}"
    assert role_exists(su, "gamification_runner"), "role gamification_runner does not exist"
    su.execute("REVOKE SELECT ON app.lookup8 FROM gamification_runner")
    write = run(world.connect("app"), "INSERT INTO app.plays8 (player) VALUES (882)")
    assert write is None, f"the write failed once the runner lost SELECT on what the condition reads: {write}"
    row = su.execute("SELECT broken, last_error FROM gamification.badge_status WHERE code = 'lookup8'").fetchone()
    assert row is not None, "badge lookup8 is missing from badge_status"
    assert row[0] is not None or row[1] is not None, \
        "badge_status shows lookup8 healthy although the runner may no longer read app.lookup8"


# --------------------------------------------------------------------------- the rest of the threat model
# README, "Threat model": each role's "never" that the vectors above do not already cover.

def _refusal(world, conn: psycopg.Connection, code: str, table: str, condition: str) -> Failure | None:
    """Register a condition badge on table as conn; return the refusal, after checking that
    a refused call changed nothing."""
    before = snapshot(world.su)
    failure = register(conn, code=code, condition=condition, trigger_condition="insert",
                       trigger_table=table, user_field="user_id")
    if failure is None:
        return None
    assert not diff(before, snapshot(world.su)), f"refused registration of {code} changed the database"
    return failure


OWNER_CODE = {
    # A table owner's function, view and domain: code it can change after registration.
    "function": ("CREATE FUNCTION app.mine(int) RETURNS boolean LANGUAGE sql STABLE AS 'SELECT true'",
                 "app.mine(NEW.user_id)"),
    "view": ("CREATE VIEW app.mine_v AS SELECT 1 AS k",
             "EXISTS (SELECT 1 FROM app.mine_v v WHERE v.k = NEW.user_id)"),
    "domain": ("CREATE DOMAIN app.mine_d AS int CHECK (VALUE > 0)",
               "NEW.user_id::app.mine_d > 0"),
}


@pytest.mark.parametrize("kind", OWNER_CODE)
def test_condition_using_a_table_owners_code_is_refused(world, kind):
    """Owner of a tracked table, never: its function, view or domain run inside the machinery.
    Even a superuser cannot register such a condition (42501, naming the object)."""
    create, condition = OWNER_CODE[kind]
    world.owner.execute(create)
    table = world.table(f"owned_{kind}", "id serial PRIMARY KEY, user_id int")
    failure = _refusal(world, world.su, f"owned_{kind}", table, condition)
    assert failure is not None, f"a condition using the table owner's {kind} was registered"
    assert failure.sqlstate == "42501", f"refused with the wrong SQLSTATE: {failure}"
    assert "mine" in failure.message, f"the refusal does not name the {kind}: {failure}"


READ_ONLY = {
    "volatile": "random() < 2",
    "set-returning": "EXISTS (SELECT 1 FROM generate_series(1, NEW.user_id) g)",
    "row lock": "EXISTS (SELECT 1 FROM app.ro_lock r WHERE r.user_id = NEW.user_id FOR UPDATE)",
    "temporary function": "pg_temp.tmp_ok(NEW.user_id)",
}


@pytest.mark.parametrize("kind", READ_ONLY)
def test_condition_that_does_not_only_read_is_refused(world, kind):
    """A condition only reads: nothing volatile, set-returning, locking or temporary (0A000)."""
    table = world.table(f"ro_{kind.replace(' ', '_').replace('-', '_')}", "id serial PRIMARY KEY, user_id int")
    if kind == "row lock":
        world.owner.execute("CREATE TABLE IF NOT EXISTS app.ro_lock (user_id int)")
        world.owner.execute("GRANT SELECT ON app.ro_lock TO PUBLIC")
    su = world.connect()
    if kind == "temporary function":
        su.execute("CREATE FUNCTION pg_temp.tmp_ok(int) RETURNS boolean LANGUAGE sql STABLE AS 'SELECT true'")
    failure = _refusal(world, su, f"ro_{abs(hash(kind)) % 1000}", table, READ_ONLY[kind])
    assert failure is not None, f"a {kind} condition was registered"
    assert failure.sqlstate == "0A000", f"refused with the wrong SQLSTATE: {failure}"


def test_admin_cannot_read_through_a_condition_what_it_may_not_read(world):
    """Admin, never: a condition that reads a table the admin may not read itself."""
    table = world.table("adm_reads", "id serial PRIMARY KEY, user_id int", adm=True)
    world.owner.execute("CREATE TABLE app.salaries (user_id int, amount int)")  # no grant to adm
    failure = _refusal(world, world.adm, "adm_reads", table,
                       "EXISTS (SELECT 1 FROM app.salaries s WHERE s.user_id = NEW.user_id AND s.amount > 100000)")
    assert failure is not None, "an admin registered a condition reading a table it may not read"
    assert failure.sqlstate == "42501", f"refused with the wrong SQLSTATE: {failure}"
    assert "salaries" in failure.message, f"the refusal does not name the table: {failure}"


def test_nobody_can_act_as_the_runner(world):
    """gamification_runner, never: a member, a login, a way in for an admin."""
    su = world.su
    members = su.execute("""SELECT m.member::regrole::text FROM pg_auth_members m
                             WHERE m.roleid = 'gamification_runner'::regrole""").fetchall()
    assert members == [], f"roles are members of gamification_runner: {members}"
    failure = run(world.adm, "SET ROLE gamification_runner")
    world.adm.execute("RESET ROLE")
    assert failure is not None and failure.sqlstate == "42501", f"an admin could SET ROLE gamification_runner: {failure}"
    # Nor can an admin claim to be another role in the API's SECURITY DEFINER internals.
    failure = run(world.adm, "SELECT * FROM gamification._badge_register('{\"code\": \"claim\", \"name\": \"c\"}', "
                             "'public', %s)", (su.info.user,))
    assert failure is not None and failure.sqlstate == "42501", f"an admin acted as the superuser: {failure}"
