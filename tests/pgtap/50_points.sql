-- award_points(), the append-only ledger and the total == sum(ledger) invariant.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(21);

SELECT is(gamification.award_points('u1', 10, 'daily_login'), 10::bigint, 'award_points returns the new total');
SELECT is(gamification.award_points('u1', 5, 'comment'), 15::bigint, 'totals add up');
SELECT is(gamification.award_points('u1', -20, 'spam'), -5::bigint, 'a negative amount is a penalty; totals may go below 0');
SELECT is(gamification.award_points(7, 3, 'x'), 3::bigint, 'integer user');
SELECT is(gamification.award_points(7::bigint, 3, 'x'), 6::bigint, 'bigint user is the same user');
SELECT results_eq($$ SELECT amount, reason, badge FROM gamification.points_history WHERE user_id = 'u1' ORDER BY created_at, amount $$,
    $$ VALUES (-20::bigint, 'spam'::text, NULL::text), (5, 'comment', NULL), (10, 'daily_login', NULL) $$,
    'points_history shows every ledger row');

-- Any path into the ledger keeps the total, even a multi-user INSERT.
INSERT INTO gamification.points_ledger (user_id, amount, reason)
VALUES ('m1', 1, 'bulk'), ('m2', 2, 'bulk'), ('m1', 3, 'bulk');
SELECT results_eq($$ SELECT user_id, points FROM gamification.user_points WHERE user_id IN ('m1', 'm2') ORDER BY user_id $$,
    $$ VALUES ('m1'::text, 4::bigint), ('m2', 2) $$, 'a direct multi-row INSERT into the ledger updates totals');
SELECT is((SELECT count(*) FROM gamification.points_total t
            WHERE t.points <> (SELECT sum(l.amount) FROM gamification.points_ledger l WHERE l.user_id = t.user_id)),
    0::bigint, 'total == sum(ledger) for every user');

-- Append-only.
SELECT throws_ok($$ UPDATE gamification.points_ledger SET amount = 100 $$, '55000',
    'gamification.points_ledger is append-only: UPDATE is not allowed', 'UPDATE refused');
SELECT throws_ok($$ DELETE FROM gamification.points_ledger $$, '55000',
    'gamification.points_ledger is append-only: DELETE is not allowed', 'DELETE refused');
SELECT throws_ok($$ TRUNCATE gamification.points_ledger $$, '55000',
    'gamification.points_ledger is append-only: TRUNCATE is not allowed', 'TRUNCATE refused');
SELECT throws_ok($$ DELETE FROM gamification.award_history $$, '55000',
    'gamification.award_history is append-only: DELETE is not allowed', 'award_history is append-only too');

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
