-- reset(): one user back to zero, history kept, ledger append-only, others untouched.
BEGIN;
-- Awards found inside writes are applied at commit; these tests read them in the same
-- transaction, so apply them at the end of each statement instead.
SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE;
SELECT plan(13);

SELECT gamification.badge_register('[{"code": "a", "name": "A", "points": 10},
                                     {"code": "b", "name": "B", "points": 5, "target": 2}]');
SELECT gamification.unlockable_register('[{"code": "u", "name": "U", "points_required": 10},
                                          {"code": "free", "name": "Free", "points_required": 0}]');
SELECT gamification.badge_award(1, 'a');
SELECT gamification.badge_progress(1, 'b', 3);
SELECT gamification.award_points(1, 7, 'bonus');
SELECT gamification.badge_award(2, 'a');

SELECT lives_ok($$ SELECT gamification.reset(1) $$, 'reset runs');
SELECT is((SELECT count(*) FROM gamification.user_badges WHERE user_id = '1'), 0::bigint, 'no badge held');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = '1'), 0::bigint, 'total is 0');
SELECT is((SELECT sum(amount) FROM gamification.points_ledger WHERE user_id = '1'), 0::numeric, 'sum(ledger) is 0');
SELECT row_eq($$ SELECT amount, reason FROM gamification.points_ledger WHERE user_id = '1' ORDER BY id DESC LIMIT 1 $$,
    ROW(-22::bigint, 'reset'::text), 'one ledger row of minus the total, reason reset');
SELECT is((SELECT count(*) FROM gamification.points_ledger WHERE user_id = '1'), 4::bigint, 'the earlier ledger rows are kept');
SELECT results_eq($$ SELECT badge_code, action, points FROM gamification.award_history WHERE user_id = '1' AND action = 'reset' ORDER BY badge_code $$,
    $$ VALUES ('a'::text, 'reset'::text, -10::bigint), ('b', 'reset', -5) $$, 'history records each badge reset');
SELECT is((SELECT count(*) FROM gamification.progress WHERE user_id = '1'), 0::bigint, 'progress deleted');
SELECT is((SELECT array_agg(code) FROM gamification.user_unlockables WHERE user_id = '1'), ARRAY['free'], 'only what needs no points stays unlocked');
SELECT is((SELECT count(*) FROM gamification.unlock WHERE user_id = '1' AND unlockable_code = 'u'), 0::bigint, 'unlock rows deleted');
SELECT is((SELECT points FROM gamification.user_points WHERE user_id = '2'), 10::bigint, 'other users untouched');
SELECT lives_ok($$ SELECT gamification.reset('never_seen') $$, 'reset of an unknown user is a no-op');
SELECT throws_ok($$ SELECT gamification.reset(NULL) $$, '22004', 'gamification.reset(): user_id must not be null', 'null user');

SELECT * FROM finish();
ROLLBACK;
