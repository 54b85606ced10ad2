-- award_points(), the append-only event log and the total == sum(event points) invariant.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(24);

SELECT is(gamification.award_points('u1', 10, 'daily_login'), 10::bigint, 'award_points returns the new total');
SELECT is(gamification.award_points('u1', 5, 'comment'), 15::bigint, 'totals add up');
SELECT is(gamification.award_points('u1', -20, 'spam'), -5::bigint, 'a negative amount is a penalty; totals may go below 0');
SELECT is(gamification.award_points(7, 3, 'x'), 3::bigint, 'integer user');
SELECT is(gamification.award_points(7::bigint, 3, 'x'), 6::bigint, 'bigint user is the same user');
SELECT results_eq($$ SELECT amount, reason, badge FROM gamification.points_history WHERE user_id = 'u1' ORDER BY created_at, amount $$,
    $$ VALUES (-20::bigint, 'spam'::text, NULL::text), (5, 'comment', NULL), (10, 'daily_login', NULL) $$,
    'points_history shows every ledger row');

-- The writers keep the totals, in the statement that appends the event. A row appended
-- to the log by hand (only a superuser can) changes no total until totals_rebuild().
INSERT INTO gamification.event (user_id, kind, points, reason)
VALUES ('m1', 'points_changed', 1, 'bulk'), ('m2', 'points_changed', 2, 'bulk'), ('m1', 'points_changed', 3, 'bulk');
SELECT is_empty($$ SELECT 1 FROM gamification.user_points WHERE user_id IN ('m1', 'm2') $$,
    'rows appended to the log by hand change no total');
SELECT is(gamification.totals_rebuild(), 2::bigint, 'totals_rebuild() repairs the two totals');
SELECT results_eq($$ SELECT user_id, points FROM gamification.user_points WHERE user_id IN ('m1', 'm2') ORDER BY user_id $$,
    $$ VALUES ('m1'::text, 4::bigint), ('m2', 2) $$, 'to the sum of their events');
SELECT is((SELECT count(*) FROM gamification.points_total t
            WHERE t.points <> (SELECT sum(e.points) FROM gamification.event e WHERE e.user_id = t.user_id)),
    0::bigint, 'total == sum(event points) for every user');
SELECT results_eq($$ SELECT kind, subject, points, reason FROM gamification.event WHERE user_id = 'u1' ORDER BY id $$,
    $$ VALUES ('points_changed'::text, NULL::text, 10::bigint, 'daily_login'::text), ('points_changed', NULL, 5, 'comment'),
              ('points_changed', NULL, -20, 'spam') $$,
    'each call is one points_changed event, in order');

-- Append-only, also through the views of 0.1.0's two logs.
SELECT throws_ok($$ UPDATE gamification.event SET points = 100 $$, '55000',
    'gamification.event is append-only: UPDATE is not allowed', 'UPDATE refused');
SELECT throws_ok($$ DELETE FROM gamification.event $$, '55000',
    'gamification.event is append-only: DELETE is not allowed', 'DELETE refused');
SELECT throws_ok($$ TRUNCATE gamification.event $$, '55000',
    'gamification.event is append-only: TRUNCATE is not allowed', 'TRUNCATE refused');
SELECT throws_ok($$ DELETE FROM gamification.award_history $$, '55000',
    'gamification.event is append-only: DELETE is not allowed', 'the award_history view writes nothing either');

SELECT throws_ok($$ SELECT gamification.award_points('u1', 0, 'nothing') $$, '22023',
    'gamification.award_points(): amount must not be 0', 'amount 0');
SELECT throws_ok($$ SELECT gamification.award_points('u1', NULL, 'nothing') $$, '22004',
    'gamification.award_points(): amount must not be null', 'null amount');
SELECT throws_ok($$ SELECT gamification.award_points('u1', 5, NULL) $$, '22004',
    'gamification.award_points(): reason must not be null', 'null reason');
SELECT throws_ok($$ SELECT gamification.award_points(NULL, 5, 'x') $$, '22004',
    'gamification.award_points(): user_id must not be null', 'null user');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = 'u1'), -5::bigint, 'failed calls changed nothing');

-- The names that follow the <object>_<verb> rule: points_award is award_points, user_reset is reset.
SELECT is(gamification.points_award('u1', 15, 'renamed'), 10::bigint, 'points_award appends to the ledger like award_points');
SELECT is(gamification.points_award(4242, 3, 'typed key'), 3::bigint, 'points_award takes any key type');
SELECT lives_ok($$ SELECT gamification.user_reset('u1') $$, 'user_reset resets like reset');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = 'u1'), 0::bigint, 'to zero');

SELECT * FROM finish();
ROLLBACK;
