-- Errors of badge_register() with trigger keys: each has its SQLSTATE, a message
-- naming the badge and the field, a HINT, and changes nothing. An invalid last
-- item of an array leaves nothing behind.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(41);

CREATE TABLE public.sketch (id serial PRIMARY KEY, user_id int, hit_views int NOT NULL DEFAULT 0, title text);

-- Runs sql and returns 'ok' if it raised p_state with a message naming badge "p_code"
-- and p_field (a regular expression) and a non-empty hint; otherwise says what happened.
-- Whatever happens, the statement's effects are rolled back.
CREATE FUNCTION pg_temp.check_error(p_sql text, p_state text, p_code text, p_field text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_state text; v_msg text; v_hint text;
BEGIN
    BEGIN
        EXECUTE p_sql;
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'check_error: no error';  -- undo a success too
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT, v_hint = PG_EXCEPTION_HINT;
        IF v_msg = 'check_error: no error' THEN
            RETURN 'no error';
        END IF;
        IF v_state = p_state AND strpos(v_msg, format('badge "%s"', p_code)) > 0 AND v_msg ~ p_field
           AND coalesce(v_hint, '') <> '' THEN
            RETURN 'ok';
        END IF;
        RETURN format('%s: %s (hint: %s)', v_state, v_msg, coalesce(v_hint, '<none>'));
    END;
    RETURN NULL;
END $$;

-- Registers one definition built from the sketch-table condition badge with the given changes.
CREATE FUNCTION pg_temp.reg(p_changes jsonb, p_remove text[] DEFAULT '{}') RETURNS text LANGUAGE sql AS $$
    SELECT format('SELECT gamification.badge_register(%L::jsonb)',
        (('{"code": "b", "name": "B", "condition": "NEW.hit_views > 1", "trigger_condition": "update",
            "trigger_table": "sketch", "user_field": "user_id"}'::jsonb - p_remove) || p_changes)::text)
$$;
CREATE FUNCTION pg_temp.reg_counter(p_changes jsonb, p_counter jsonb DEFAULT '{}', p_remove text[] DEFAULT '{}') RETURNS text LANGUAGE sql AS $$
    SELECT format('SELECT gamification.badge_register(%L::jsonb)',
        ((jsonb_build_object('code', 'c', 'name', 'C', 'target', 3,
            'counter', '{"table": "sketch", "user_field": "user_id"}'::jsonb || p_counter) - p_remove) || p_changes)::text)
$$;

SELECT gamification.badge_register('{"code": "existing", "name": "Existing", "condition": "true",
    "trigger_condition": "insert", "trigger_table": "sketch", "user_field": "user_id"}');
CREATE TEMP TABLE baseline AS
SELECT (SELECT count(*) FROM gamification.badge) AS badges,
       (SELECT count(*) FROM gamification.badge_status) AS statuses,
       (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal) AS triggers,
       (SELECT count(*) FROM pg_proc WHERE pronamespace = 'gamification'::regnamespace) AS funcs;
CREATE TEMP VIEW unchanged AS
SELECT (SELECT count(*) FROM gamification.badge) = b.badges
   AND (SELECT count(*) FROM gamification.badge_status) = b.statuses
   AND (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal) = b.triggers
   AND (SELECT count(*) FROM pg_proc WHERE pronamespace = 'gamification'::regnamespace) = b.funcs AS ok
  FROM baseline b;

-- The helper itself: a valid definition registers.
SELECT is(pg_temp.check_error(pg_temp.reg('{"code": "fine"}'), '00000', 'fine', ''), 'no error', 'the base definition is valid');

-- Names that do not resolve.
SELECT is(pg_temp.check_error(pg_temp.reg('{"trigger_table": "no_such_table"}'), '42P01', 'b', 'trigger_table'), 'ok', 'unknown table: 42P01');
SELECT is(pg_temp.check_error(pg_temp.reg('{"trigger_table": "nowhere.sketch"}'), '42P01', 'b', 'trigger_table'), 'ok', 'unknown schema: 42P01');
SELECT is(pg_temp.check_error(pg_temp.reg('{"user_field": "author"}'), '42703', 'b', 'user_field'), 'ok', 'unknown user_field: 42703');
SELECT is(pg_temp.check_error(pg_temp.reg('{"update_of": ["title", "nope"]}'), '42703', 'b', 'update_of'), 'ok', 'unknown update_of column: 42703');
SELECT is(pg_temp.check_error(pg_temp.reg_counter('{}', '{"table": "no_such_table"}'), '42P01', 'c', 'table'), 'ok', 'counter: unknown table: 42P01');
SELECT is(pg_temp.check_error(pg_temp.reg_counter('{}', '{"user_field": "author"}'), '42703', 'c', 'user_field'), 'ok', 'counter: unknown user_field: 42703');

-- Conditions and wheres that do not compile.
SELECT is(pg_temp.check_error(pg_temp.reg('{"condition": "NEW.nope > 1"}'), '42703', 'b', 'condition'), 'ok', 'condition with an unknown column: 42703');
SELECT is(pg_temp.check_error(pg_temp.reg('{"condition": "count(*) >= 5 FROM sketch WHERE author = NEW.user_id"}'), '42703', 'b', 'condition'), 'ok',
    'condition with an unknown column in its FROM part: 42703');
SELECT is(pg_temp.check_error(pg_temp.reg('{"condition": "NEW.hit_views >>> = 1"}'), '42601', 'b', 'condition'), 'ok', 'condition with a syntax error: 42601');
SELECT is(pg_temp.check_error(pg_temp.reg('{"condition": "count(*) >= 5 FROM no_such_table"}'), '42P01', 'b', 'condition'), 'ok',
    'condition reading an unknown table: its SQLSTATE (42P01)');
SELECT is(pg_temp.check_error(pg_temp.reg('{"condition": "NEW.title"}'), '42804', 'b', 'condition'), 'ok',
    'condition that is not boolean: 42804');
SELECT is(pg_temp.check_error(pg_temp.reg_counter('{}', '{"where": "nope = 1"}'), '42703', 'c', 'where'), 'ok', 'where with an unknown column: 42703');
SELECT is(pg_temp.check_error(pg_temp.reg_counter('{}', '{"where": "hit_views >"}'), '42601', 'c', 'where'), 'ok', 'where with a syntax error: 42601');

-- Fragments that try to end the statement or hide the rest of it.
SELECT is(pg_temp.check_error(pg_temp.reg('{"condition": "true; DROP TABLE public.sketch"}'), '42601', 'b', 'condition'), 'ok', 'condition with ";": 42601');
SELECT is(pg_temp.check_error(pg_temp.reg('{"condition": "true -- and the rest"}'), '42601', 'b', 'condition'), 'ok', 'condition with "--": 42601');
SELECT is(pg_temp.check_error(pg_temp.reg('{"condition": "true /* and */"}'), '42601', 'b', 'condition'), 'ok', 'condition with "/*": 42601');
SELECT is(pg_temp.check_error(pg_temp.reg('{"condition": "NEW.hit_views > 1 THEN 1 END); DROP TABLE public.sketch; SELECT (CASE WHEN true"}'),
    '42601', 'b', 'condition'), 'ok', 'condition trying to break out of the generated statement: 42601');
SELECT is(pg_temp.check_error(pg_temp.reg_counter('{}', '{"where": "true; DELETE FROM public.sketch"}'), '42601', 'c', 'where'), 'ok', 'where with ";": 42601');
SELECT is(pg_temp.check_error(pg_temp.reg_counter('{}', '{"where": "true --"}'), '42601', 'c', 'where'), 'ok', 'where with "--": 42601');
SELECT has_table('public', 'sketch', 'the table is still there');

-- Bad values and types.
SELECT is(pg_temp.check_error(pg_temp.reg('{"trigger_condition": "upsert"}'), '22023', 'b', 'trigger_condition'), 'ok', 'bad trigger_condition: 22023');
SELECT is(pg_temp.check_error(pg_temp.reg('{"trigger_condition": 1}'), '22023', 'b', 'trigger_condition'), 'ok', 'trigger_condition not a string: 22023');
SELECT is(pg_temp.check_error(pg_temp.reg('{"condition": true}'), '22023', 'b', 'condition'), 'ok', 'condition not a string: 22023');
SELECT is(pg_temp.check_error(pg_temp.reg('{"trigger_table": ["sketch"]}'), '22023', 'b', 'trigger_table'), 'ok', 'trigger_table not a string: 22023');
SELECT is(pg_temp.check_error(pg_temp.reg('{"update_of": "title"}'), '22023', 'b', 'update_of'), 'ok', 'update_of not an array: 22023');
SELECT is(pg_temp.check_error(pg_temp.reg('{"update_of": [1]}'), '22023', 'b', 'update_of'), 'ok', 'update_of with a non-string: 22023');
SELECT is(pg_temp.check_error(pg_temp.reg('{"backfill": "yes"}'), '22023', 'b', 'backfill'), 'ok', 'backfill not a boolean: 22023');
SELECT is(pg_temp.check_error(pg_temp.reg('{"fire_on_replica": 1}'), '22023', 'b', 'fire_on_replica'), 'ok', 'fire_on_replica not a boolean: 22023');
SELECT is(pg_temp.check_error(pg_temp.reg('{"update_of": ["title"], "trigger_condition": "insert"}'), '22023', 'b', 'update_of'), 'ok',
    'update_of without update: 22023');
SELECT is(pg_temp.check_error(pg_temp.reg('{}', ARRAY['trigger_table']), '22023', 'b', 'trigger_table'), 'ok', 'a condition without trigger_table: 22023');
SELECT is(pg_temp.check_error(pg_temp.reg_counter('{"condition": "true"}'), '22023', 'c', '(condition|counter)'), 'ok',
    'condition together with counter: 22023');
SELECT is(pg_temp.check_error(pg_temp.reg_counter('{}', '{}', ARRAY['target']), '22023', 'c', 'target'), 'ok', 'counter without target: 22023');
SELECT is(pg_temp.check_error(pg_temp.reg_counter('{}', '{"on": "update"}'), '22023', 'c', '\mon\M'), 'ok', 'counter with a bad "on": 22023');
SELECT is(pg_temp.check_error(pg_temp.reg_counter('{"counter": "sketch"}'), '22023', 'c', 'counter'), 'ok', 'counter not an object: 22023');
SELECT is(pg_temp.check_error(pg_temp.reg_counter('{}', '{"wher": "true"}'), '22023', 'c', 'wher'), 'ok', 'unknown key inside counter: 22023');

-- Backfill of a delete badge.
SELECT is(pg_temp.check_error(pg_temp.reg('{"trigger_condition": "delete", "condition": "true", "backfill": true}'), '0A000', 'b', 'backfill'), 'ok',
    'backfill on a delete condition badge: 0A000');
SELECT is(pg_temp.check_error(pg_temp.reg_counter('{"backfill": true}', '{"on": "delete"}'), '0A000', 'c', 'backfill'), 'ok',
    'backfill on a delete counter: 0A000');

SELECT ok((SELECT ok FROM unchanged), 'failed registrations changed nothing (badges, status, triggers, functions)');

-- An array whose last item is invalid leaves nothing behind.
CREATE TABLE public.fresh (id serial PRIMARY KEY, user_id int);
SELECT throws_ok($$ SELECT gamification.badge_register('[
    {"code": "ok1", "name": "OK 1", "condition": "true", "trigger_condition": "insert", "trigger_table": "fresh", "user_field": "user_id"},
    {"code": "ok2", "name": "OK 2", "target": 2, "counter": {"table": "fresh", "user_field": "user_id", "on": "delete"}},
    {"code": "ok3", "name": "OK 3"},
    {"code": "bad", "name": "Bad", "condition": "NEW.nope", "trigger_condition": "update", "trigger_table": "fresh", "user_field": "user_id"}]') $$,
    '42703', NULL, 'an array whose last item is invalid fails');
SELECT ok((SELECT ok FROM unchanged) AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'public.fresh'::regclass),
    'and leaves no badge row, no rule, no trigger, no function behind');

SELECT * FROM finish();
ROLLBACK;
