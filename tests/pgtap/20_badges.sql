-- badge_register(): keys, defaults, update in place, next chains, validation and errors.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(34);

SELECT results_eq($$ SELECT * FROM gamification.badge_register('[
        {"code": "bronze", "name": "Bronze", "points": 10, "category": "medals", "next": "silver", "target": 5},
        {"code": "silver", "name": "Silver", "points": 20, "category": "medals", "target": 10, "description": "Ten"},
        {"code": "hidden", "name": "Hidden", "secret": true}
    ]') $$,
    $$ VALUES ('bronze'::text), ('silver'), ('hidden') $$, 'badge_register returns the codes, next may come later in the array');
SELECT results_eq($$ SELECT code, name, description, points, category, target, secret, next FROM gamification.badges ORDER BY code $$,
    $$ VALUES ('bronze'::text, 'Bronze'::text, NULL::text, 10::bigint, 'medals'::text, 5::bigint, false, 'silver'::text),
              ('hidden', 'Hidden', NULL, 0, NULL, NULL, true, NULL),
              ('silver', 'Silver', 'Ten', 20, 'medals', 10, false, NULL) $$,
    'the catalogue holds the definitions, with defaults');
SELECT is((SELECT name FROM gamification.category WHERE code = 'medals'), 'medals', 'an unknown category is created with name = code');
SELECT is((SELECT definition FROM gamification.badge WHERE code = 'hidden'),
    '{"code": "hidden", "name": "Hidden", "secret": true}'::jsonb, 'definition keeps the object as registered');
SELECT results_eq($$ SELECT * FROM gamification.badge_register('{"code": "first_post", "name": "First post"}') $$,
    $$ VALUES ('first_post'::text) $$, 'one object is accepted');

-- Update in place; past ledger rows are not rewritten.
SELECT gamification.badge_award(1, 'bronze');
SELECT gamification.badge_register('{"code": "bronze", "name": "Bronze medal", "points": 15, "next": "silver", "target": 5}');
SELECT row_eq($$ SELECT name, points, category FROM gamification.badge WHERE code = 'bronze' $$,
    ROW('Bronze medal'::text, 15::bigint, NULL::text), 'registering an existing code updates it in place; omitted keys go back to defaults');
SELECT is((SELECT count(*) FROM gamification.badge), 4::bigint, 'no duplicate badge rows');
SELECT is((SELECT array_agg(amount) FROM gamification.points_ledger WHERE user_id = '1'), ARRAY[10::bigint], 'past ledger rows are not rewritten');
SELECT is((SELECT count(*) FROM gamification.award WHERE badge_code = 'bronze'), 1::bigint, 'the award stays');

-- A chain to an already registered badge, and a badge registered before its next in a later call.
SELECT lives_ok($$ SELECT gamification.badge_register('{"code": "gold", "name": "Gold", "next": "bronze"}') $$, 'next may name an existing badge');

-- Validation errors: nothing is written.
CREATE TEMP TABLE before_badges AS SELECT * FROM gamification.badge;
SELECT throws_ok($$ SELECT gamification.badge_register(NULL) $$, '22004',
    'gamification.badge_register(): definitions must not be null', 'null definitions');
SELECT throws_ok($$ SELECT gamification.badge_register('42') $$, '22023',
    'gamification.badge_register(): definitions must be a JSON object or an array of objects, got 42', 'not an object');
SELECT throws_ok($$ SELECT gamification.badge_register('[{"code": "ok1", "name": "Ok"}, "x"]') $$, '22023',
    'badge #2: must be a JSON object, got "x"', 'array element not an object');
SELECT throws_ok($$ SELECT gamification.badge_register('[{"code": "ok1", "name": "Ok"}, {"name": "No code"}]') $$, '22023',
    'badge #2: field "code" is required', 'missing code names the index');
SELECT throws_ok($$ SELECT gamification.badge_register('{"code": "", "name": "Empty"}') $$, '22023',
    'badge #1: field "code" must be a code of 1 to 63 letters, digits, "_", ".", ":" or "-", got ""', 'empty code');
SELECT throws_ok($$ SELECT gamification.badge_register(jsonb_build_object('code', repeat('x', 64), 'name', 'Long')) $$, '22023',
    'badge "' || repeat('x', 64) || '": field "code" must be a code of 1 to 63 letters, digits, "_", ".", ":" or "-", got "' || repeat('x', 64) || '"',
    'code longer than 63 characters');
SELECT throws_ok($$ SELECT gamification.badge_register('{"code": "nameless"}') $$, '22023',
    'badge "nameless": field "name" is required', 'missing name');
SELECT throws_ok($$ SELECT gamification.badge_register('{"code": "first_post", "name": "First", "target": -3}') $$, '22023',
    'badge "first_post": field "target" must be a positive integer, got -3', 'negative target');
SELECT throws_ok($$ SELECT gamification.badge_register('{"code": "first_post", "name": "First", "target": 1.5}') $$, '22023',
    'badge "first_post": field "target" must be a positive integer, got 1.5', 'fractional target');
SELECT throws_ok($$ SELECT gamification.badge_register('{"code": "p", "name": "P", "points": "5"}') $$, '22023',
    'badge "p": field "points" must be an integer >= 0, got "5"', 'points as a string');
SELECT throws_ok($$ SELECT gamification.badge_register('{"code": "p", "name": "P", "points": -1}') $$, '22023',
    'badge "p": field "points" must be an integer >= 0, got -1', 'negative points');
SELECT throws_ok($$ SELECT gamification.badge_register('{"code": "p", "name": "P", "secret": "yes"}') $$, '22023',
    'badge "p": field "secret" must be true or false, got "yes"', 'secret not a boolean');
SELECT throws_ok($$ SELECT gamification.badge_register('{"code": "p", "name": 7}') $$, '22023',
    'badge "p": field "name" must be a non-empty string, got 7', 'name not a string');
SELECT throws_ok($$ SELECT gamification.badge_register('{"code": "p", "nmae": "P"}') $$, '22023',
    'badge "p": unknown field "nmae"', 'unknown field');
SELECT throws_ok($$ SELECT gamification.badge_register('[{"code": "p", "name": "P"}, {"code": "p", "name": "Q"}]') $$, '42710',
    'badge "p": code appears more than once in this call (item #2)', 'same code twice in one array');
SELECT throws_ok($$ SELECT gamification.badge_register('{"code": "p", "name": "P", "next": "nope"}') $$, '42704',
    'badge "p": field "next" refers to unknown badge "nope"', 'next must exist by the end of the call');
SELECT throws_ok($$ SELECT gamification.badge_register('{"code": "p", "name": "P", "next": "p"}') $$, '22023',
    'badge "p": field "next" must not be the badge itself', 'next to itself');
SELECT throws_ok($$ SELECT gamification.badge_register('[{"code": "p", "name": "P", "next": "q"}, {"code": "q", "name": "Q", "next": "p"}]') $$, '22023',
    'badge "p": field "next" makes a cycle: p -> q -> p', 'a cycle in one call');
SELECT throws_ok($$ SELECT gamification.badge_register('{"code": "silver", "name": "Silver", "next": "gold"}') $$, '22023',
    'badge "silver": field "next" makes a cycle: silver -> gold -> bronze -> silver', 'a cycle through registered badges');
SELECT throws_ok($$ SELECT gamification.badge_register('[{"code": "ok1", "name": "Ok"}, {"code": "t", "name": "T", "condition": "x"}]') $$, '22023',
    'badge "t": field "trigger_condition" is required for a trigger badge', 'an incomplete trigger badge is refused');
SELECT throws_ok($$ SELECT gamification.badge_register('{"code": "t", "name": "T", "trigger_table": "posts"}') $$, '22023',
    'badge "t": field "condition" is required for a trigger badge', 'a trigger badge needs its condition');
SELECT is((SELECT count(*) FROM (SELECT * FROM gamification.badge EXCEPT SELECT * FROM before_badges
                                 UNION ALL SELECT * FROM before_badges EXCEPT SELECT * FROM gamification.badge) d),
    0::bigint, 'failed registrations changed nothing (the first valid item of a failing array was not written)');

-- The hint of an unknown field suggests a close match.
CREATE FUNCTION pg_temp.hint_of(q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE h text;
BEGIN
    EXECUTE q;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN h;
END $f$;
SELECT is(pg_temp.hint_of($$ SELECT gamification.badge_register('{"code": "p", "nmae": "P"}') $$),
    'Did you mean "name"? Allowed fields: code, name, description, points, category, target, secret, next, point_type, condition, trigger_condition, trigger_table, user_field, update_of, counter, backfill, fire_on_replica.',
    'the hint of an unknown field names a close match and the allowed fields');
SELECT is(pg_temp.hint_of($$ SELECT gamification.badge_register('{"code": "first_post", "name": "First", "target": -3}') $$),
    'Omit "target" for a badge without progression.', 'errors carry a hint');

SELECT * FROM finish();
ROLLBACK;
