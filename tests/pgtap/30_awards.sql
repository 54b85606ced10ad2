-- badge_award / badge_revoke and the set-based _grant / _revoke: idempotency,
-- points paid once, revoke subtracts what was paid, user key types, errors.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(32);

SELECT gamification.badge_register('[{"code": "welcome", "name": "Welcome", "points": 10},
                                     {"code": "free", "name": "Free"}]');

SELECT ok(gamification.badge_award('alice', 'welcome'), 'badge_award returns true when newly awarded');
SELECT ok(NOT gamification.badge_award('alice', 'welcome'), 'badge_award returns false when already held');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = 'alice'), 10::bigint, 'points paid once');
SELECT is((SELECT count(*) FROM gamification.award_history WHERE user_id = 'alice'), 1::bigint, 'one history row');
SELECT row_eq($$ SELECT amount, reason, badge_code FROM gamification.points_ledger WHERE user_id = 'alice' $$,
    ROW(10::bigint, 'badge:welcome'::text, 'welcome'::text), 'the ledger row names the badge');

SELECT ok(gamification.badge_award('alice', 'free'), 'a badge without points is awarded');
SELECT is((SELECT count(*) FROM gamification.points_ledger WHERE user_id = 'alice'), 1::bigint, 'a badge without points writes no ledger row');

-- Revoke subtracts the points paid at award time, even if the badge's points changed since.
SELECT gamification.badge_register('{"code": "welcome", "name": "Welcome", "points": 50}');
SELECT ok(gamification.badge_revoke('alice', 'welcome'), 'badge_revoke returns true when held');
SELECT ok(NOT gamification.badge_revoke('alice', 'welcome'), 'badge_revoke returns false when not held');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = 'alice'), 0::bigint, 'revoke subtracts the 10 paid, not the current 50, and only once');
SELECT results_eq($$ SELECT action, points FROM gamification.award_history WHERE user_id = 'alice' AND badge_code = 'welcome' ORDER BY id $$,
    $$ VALUES ('award'::text, 10::bigint), ('revoke', -10) $$, 'history: award then revoke');
SELECT ok(gamification.badge_award('alice', 'welcome'), 're-award after revoke');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = 'alice'), 50::bigint, 're-award after revoke pays again, at the current points');

-- User key types without casts.
SELECT ok(gamification.badge_award(42, 'welcome'), 'integer user key');
SELECT ok(NOT gamification.badge_award(42::bigint, 'welcome'), 'bigint 42 is the same user as integer 42');
SELECT ok(NOT gamification.badge_award('42', 'welcome'), 'unknown literal ''42'' is the same user too');
SELECT ok(gamification.badge_award('6f1c0a52-1d0e-4a43-9c5a-4a7b1f0d2e11'::uuid, 'welcome'), 'uuid user key');
SELECT ok(gamification.badge_award('bob'::text, 'welcome'), 'text user key');
SELECT ok(gamification.badge_award('carol'::varchar, 'welcome'), 'varchar user key');
SELECT is((SELECT array_agg(user_id ORDER BY user_id) FROM gamification.award WHERE badge_code = 'welcome'),
    ARRAY['42', '6f1c0a52-1d0e-4a43-9c5a-4a7b1f0d2e11', 'alice', 'bob', 'carol'], 'user keys are stored as text');

-- Set-based internals.
SELECT is(gamification._grant('free', ARRAY['u1', 'u2', 'u2', NULL, 'alice']), 2, '_grant counts only new awards, skipping duplicates and NULLs');
SELECT is(gamification._revoke('free', ARRAY['u1', 'u2', 'nobody']), 2, '_revoke counts only held awards');
SELECT is((SELECT source FROM gamification.award_history WHERE user_id = 'u1' ORDER BY id LIMIT 1), 'manual', '_grant records its source');

-- Errors change nothing.
CREATE TEMP TABLE before_ledger AS SELECT count(*) AS n FROM gamification.points_ledger;
SELECT throws_ok($$ SELECT gamification.badge_award(NULL, 'welcome') $$, '22004',
    'gamification.badge_award(): user_id must not be null', 'null user');
SELECT throws_ok($$ SELECT gamification.badge_award(NULL::integer, 'welcome') $$, '22004',
    'gamification.badge_award(): user_id must not be null', 'typed null user');
SELECT throws_ok($$ SELECT gamification.badge_award('dave', NULL) $$, '22004',
    'gamification.badge_award(): badge code must not be null', 'null code');
SELECT throws_ok($$ SELECT gamification.badge_award('dave', 'nope') $$, '42704',
    'badge "nope" does not exist', 'unknown badge');
SELECT throws_ok($$ SELECT gamification.badge_revoke('dave', 'nope') $$, '42704',
    'badge "nope" does not exist', 'revoke of an unknown badge');
SELECT throws_ok($$ SELECT gamification.badge_revoke(NULL, 'welcome') $$, '22004',
    'gamification.badge_revoke(): user_id must not be null', 'revoke with null user');
SELECT is((SELECT count(*) FROM gamification.points_ledger), (SELECT n FROM before_ledger), 'failed calls wrote nothing');

-- An unknown code that looks like a registered one gets a did-you-mean in its hint.
CREATE FUNCTION pg_temp.hint_of(p_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE v_hint text;
BEGIN
    EXECUTE p_sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_hint = PG_EXCEPTION_HINT;
    RETURN v_hint;
END $$;
SELECT matches(pg_temp.hint_of($$ SELECT gamification.badge_award('dave', 'welcom') $$), '^Did you mean "welcome"\?',
    'an unknown code close to a registered one: did you mean');
SELECT doesnt_match(pg_temp.hint_of($$ SELECT gamification.badge_award('dave', 'zzzzzzzz') $$), 'Did you mean',
    'an unknown code close to none: no guess');

SELECT * FROM finish();
ROLLBACK;
